"""A raw NETCONF-over-SSH client on asyncssh that can send broken bytes on purpose."""

from __future__ import annotations

import asyncio
import re
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncssh
from lxml import etree

from tests.fixtures.agent import RunningAgent

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
BASE_1_0 = "urn:ietf:params:netconf:base:1.0"
BASE_1_1 = "urn:ietf:params:netconf:base:1.1"
END_OF_MESSAGE = b"]]>]]>"
READ_TIMEOUT = 15.0

T = TypeVar("T")


def client_hello(*capabilities: str, session_id: int | None = None) -> bytes:
    """Render a client hello, with a session-id only when testing that it is rejected."""
    caps = "".join(f"<capability>{uri}</capability>" for uri in capabilities)
    extra = "" if session_id is None else f"<session-id>{session_id}</session-id>"
    return (
        f'<hello xmlns="{BASE_NS}"><capabilities>{caps}</capabilities>{extra}</hello>'
    ).encode()


def rpc(body: str, message_id: str = "1") -> bytes:
    """Render an rpc with the base namespace and a message-id."""
    return f'<rpc xmlns="{BASE_NS}" message-id="{message_id}">{body}</rpc>'.encode()


def chunked(message: bytes) -> bytes:
    """Frame a message in one chunk (RFC 6242 §4.2)."""
    return b"\n#%d\n%s\n##\n" % (len(message), message)


class RawClient:
    """One SSH connection with one ``netconf`` subsystem channel, bytes only."""

    def __init__(self, connection: asyncssh.SSHClientConnection) -> None:
        self.connection = connection
        self.writer: asyncssh.SSHWriter[bytes] | None = None
        self.reader: asyncssh.SSHReader[bytes] | None = None
        self.buffer = b""

    @classmethod
    async def open(cls, agent: RunningAgent, **options: object) -> RawClient:
        """Log in with the test client key and open the ``netconf`` subsystem."""
        connection = await asyncssh.connect(
            agent.host,
            agent.port,
            username=agent.username,
            client_keys=[str(agent.key_path)],
            known_hosts=None,
            agent_path=None,
            **options,  # type: ignore[arg-type]
        )
        client = cls(connection)
        client.writer, client.reader, _ = await connection.open_session(
            subsystem="netconf", encoding=None
        )
        return client

    def send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)

    async def read_until(self, marker: bytes) -> bytes:
        """Return everything up to and including `marker`; raise EOFError at end of input."""
        assert self.reader is not None
        while marker not in self.buffer:
            data = await asyncio.wait_for(self.reader.read(65536), READ_TIMEOUT)
            if not data:
                raise EOFError(f"channel closed before {marker!r}; received {self.buffer!r}")
            self.buffer += data
        end = self.buffer.index(marker) + len(marker)
        result, self.buffer = self.buffer[:end], self.buffer[end:]
        return result

    async def read_server_hello(self) -> etree._Element:
        """Read the server hello, which is always end-of-message framed."""
        message = await self.read_until(END_OF_MESSAGE)
        return etree.fromstring(message[: -len(END_OF_MESSAGE)])

    async def read_chunked_message(self) -> bytes:
        """Read one chunked message and return it without framing."""
        frame = await self.read_until(b"\n##\n")
        parts = re.findall(rb"\n#(\d+)\n", frame)
        assert parts, f"no chunk header in {frame!r}"
        return re.sub(rb"\n#\d+\n", b"", frame[: -len(b"\n##\n")])

    async def read_to_end(self) -> bytes:
        """Read until the server closes the channel and return what arrived."""
        assert self.reader is not None
        while True:
            data = await asyncio.wait_for(self.reader.read(65536), READ_TIMEOUT)
            if not data:
                result, self.buffer = self.buffer, b""
                return result
            self.buffer += data

    async def start(self, *capabilities: str) -> etree._Element:
        """Exchange hellos with the given capabilities; return the server hello."""
        hello = await self.read_server_hello()
        self.send(client_hello(*capabilities) + END_OF_MESSAGE)
        return hello

    def drop(self) -> None:
        """End the TCP connection with a reset, with no SSH disconnect message."""
        sock: socket.socket | None = self.connection.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.abort()

    async def close(self) -> None:
        self.connection.close()
        await self.connection.wait_closed()


def run_with_client(
    agent: RunningAgent, body: Callable[[RawClient], Awaitable[T]], **options: object
) -> T:
    """Open a raw client, run `body` with it, and close it."""

    async def main() -> T:
        client = await RawClient.open(agent, **options)
        try:
            return await body(client)
        finally:
            await client.close()

    return asyncio.run(main())
