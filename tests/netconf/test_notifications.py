"""The notification hub: rendering once, stop time, filters and slow subscribers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from agent.hooks import JSONData
from agent.netconf.notifications import NETCONF_STREAM, NotificationFilter, NotificationHub
from agent.netconf.session import NOTIFICATION_QUEUE_SIZE, SessionManager

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class BlockedTransport:
    """A transport whose peer never reads, so drain waits forever."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    async def drain(self) -> None:
        await asyncio.Event().wait()

    def abort(self) -> None:
        self.aborted = True


class Renderer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, name: str, body: JSONData, event_time: datetime) -> bytes:
        self.calls.append(name)
        return f"<notification>{name}</notification>".encode()


def test_hub_renders_once_for_many() -> None:
    async def main() -> tuple[list[str], list[int]]:
        sessions = SessionManager(5)
        renderer = Renderer()
        transports = [BlockedTransport() for _ in range(3)]
        for transport in transports:
            session = sessions.open("admin", "127.0.0.1", transport)
            assert session is not None
            session.start_subscription(NETCONF_STREAM, None, None)
        NotificationHub(sessions, renderer, clock=lambda: NOW)("pki-agent:trigger", {})
        await asyncio.sleep(0)
        counts = [len(transport.written) for transport in transports]
        for session in sessions.sessions():
            session.end_subscription()
        return renderer.calls, counts

    calls, counts = asyncio.run(main())
    assert calls == ["pki-agent:trigger"]
    assert counts == [1, 1, 1]


def test_hub_skips_unsubscribed_without_rendering() -> None:
    async def main() -> list[str]:
        sessions = SessionManager(5)
        sessions.open("admin", "127.0.0.1", BlockedTransport())
        renderer = Renderer()
        NotificationHub(sessions, renderer, clock=lambda: NOW)("pki-agent:trigger", {})
        return renderer.calls

    assert asyncio.run(main()) == []


def test_hub_ends_subscription_after_stop_time() -> None:
    async def main() -> tuple[bool, int]:
        sessions = SessionManager(5)
        transport = BlockedTransport()
        session = sessions.open("admin", "127.0.0.1", transport)
        assert session is not None
        session.start_subscription(NETCONF_STREAM, None, NOW - timedelta(seconds=1))
        NotificationHub(sessions, Renderer(), clock=lambda: NOW)("pki-agent:trigger", {})
        await asyncio.sleep(0)
        return session.subscribed, len(transport.written)

    assert asyncio.run(main()) == (False, 0)


def test_hub_filter_rejects() -> None:
    async def main() -> int:
        sessions = SessionManager(5)
        transport = BlockedTransport()
        session = sessions.open("admin", "127.0.0.1", transport)
        assert session is not None
        session.start_subscription(NETCONF_STREAM, NotificationFilter(lambda _: False), None)
        NotificationHub(sessions, Renderer(), clock=lambda: NOW)("pki-agent:trigger", {})
        await asyncio.sleep(0)
        session.end_subscription()
        return len(transport.written)

    assert asyncio.run(main()) == 0


def test_hub_closes_slow_subscriber() -> None:
    async def main() -> tuple[bool, bool]:
        sessions = SessionManager(5)
        slow_transport = BlockedTransport()
        fast_transport = BlockedTransport()
        slow = sessions.open("admin", "127.0.0.1", slow_transport)
        fast = sessions.open("admin", "127.0.0.1", fast_transport)
        assert slow is not None
        assert fast is not None
        slow.start_subscription(NETCONF_STREAM, None, None)
        hub = NotificationHub(sessions, Renderer(), clock=lambda: NOW)
        # One is taken by the sender, which then waits in drain forever.
        for _ in range(NOTIFICATION_QUEUE_SIZE + 2):
            hub("pki-agent:trigger", {})
            await asyncio.sleep(0)
        slow.end_subscription()
        return slow_transport.aborted, fast_transport.aborted

    assert asyncio.run(main()) == (True, False)


def test_second_subscription_rejected() -> None:
    async def main() -> str:
        sessions = SessionManager(5)
        session = sessions.open("admin", "127.0.0.1", BlockedTransport())
        assert session is not None
        session.start_subscription(NETCONF_STREAM, None, None)
        try:
            session.start_subscription(NETCONF_STREAM, None, None)
        except RuntimeError as exc:
            return str(exc)
        finally:
            session.end_subscription()
        return ""

    assert "already has a subscription" in asyncio.run(main())


def test_session_limit_in_manager() -> None:
    async def main() -> list[int | None]:
        sessions = SessionManager(2)
        opened = [sessions.open("admin", "127.0.0.1", BlockedTransport()) for _ in range(3)]
        return [None if session is None else session.session_id for session in opened]

    assert asyncio.run(main()) == [1, 2, None]


class ClosedTransport(BlockedTransport):
    """A transport whose channel is already gone."""

    def write(self, data: bytes) -> None:
        raise BrokenPipeError("Channel not open for sending")


def test_send_failure_aborts_session() -> None:
    async def main() -> tuple[bool, int]:
        sessions = SessionManager(5)
        transport = ClosedTransport()
        session = sessions.open("admin", "127.0.0.1", transport)
        assert session is not None
        session.start_subscription(NETCONF_STREAM, None, None)
        NotificationHub(sessions, Renderer(), clock=lambda: NOW)("pki-agent:trigger", {})
        for _ in range(3):
            await asyncio.sleep(0)
        session.end_subscription()
        return transport.aborted, session.out_notifications

    assert asyncio.run(main()) == (True, 0)
