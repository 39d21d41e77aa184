"""RFC 5277 notification delivery: the hub between `Hooks.publish` and subscribed sessions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.hooks import JSONData
from agent.netconf.session import SessionManager

logger = logging.getLogger(__name__)

NETCONF_STREAM = "NETCONF"
"""RFC 5277 §3.2.3: the default event stream, the one the backend publishes to."""

NotificationRenderer = Callable[[str, JSONData, datetime], bytes]


@dataclass(frozen=True, slots=True)
class NotificationFilter:
    """A subscription filter; `matches` takes a rendered ``<notification>`` document."""

    matches: Callable[[bytes], bool]


class NotificationHub:
    """A notification sink that renders once and queues to every matching subscriber.

    Publishing never waits for a session, because each subscriber has a
    bounded queue and a subscriber whose queue is full is closed.  Call it on
    the event loop thread only, since asyncio queues are not thread-safe.
    """

    def __init__(
        self,
        sessions: SessionManager,
        render: NotificationRenderer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._render = render
        self._clock = clock

    def __call__(self, name: str, body: JSONData) -> None:
        """Deliver one notification of the module; the `NotificationSink` signature."""
        subscribers = [
            session
            for session in self._sessions.sessions()
            if session.subscribed and session.subscription_stream == NETCONF_STREAM
        ]
        if not subscribers:
            return
        event_time = self._clock()
        document = self._render(name, body, event_time)
        for session in subscribers:
            stop_time = session.subscription_stop_time
            if stop_time is not None and event_time > stop_time:
                session.log.info("subscription ended at its stop time %s", stop_time.isoformat())
                session.end_subscription()
                continue
            selector = session.subscription_filter
            if selector is not None and not selector.matches(document):
                continue
            if not session.queue_notification(document):
                session.log.warning("closing the session: it is not reading its notifications")
                session.abort()
