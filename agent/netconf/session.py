"""NETCONF sessions: per-session state, RFC 6022 counters, and the session table."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from agent.netconf.framing import Framing, encode_message

if TYPE_CHECKING:
    from agent.netconf.notifications import NotificationFilter

logger = logging.getLogger(__name__)

NOTIFICATION_QUEUE_SIZE = 256
"""Notifications that may wait for one slow subscriber before its session is closed."""

KILL_WAIT_SECONDS = 5.0
"""How long kill waits for the killed session's cleanup to finish."""


class Transport(Protocol):
    """The byte channel under one session; write and drain raise OSError once it is gone."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def abort(self) -> None: ...


class SessionLogAdapter(logging.LoggerAdapter[logging.Logger]):
    """A logger adapter that prefixes messages with ``[session=N user=U]``."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        assert self.extra is not None
        return f"[session={self.extra['session_id']} user={self.extra['username']}] {msg}", kwargs


class Session:
    """One NETCONF session: identity, negotiated base version and RFC 6022 counters."""

    def __init__(
        self, session_id: int, username: str, source_host: str, transport: Transport
    ) -> None:
        self.session_id = session_id
        self.username = username
        self.source_host = source_host
        self.login_time = datetime.now(UTC)
        self.base_version = "1.0"
        self.client_capabilities: tuple[str, ...] = ()
        self.in_rpcs = 0
        self.in_bad_rpcs = 0
        self.out_rpc_errors = 0
        self.out_notifications = 0
        self.subscribed = False
        self.subscription_stream: str | None = None
        self.subscription_filter: NotificationFilter | None = None
        self.subscription_stop_time: datetime | None = None
        self.close_requested = False
        self.killed = False
        self.log = SessionLogAdapter(logger, {"session_id": session_id, "username": username})
        self._transport = transport
        self._closed = asyncio.Event()
        self._notifications: asyncio.Queue[bytes] = asyncio.Queue(NOTIFICATION_QUEUE_SIZE)
        self._sender: asyncio.Task[None] | None = None

    @property
    def framing(self) -> Framing:
        """The framing of every message after the hello (RFC 6242 §4.1)."""
        return Framing.CHUNKED if self.base_version == "1.1" else Framing.END_OF_MESSAGE

    def request_close(self) -> None:
        """Close the session after the reply now being handled is sent."""
        self.close_requested = True

    def start_subscription(
        self, stream: str, filter: NotificationFilter | None, stop_time: datetime | None
    ) -> None:
        """Start delivering notifications of `stream` to this session (RFC 5277 §2.1.1)."""
        if self.subscribed:
            raise RuntimeError(f"session {self.session_id} already has a subscription")
        self.subscribed = True
        self.subscription_stream = stream
        self.subscription_filter = filter
        self.subscription_stop_time = stop_time
        self._sender = asyncio.get_running_loop().create_task(self._send_notifications())
        self.log.info("subscribed to stream %s", stream)

    def end_subscription(self) -> None:
        """Stop delivering notifications; queued ones are dropped."""
        self.subscribed = False
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None

    def queue_notification(self, document: bytes) -> bool:
        """Queue one notification without waiting; return False when the queue is full."""
        try:
            self._notifications.put_nowait(document)
        except asyncio.QueueFull:
            return False
        return True

    async def _send_notifications(self) -> None:
        while True:
            document = await self._notifications.get()
            try:
                await self.send(document)
            except OSError as exc:
                self.log.info("closing the session: sending a notification failed: %s", exc)
                self.abort()
                return
            self.out_notifications += 1

    async def send(self, message: bytes) -> None:
        """Frame and send one complete message, then wait for flow control."""
        self._transport.write(encode_message(message, self.framing))
        await self._transport.drain()

    def abort(self) -> None:
        """Close the transport now; the session loop then runs its cleanup."""
        self._transport.abort()

    def mark_closed(self) -> None:
        """Record that the session's cleanup has finished."""
        self.end_subscription()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Wait until the session's cleanup has finished."""
        await self._closed.wait()


class SessionManager:
    """The table of open sessions, with the RFC 6022 global session counters."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self.start_time = datetime.now(UTC)
        self.in_sessions = 0
        self.in_bad_hellos = 0
        self.dropped_sessions = 0
        self._next_id = 1
        self._sessions: dict[int, Session] = {}

    def has_capacity(self) -> bool:
        """Return whether one more session may open without exceeding the limit."""
        return len(self._sessions) < self.max_sessions

    def open(self, username: str, source_host: str, transport: Transport) -> Session | None:
        """Register a new session, or return None when the limit is reached."""
        if not self.has_capacity():
            return None
        session = Session(self._next_id, username, source_host, transport)
        self._next_id += 1
        self._sessions[session.session_id] = session
        self.in_sessions += 1
        return session

    def remove(self, session: Session) -> None:
        """Drop a session from the table; count it as dropped unless it ended by request."""
        if self._sessions.pop(session.session_id, None) is None:
            return
        if not (session.close_requested or session.killed):
            self.dropped_sessions += 1

    def get(self, session_id: int) -> Session | None:
        """Return the open session with this id, if any."""
        return self._sessions.get(session_id)

    def sessions(self) -> list[Session]:
        """Return the open sessions, oldest first."""
        return list(self._sessions.values())

    async def kill(self, session_id: int) -> None:
        """Abort that session's transport now and wait for its end-of-session cleanup."""
        session = self._sessions.get(session_id)
        if session is None:
            return
        session.killed = True
        session.log.info("killing the session")
        session.abort()
        try:
            async with asyncio.timeout(KILL_WAIT_SECONDS):
                await session.wait_closed()
        except TimeoutError:
            session.log.error("cleanup did not finish within %s s of kill", KILL_WAIT_SECONDS)
