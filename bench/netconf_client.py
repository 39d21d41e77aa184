"""A minimal NETCONF client over asyncssh that times single RPCs.

Stock ncclient polls its reply queue every 0.1 s (``ncclient.transport.session.TICK``),
which would hide the server's own latency, so the benchmarks drive both servers
with this client instead.  It speaks base:1.0 end-of-message framing and
base:1.1 chunked framing (RFC 6242 §4.1 and §4.2) and nothing else.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

import asyncssh

log = logging.getLogger(__name__)

BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"
NETCONF_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
EOM = b"]]>]]>"
HELLO = (
    f'<hello xmlns="{NETCONF_NS}"><capabilities>'
    f"<capability>{BASE_10}</capability><capability>{BASE_11}</capability>"
    "</capabilities></hello>"
)

# RFC 6242 §4.2: a chunk header is LF '#' chunk-size LF, chunk-size 1..4294967295
# without leading zeros; the end-of-chunks marker is LF '#' '#' LF.
_CHUNK_HEADER = re.compile(rb"\n#([1-9][0-9]{0,9})\n")
_END_OF_CHUNKS = b"\n##\n"
_PARTIAL_HEADER = re.compile(rb"(\n(#(#|[1-9][0-9]{0,9})?)?)?")


class FramingError(ValueError):
    """The peer sent bytes that break RFC 6242 framing."""


def frame_message(message: bytes, chunked: bool) -> bytes:
    """Frame one message for the wire, as one chunk or with the end-of-message marker."""
    if chunked:
        return b"\n#%d\n" % len(message) + message + _END_OF_CHUNKS
    return message + EOM


@dataclass(slots=True)
class FrameDecoder:
    """Incremental decoder that splits received bytes into whole messages."""

    chunked: bool = False
    buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes and return the messages that are now complete."""
        self.buffer += data
        messages: list[bytes] = []
        while True:
            message = self._next_chunked() if self.chunked else self._next_eom()
            if message is None:
                return messages
            messages.append(message)

    def _next_eom(self) -> bytes | None:
        end = self.buffer.find(EOM)
        if end < 0:
            return None
        message = bytes(self.buffer[:end])
        del self.buffer[: end + len(EOM)]
        return message

    def _next_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        position = 0
        while True:
            if self.buffer.startswith(_END_OF_CHUNKS, position):
                del self.buffer[: position + len(_END_OF_CHUNKS)]
                return b"".join(parts)
            match = _CHUNK_HEADER.match(self.buffer, position)
            if match is None:
                if _PARTIAL_HEADER.fullmatch(self.buffer, position) is None:
                    raise FramingError(f"invalid chunk header at byte {position}")
                return None  # the start of a header that more bytes will complete
            size = int(match.group(1))
            start = match.end()
            if len(self.buffer) < start + size:
                return None
            parts.append(bytes(self.buffer[start : start + size]))
            position = start + size


@dataclass(frozen=True, slots=True)
class ClientTarget:
    """Address and SSH credentials of a NETCONF server."""

    host: str
    port: int
    username: str
    client_key: str | None = None
    password: str | None = None


class NetconfClient:
    """One NETCONF session; send an RPC body and wait for its reply."""

    def __init__(self, target: ClientTarget) -> None:
        self.target = target
        self.connection: asyncssh.SSHClientConnection | None = None
        self.writer: asyncssh.SSHWriter[bytes] | None = None
        self.reader: asyncssh.SSHReader[bytes] | None = None
        self.decoder = FrameDecoder()
        self.pending: list[bytes] = []
        self.message_id = 0
        self.server_capabilities: list[str] = []

    async def connect(self) -> None:
        """Log in, open the netconf subsystem and exchange hello messages."""
        keys = [self.target.client_key] if self.target.client_key else None
        self.connection = await asyncssh.connect(
            self.target.host,
            self.target.port,
            username=self.target.username,
            client_keys=keys,
            password=self.target.password,
            known_hosts=None,
            agent_path=None,
        )
        self.writer, self.reader, _ = await self.connection.open_session(
            subsystem="netconf", encoding=None
        )
        self.writer.write(frame_message(HELLO.encode(), chunked=False))
        server_hello = await self._read_message()
        self.server_capabilities = re.findall(r"<capability>([^<]+)</capability>", server_hello)
        self.decoder.chunked = BASE_11 in self.server_capabilities

    async def close(self) -> None:
        """Send close-session and drop the connection."""
        if self.connection is None:
            return
        try:
            await self.rpc("<close-session/>")
        except (OSError, asyncssh.Error, FramingError) as exc:
            log.debug("close-session failed: %s", exc)
        self.connection.close()
        await self.connection.wait_closed()
        self.connection = None

    async def rpc(self, body: str) -> str:
        """Send one RPC with ``body`` inside ``<rpc>`` and return the reply text."""
        assert self.writer is not None, "connect() first"
        self.message_id += 1
        message = f'<rpc message-id="{self.message_id}" xmlns="{NETCONF_NS}">{body}</rpc>'
        self.writer.write(frame_message(message.encode(), self.decoder.chunked))
        return await self._read_message()

    async def timed_rpc(self, body: str) -> tuple[float, str]:
        """Send one RPC and return (seconds from send to full reply, reply text)."""
        start = time.perf_counter()
        reply = await self.rpc(body)
        return time.perf_counter() - start, reply

    async def _read_message(self) -> str:
        assert self.reader is not None
        while not self.pending:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("NETCONF server closed the session")
            self.pending.extend(self.decoder.feed(data))
        return self.pending.pop(0).decode()


def is_ok_reply(reply: str) -> bool:
    """Tell whether an rpc-reply contains no rpc-error."""
    return "<rpc-error" not in reply and ":rpc-error" not in reply
