"""The NETCONF SSH server (RFC 6242): login, the ``netconf`` subsystem and the session loop."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Protocol

import asyncssh
from asyncssh.stream import SSHReader, SSHServerStreamSession, SSHWriter
from lxml import etree

from agent.netconf.auth import load_or_create_host_key, read_authorized_keys, read_password_file
from agent.netconf.framing import FramingError, MessageDecoder
from agent.netconf.hello import BASE_NS, HelloError, build_server_hello, parse_client_hello
from agent.netconf.listen import bind_sockets
from agent.netconf.session import Session, SessionManager
from agent.settings import Settings

logger = logging.getLogger(__name__)

SUBSYSTEM = "netconf"
READ_SIZE = 65536
KEEPALIVE_INTERVAL = 30.0
"""Seconds between SSH keepalives, so a peer that vanished without a TCP reset is noticed."""
KEEPALIVE_COUNT_MAX = 3


class RPCHandler(Protocol):
    """The part of `agent.netconf.rpc.RPCProcessor` that the transport calls."""

    def capabilities(self) -> list[str]: ...

    async def handle(self, session: Session, message: bytes) -> bytes | None: ...

    def end_session(self, session: Session) -> None: ...


def build_framing_error_reply(text: str, base_version: str) -> bytes:
    """Render the rpc-error for a message that cannot be delimited.

    RFC 6241 Appendix A: malformed-message is new in base:1.1 and must not be
    sent to base:1.0 clients, so those get operation-failed.
    """
    tag = "malformed-message" if base_version == "1.1" else "operation-failed"
    reply = etree.Element(f"{{{BASE_NS}}}rpc-reply", nsmap={None: BASE_NS})
    error = etree.SubElement(reply, f"{{{BASE_NS}}}rpc-error")
    for name, value in (
        ("error-type", "rpc"),
        ("error-tag", tag),
        ("error-severity", "error"),
    ):
        etree.SubElement(error, f"{{{BASE_NS}}}{name}").text = value
    message = etree.SubElement(error, f"{{{BASE_NS}}}error-message")
    message.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    message.text = text
    return bytes(etree.tostring(reply, xml_declaration=True, encoding="UTF-8"))


def _end_reason(session: Session) -> str:
    if session.killed:
        return "killed"
    if session.close_requested:
        return "close-session"
    return "dropped"


class _ChannelTransport:
    """The `Transport` of one session: its SSH channel and the task that runs it."""

    def __init__(self, writer: SSHWriter[bytes]) -> None:
        self._writer = writer
        self.task: asyncio.Task[Any] | None = None

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except asyncssh.Error as exc:
            raise ConnectionResetError(f"SSH channel lost: {exc}") from exc

    def abort(self) -> None:
        self._writer.channel.abort()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()


class _SessionRunner:
    """Run one session: the hello exchange, then one rpc at a time until the end."""

    def __init__(self, server: NetconfServer, session: Session, reader: SSHReader[bytes]) -> None:
        self._server = server
        self._session = session
        self._reader = reader
        self._decoder = MessageDecoder(server.settings.max_message_size)

    async def run(self) -> None:
        session = self._session
        capabilities = self._server.handler.capabilities()
        await session.send(build_server_hello(capabilities, session.session_id))
        try:
            async with asyncio.timeout(self._server.settings.hello_timeout):
                message = await self._read_message()
        except TimeoutError:
            session.log.warning(
                "closing the session: no hello within %s s", self._server.settings.hello_timeout
            )
            self._server.sessions.in_bad_hellos += 1
            return
        except FramingError as exc:
            session.log.warning("closing the session: %s before the hello", exc)
            self._server.sessions.in_bad_hellos += 1
            return
        if message is None:
            session.log.info("client closed the channel before its hello")
            return
        if not self._accept_hello(message, capabilities):
            return
        await self._serve_rpcs()

    def _accept_hello(self, message: bytes, capabilities: list[str]) -> bool:
        session = self._session
        try:
            hello = parse_client_hello(message, capabilities)
        except HelloError as exc:
            # RFC 6241 §8.1: a bad hello, or an rpc before the hello, ends
            # the session with no reply.
            session.log.warning("closing the session: %s", exc)
            self._server.sessions.in_bad_hellos += 1
            return False
        session.client_capabilities = hello.capabilities
        session.base_version = hello.base_version
        if hello.base_version == "1.1":
            self._decoder.use_chunked()
        session.log.info("hello done, base:%s", hello.base_version)
        return True

    async def _serve_rpcs(self) -> None:
        session = self._session
        while not session.close_requested:
            try:
                message = await self._read_message()
            except FramingError as exc:
                session.log.warning("closing the session: %s", exc)
                session.in_bad_rpcs += 1
                session.out_rpc_errors += 1
                await session.send(build_framing_error_reply(str(exc), session.base_version))
                return
            if message is None:
                return
            # Bodies stay out of the log because edit-config carries challenge passwords.
            session.log.debug("received a message of %d bytes", len(message))
            reply = await self._server.handler.handle(session, message)
            if reply is not None:
                await session.send(reply)

    async def _read_message(self) -> bytes | None:
        """Return the next complete message, or None at end of input."""
        while True:
            message = self._decoder.next_message()
            if message is not None:
                return message
            data = await self._reader.read(READ_SIZE)
            if not data:
                return None
            self._decoder.feed(data)


class _NetconfStreamSession(SSHServerStreamSession[bytes]):
    """An SSH session channel that accepts only the ``netconf`` subsystem."""

    def shell_requested(self) -> bool:
        return False

    def exec_requested(self, command: str) -> bool:
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        return subsystem == SUBSYSTEM


class _SSHServer(asyncssh.SSHServer):
    """Per-connection callbacks: login checks and session channels."""

    def __init__(self, server: NetconfServer) -> None:
        self._server = server
        self._connection: asyncssh.SSHServerConnection | None = None
        self._peer = "unknown"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        # NOTE: connections that have not logged in yet are limited by the
        # login timeout only, not by count.
        self._connection = conn
        peer = conn.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else "unknown"
        self._server.connections.add(conn)
        logger.debug("SSH connection from %s", self._peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connection is not None:
            self._server.connections.discard(self._connection)
        if exc is not None:
            logger.debug("SSH connection from %s lost: %s", self._peer, exc)

    def begin_auth(self, username: str) -> bool:
        if username == self._server.settings.user and self._connection is not None:
            keys = read_authorized_keys(self._server.settings.authorized_keys_path)
            if keys is not None:
                self._connection.set_authorized_keys(keys)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return self._server.settings.password_file is not None

    async def validate_password(self, username: str, password: str) -> bool:
        # NOTE: failed logins are not rate-limited beyond the login timeout.
        password_file = self._server.settings.password_file
        stored = None
        if password_file is not None and username == self._server.settings.user:
            stored = read_password_file(password_file).get(username)
        # PBKDF2 takes a large fraction of a second, so it runs off the event loop.
        if stored is not None and await asyncio.to_thread(stored.verify, password):
            return True
        logger.warning("password login of %s from %s failed", username, self._peer)
        return False

    def auth_completed(self) -> None:
        logger.info("user %s logged in from %s", self._server.settings.user, self._peer)

    def session_requested(self) -> _NetconfStreamSession | bool:
        if not self._server.sessions.has_capacity():
            logger.warning(
                "rejecting a session from %s: the limit of %d sessions is reached",
                self._peer,
                self._server.sessions.max_sessions,
            )
            return False
        return _NetconfStreamSession(self._server.run_session)


class NetconfServer:
    """The SSH listener that runs NETCONF sessions against an `RPCHandler`."""

    def __init__(self, settings: Settings, sessions: SessionManager, handler: RPCHandler) -> None:
        self.settings = settings
        self.sessions = sessions
        self.handler = handler
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._sockets: list[socket.socket] = []
        self._acceptors: list[asyncssh.SSHAcceptor] = []

    @property
    def port(self) -> int:
        """The bound TCP port, which differs from the setting when that is 0."""
        if not self._sockets:
            raise RuntimeError("the server is not bound")
        return int(self._sockets[0].getsockname()[1])

    def bind(self) -> None:
        """Bind the listening address, so that a busy port fails before anything starts.

        The kernel refuses connections until `start`.

        Raises:
            ListenError: the address cannot be bound.
        """
        if not self._sockets:
            self._sockets = bind_sockets(self.settings.listen, self.settings.port)

    async def start(self) -> None:
        """Bind unless `bind` did, load or create the host key, and start listening."""
        settings = self.settings
        self.bind()
        host_key = load_or_create_host_key(settings.state_dir)
        if read_authorized_keys(settings.authorized_keys_path) is None:
            logger.warning(
                "no keys in %s: public-key login is impossible until keys are added",
                settings.authorized_keys_path,
            )
        if settings.password_file is not None:
            read_password_file(settings.password_file)
        for sock in self._sockets:
            self._acceptors.append(await self._accept_on(sock, host_key))
        logger.info("NETCONF over SSH listening on %s port %d", settings.listen, self.port)

    async def _accept_on(
        self, sock: socket.socket, host_key: asyncssh.SSHKey
    ) -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            lambda: _SSHServer(self),
            sock=sock,
            server_host_keys=[host_key],
            encoding=None,
            allow_pty=False,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=self.settings.login_timeout,
            keepalive_interval=KEEPALIVE_INTERVAL,
            keepalive_count_max=KEEPALIVE_COUNT_MAX,
        )

    async def stop(self) -> None:
        """Stop listening, end every session with its cleanup, and close connections."""
        for acceptor in self._acceptors:
            acceptor.close()
            await acceptor.wait_closed()
        self._acceptors = []
        # Each acceptor closed its own socket.  This closes the sockets of a
        # `start` that never ran or that failed.
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        for session in self.sessions.sessions():
            await self.sessions.kill(session.session_id)
        for connection in list(self.connections):
            connection.abort()
        logger.info("NETCONF server stopped")

    async def run_session(
        self, reader: SSHReader[bytes], writer: SSHWriter[bytes], _stderr: SSHWriter[bytes]
    ) -> None:
        """Run one ``netconf`` subsystem channel from open to close."""
        connection = writer.channel.get_connection()
        username = str(connection.get_extra_info("username"))
        peer = connection.get_extra_info("peername")
        transport = _ChannelTransport(writer)
        session = self.sessions.open(username, str(peer[0]) if peer else "unknown", transport)
        if session is None:
            logger.warning("closing a channel of %s: the session limit is reached", username)
            writer.channel.close()
            return
        transport.task = asyncio.current_task()
        session.log.info("session opened from %s", session.source_host)
        try:
            await _SessionRunner(self, session, reader).run()
        except asyncio.CancelledError:
            session.log.info("session aborted")
        except (OSError, asyncssh.Error) as exc:
            session.log.info("session transport failed: %s", exc)
        except Exception:
            session.log.exception("closing the session after an unexpected error")
        finally:
            self._end_session(session, writer)

    def _end_session(self, session: Session, writer: SSHWriter[bytes]) -> None:
        try:
            self.handler.end_session(session)
        except Exception:
            session.log.exception("end-of-session cleanup failed")
        self.sessions.remove(session)
        session.mark_closed()
        writer.channel.close()
        session.log.info("session closed (%s)", _end_reason(session))
