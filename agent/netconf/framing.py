"""RFC 6242 message framing: end-of-message (base:1.0) and chunked (base:1.1).

The decoder and encoder do no I/O.  The transport feeds received bytes into
`MessageDecoder` and takes complete messages out one at a time, so that it can
switch to chunked framing right after the hello, in the middle of a buffer.
"""

from __future__ import annotations

from enum import StrEnum

from agent.errors import AgentError

END_OF_MESSAGE = b"]]>]]>"
END_OF_CHUNKS = b"\n##\n"
MAX_CHUNK_SIZE = 4294967295
"""RFC 6242 §4.2: the largest chunk-size."""

_MAX_CHUNK_SIZE_DIGITS = len(str(MAX_CHUNK_SIZE))
_DIGIT1 = b"123456789"
_DIGIT = b"0123456789"
_WHITESPACE = b" \t\r\n"


class Framing(StrEnum):
    """The two framing mechanisms of RFC 6242."""

    END_OF_MESSAGE = "end-of-message"
    CHUNKED = "chunked"


class FramingError(AgentError):
    """The peer broke the framing rules, or a message is larger than allowed."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at byte {offset} of the buffered input"
        super().__init__(f"invalid framing{where}: {reason}")


class MessageTooLargeError(FramingError):
    """A message is larger than the configured maximum message size."""

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size
        super().__init__(f"message exceeds the maximum message size of {max_message_size} bytes")


def _byte_at(buffer: bytearray, offset: int) -> str:
    return repr(bytes(buffer[offset : offset + 1]))


def encode_message(message: bytes, framing: Framing) -> bytes:
    """Frame one complete message for sending."""
    if framing is Framing.END_OF_MESSAGE:
        return message + END_OF_MESSAGE
    parts = []
    for start in range(0, len(message), MAX_CHUNK_SIZE):
        chunk = message[start : start + MAX_CHUNK_SIZE]
        parts.append(b"\n#%d\n" % len(chunk))
        parts.append(chunk)
    parts.append(END_OF_CHUNKS)
    return b"".join(parts)


class MessageDecoder:
    """Incremental decoder that splits a byte stream into NETCONF messages.

    It starts in end-of-message framing, as every session does until the
    hello exchange ends.  After a `FramingError` the stream cannot be
    resynchronised, so the caller must close the session.
    """

    def __init__(self, max_message_size: int) -> None:
        if max_message_size < 1:
            raise ValueError(f"max_message_size must be positive, got {max_message_size}")
        self.max_message_size = max_message_size
        self.framing = Framing.END_OF_MESSAGE
        self._buffer = bytearray()
        # Chunked state: the chunks of the message being assembled.
        self._chunks: list[bytes] = []
        self._chunked_size = 0

    def use_chunked(self) -> None:
        """Switch to chunked framing; bytes already buffered are decoded in it."""
        self.framing = Framing.CHUNKED

    @property
    def buffered(self) -> int:
        """The number of bytes received but not yet returned in a message."""
        return len(self._buffer) + self._chunked_size

    def feed(self, data: bytes) -> None:
        """Append received bytes, checking what is decidable without a full message."""
        self._buffer += data
        if self.framing is Framing.END_OF_MESSAGE:
            self._check_end_of_message_size()

    def next_message(self) -> bytes | None:
        """Return the next complete message, or None until more bytes arrive.

        Raises:
            FramingError: the input breaks the framing grammar.
            MessageTooLargeError: a message exceeds the maximum message size.
        """
        if self.framing is Framing.END_OF_MESSAGE:
            return self._next_end_of_message()
        return self._next_chunked()

    def _check_end_of_message_size(self) -> None:
        limit = self.max_message_size + len(END_OF_MESSAGE)
        if len(self._buffer) > limit and self._buffer.find(END_OF_MESSAGE, 0, limit) < 0:
            raise MessageTooLargeError(self.max_message_size)

    def _next_end_of_message(self) -> bytes | None:
        while True:
            end = self._buffer.find(END_OF_MESSAGE)
            if end < 0:
                self._check_end_of_message_size()
                return None
            if end > self.max_message_size:
                raise MessageTooLargeError(self.max_message_size)
            message = bytes(self._buffer[:end]).strip(_WHITESPACE)
            del self._buffer[: end + len(END_OF_MESSAGE)]
            # Whitespace between two delimiters is not a message; some clients
            # send a newline after each delimiter.
            if message:
                return message

    def _next_chunked(self) -> bytes | None:
        while True:
            header = self._parse_chunk_header()
            if header is None:
                return None
            header_length, chunk_size = header
            if chunk_size == 0:
                del self._buffer[:header_length]
                message = b"".join(self._chunks)
                self._chunks = []
                self._chunked_size = 0
                return message
            if self._chunked_size + chunk_size > self.max_message_size:
                raise MessageTooLargeError(self.max_message_size)
            end = header_length + chunk_size
            if len(self._buffer) < end:
                return None
            self._chunks.append(bytes(self._buffer[header_length:end]))
            self._chunked_size += chunk_size
            del self._buffer[:end]

    def _parse_chunk_header(self) -> tuple[int, int] | None:
        """Parse ``LF HASH chunk-size LF`` or ``LF HASH HASH LF`` at the buffer start.

        Returns (header length, chunk size), with size 0 for end-of-chunks, or
        None when the buffer ends inside the header.
        """
        buffer = self._buffer
        for offset, expected in enumerate(b"\n#"):
            if len(buffer) <= offset:
                return None
            if buffer[offset] != expected:
                got = _byte_at(buffer, offset)
                raise FramingError(f"expected {bytes([expected])!r}, got {got}", offset)
        if len(buffer) < 3:
            return None
        if buffer[2] == ord("#"):
            return self._parse_end_of_chunks()
        return self._parse_chunk_size()

    def _parse_end_of_chunks(self) -> tuple[int, int] | None:
        if len(self._buffer) < 4:
            return None
        if self._buffer[3] != ord("\n"):
            raise FramingError("end-of-chunks must be LF HASH HASH LF", 3)
        if not self._chunks:
            # RFC 6242 §4.2: Chunked-Message = 1*chunk end-of-chunks.
            raise FramingError("end-of-chunks without a preceding chunk", 0)
        return 4, 0

    def _parse_chunk_size(self) -> tuple[int, int] | None:
        buffer = self._buffer
        # RFC 6242 §4.2: chunk-size = 1*DIGIT1 0*DIGIT, so no leading zero.
        if buffer[2] not in _DIGIT1:
            got = _byte_at(buffer, 2)
            raise FramingError(f"chunk-size must start with a digit 1-9, got {got}", 2)
        position = 3
        while position < len(buffer) and buffer[position] in _DIGIT:
            position += 1
            if position - 2 > _MAX_CHUNK_SIZE_DIGITS:
                raise FramingError("chunk-size has too many digits", 2)
        if position == len(buffer):
            return None
        if buffer[position] != ord("\n"):
            got = _byte_at(buffer, position)
            raise FramingError(f"chunk-size must end with LF, got {got}", position)
        chunk_size = int(buffer[2:position])
        if chunk_size > MAX_CHUNK_SIZE:
            raise FramingError(f"chunk-size {chunk_size} exceeds {MAX_CHUNK_SIZE}", 2)
        if self._chunked_size + chunk_size > self.max_message_size:
            raise MessageTooLargeError(self.max_message_size)
        return position + 1, chunk_size
