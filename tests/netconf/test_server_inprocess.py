"""The SSH server in this process with a recording RPC handler, to test the transport alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncssh
from lxml import etree

from agent.hooks import JSONData
from agent.netconf.hello import BaseCapability
from agent.netconf.notifications import NETCONF_STREAM, NotificationFilter, NotificationHub
from agent.netconf.server import NetconfServer
from agent.netconf.session import Session, SessionManager
from agent.settings import Settings
from tests.fixtures.agent import ClientKey
from tests.netconf.raw_client import BASE_1_1, BASE_NS, chunked, client_hello, rpc

NOTIFICATION_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
OK = f'<rpc-reply xmlns="{BASE_NS}"><ok/></rpc-reply>'.encode()


class RecordingHandler:
    """An RPC handler for kill-session, close-session and create-subscription.

    It records the id of each session whose end-of-session cleanup ran.
    """

    def __init__(self, sessions: SessionManager) -> None:
        self.sessions = sessions
        self.ended: list[int] = []
        self.subscription_filter: NotificationFilter | None = None

    def capabilities(self) -> list[str]:
        return [BaseCapability.V1_0, BaseCapability.V1_1]

    async def handle(self, session: Session, message: bytes) -> bytes | None:
        operation = etree.fromstring(message)[0]
        name = etree.QName(operation).localname
        if name == "kill-session":
            await self.sessions.kill(int(operation[0].text or "0"))
        elif name == "close-session":
            session.request_close()
        elif name == "create-subscription":
            session.start_subscription(NETCONF_STREAM, self.subscription_filter, None)
        return OK

    def end_session(self, session: Session) -> None:
        self.ended.append(session.session_id)

    def notification_xml(self, name: str, body: JSONData, event_time: datetime) -> bytes:
        return (
            f'<notification xmlns="{NOTIFICATION_NS}"><eventTime>{event_time.isoformat()}'
            f'</eventTime><{name} xmlns="urn:example"/></notification>'
        ).encode()


class Client:
    """A base:1.1 client over asyncssh that reads whole chunked messages."""

    def __init__(self, reader: asyncssh.SSHReader[bytes], writer: asyncssh.SSHWriter[bytes]):
        self.reader = reader
        self.writer = writer
        self.buffer = b""

    async def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            if not data:
                raise EOFError(self.buffer)
            self.buffer += data
        end = self.buffer.index(marker) + len(marker)
        result, self.buffer = self.buffer[:end], self.buffer[end:]
        return result

    async def call(self, body: str) -> bytes:
        self.writer.write(chunked(rpc(body)))
        return await self.read_until(b"\n##\n")

    async def at_end(self) -> bool:
        data = await asyncio.wait_for(self.reader.read(65536), 10)
        return data == b""


OpenClient = Callable[[], Awaitable[Client]]
Scenario = Callable[[NetconfServer, RecordingHandler, OpenClient], Awaitable[None]]


def run_scenario(tmp_path: Path, client_key: ClientKey, scenario: Scenario) -> None:
    async def main() -> None:
        settings = Settings(
            state_dir=tmp_path, listen="127.0.0.1", port=0,
            authorized_keys=client_key.authorized_keys_path,
        )
        sessions = SessionManager(settings.max_sessions)
        handler = RecordingHandler(sessions)
        server = NetconfServer(settings, sessions, handler)
        await server.start()
        connections: list[asyncssh.SSHClientConnection] = []

        async def open_client() -> Client:
            connection = await asyncssh.connect(
                "127.0.0.1", server.port, username="admin", known_hosts=None,
                client_keys=[str(client_key.private_key_path)], agent_path=None,
            )
            connections.append(connection)
            writer, reader, _ = await connection.open_session(subsystem="netconf", encoding=None)
            client = Client(reader, writer)
            await client.read_until(b"]]>]]>")
            writer.write(client_hello(BASE_1_1) + b"]]>]]>")
            return client

        try:
            await scenario(server, handler, open_client)
        finally:
            for connection in connections:
                connection.close()
            await server.stop()

    asyncio.run(main())


def test_kill_session_closes_target_and_runs_cleanup(tmp_path: Path, client_key: ClientKey) -> None:
    async def scenario(
        server: NetconfServer, handler: RecordingHandler, open_client: OpenClient
    ) -> None:
        killer = await open_client()
        target = await open_client()
        await target.call("<get/>")
        killer_id, target_id = (session.session_id for session in server.sessions.sessions())
        kill = f"<kill-session><session-id>{target_id}</session-id></kill-session>"
        reply = await killer.call(kill)
        assert b"<ok/>" in reply
        assert handler.ended == [target_id]
        assert await target.at_end()
        assert [session.session_id for session in server.sessions.sessions()] == [killer_id]
        assert b"<ok/>" in await killer.call("<get/>")

    run_scenario(tmp_path, client_key, scenario)


def test_close_session_runs_cleanup_once(tmp_path: Path, client_key: ClientKey) -> None:
    async def scenario(
        server: NetconfServer, handler: RecordingHandler, open_client: OpenClient
    ) -> None:
        client = await open_client()
        assert b"<ok/>" in await client.call("<close-session/>")
        assert await client.at_end()
        await asyncio.sleep(0.1)
        assert handler.ended == [1]
        assert server.sessions.sessions() == []
        assert server.sessions.dropped_sessions == 0

    run_scenario(tmp_path, client_key, scenario)


def test_notification_reaches_subscriber_only(tmp_path: Path, client_key: ClientKey) -> None:
    async def scenario(
        server: NetconfServer, handler: RecordingHandler, open_client: OpenClient
    ) -> None:
        subscriber = await open_client()
        other = await open_client()
        await subscriber.call("<create-subscription/>")
        await other.call("<get/>")
        hub = NotificationHub(server.sessions, handler.notification_xml)
        hub("example:event", {})
        message = await subscriber.read_until(b"\n##\n")
        assert b"<notification" in message
        assert b"example:event" in message
        other.writer.write(chunked(rpc("<get/>", message_id="2")))
        reply = await other.read_until(b"\n##\n")
        assert b"notification" not in reply
        subscriber_session = server.sessions.get(1)
        assert subscriber_session is not None
        assert subscriber_session.out_notifications == 1

    run_scenario(tmp_path, client_key, scenario)


def test_notification_filter_applied(tmp_path: Path, client_key: ClientKey) -> None:
    async def scenario(
        server: NetconfServer, handler: RecordingHandler, open_client: OpenClient
    ) -> None:
        handler.subscription_filter = NotificationFilter(lambda document: b"kept" in document)
        subscriber = await open_client()
        await subscriber.call("<create-subscription/>")
        event_time = datetime(2026, 1, 1, tzinfo=UTC)
        hub = NotificationHub(server.sessions, handler.notification_xml, clock=lambda: event_time)
        hub("example:dropped-event", {})
        hub("example:kept-event", {})
        message = await subscriber.read_until(b"\n##\n")
        assert b"kept-event" in message
        assert b"dropped-event" not in message

    run_scenario(tmp_path, client_key, scenario)


def test_drop_runs_cleanup_and_counts(tmp_path: Path, client_key: ClientKey) -> None:
    async def scenario(
        server: NetconfServer, handler: RecordingHandler, open_client: OpenClient
    ) -> None:
        client = await open_client()
        await client.call("<get/>")
        client.writer.channel.get_connection().abort()
        for _ in range(100):
            if handler.ended:
                break
            await asyncio.sleep(0.05)
        assert handler.ended == [1]
        assert server.sessions.dropped_sessions == 1
        assert server.sessions.sessions() == []

    run_scenario(tmp_path, client_key, scenario)
