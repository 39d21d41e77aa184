"""RFC 6242 framing: the pure decoder and encoder, table-driven."""

from __future__ import annotations

import pytest

from agent.netconf.framing import (
    MAX_CHUNK_SIZE,
    Framing,
    FramingError,
    MessageDecoder,
    MessageTooLargeError,
    encode_message,
)

LIMIT = 4096


def decode_all(stream: bytes, framing: Framing, step: int | None = None) -> list[bytes]:
    """Feed `stream` in pieces of `step` bytes (all at once if None) and collect messages."""
    decoder = MessageDecoder(LIMIT)
    if framing is Framing.CHUNKED:
        decoder.use_chunked()
    messages: list[bytes] = []
    size = step or len(stream)
    pieces = [stream[i : i + size] for i in range(0, len(stream), size)]
    for piece in pieces:
        decoder.feed(piece)
        while (message := decoder.next_message()) is not None:
            messages.append(message)
    return messages


VALID_CHUNKED = [
    ("one chunk", b"\n#6\n<rpc/>\n##\n", [b"<rpc/>"]),
    ("two chunks", b"\n#3\n<rp\n#3\nc/>\n##\n", [b"<rpc/>"]),
    ("two messages", b"\n#1\na\n##\n\n#2\nbc\n##\n", [b"a", b"bc"]),
    ("chunk data contains a header", b"\n#9\n\n#1\nx\n##\n\n##\n", [b"\n#1\nx\n##\n"]),
    ("chunk of newlines", b"\n#2\n\n\n\n##\n", [b"\n\n"]),
    ("incomplete message", b"\n#5\nab", []),
    ("incomplete end-of-chunks", b"\n#1\na\n#", []),
]


@pytest.mark.parametrize("step", [None, 1, 3])
@pytest.mark.parametrize(
    ("case", "stream", "expected"), VALID_CHUNKED, ids=[c[0] for c in VALID_CHUNKED]
)
def test_chunked_valid(case: str, stream: bytes, expected: list[bytes], step: int | None) -> None:
    assert decode_all(stream, Framing.CHUNKED, step) == expected


INVALID_CHUNKED = [
    ("stray newline before header", b"\n\n#5\nhello\n##\n"),
    ("missing LF before header", b"#5\nhello\n##\n"),
    ("stray newline after chunk", b"\n#1\na\n\n##\n"),
    ("leading zero", b"\n#05\nhello\n##\n"),
    ("size zero", b"\n#0\n\n##\n"),
    ("size above maximum", b"\n#4294967296\n"),
    ("eleven digits", b"\n#12345678901\n"),
    ("no digits", b"\n#\nhello\n##\n"),
    ("letter in size", b"\n#1a\n"),
    ("space before LF", b"\n#5 \nhello\n##\n"),
    ("CR LF header", b"\r\n#5\r\nhello\n##\n"),
    ("end-of-chunks alone", b"\n##\n"),
    ("end-of-chunks without LF", b"\n#1\na\n##x"),
    ("end-of-message in chunked", b"<rpc/>]]>]]>"),
]


@pytest.mark.parametrize("step", [None, 1])
@pytest.mark.parametrize(("case", "stream"), INVALID_CHUNKED, ids=[c[0] for c in INVALID_CHUNKED])
def test_chunked_invalid(case: str, stream: bytes, step: int | None) -> None:
    with pytest.raises(FramingError):
        decode_all(stream, Framing.CHUNKED, step)


def test_chunked_size_maximum_accepted_as_header() -> None:
    decoder = MessageDecoder(MAX_CHUNK_SIZE)
    decoder.use_chunked()
    decoder.feed(b"\n#4294967295\nabc")
    assert decoder.next_message() is None


def test_chunked_message_over_limit() -> None:
    with pytest.raises(MessageTooLargeError):
        decode_all(b"\n#4000\n" + b"a" * 4000 + b"\n#200\n", Framing.CHUNKED)


def test_chunked_header_over_limit_before_data() -> None:
    decoder = MessageDecoder(LIMIT)
    decoder.use_chunked()
    decoder.feed(b"\n#4097\n")
    with pytest.raises(MessageTooLargeError):
        decoder.next_message()


VALID_END_OF_MESSAGE = [
    ("one message", b"<hello/>]]>]]>", [b"<hello/>"]),
    ("two messages", b"<a/>]]>]]><b/>]]>]]>", [b"<a/>", b"<b/>"]),
    ("newline after delimiter", b"<a/>]]>]]>\n<b/>]]>]]>\n", [b"<a/>", b"<b/>"]),
    ("whitespace only skipped", b"  \n]]>]]><a/>]]>]]>", [b"<a/>"]),
    ("incomplete", b"<a/>]]>]]", []),
    ("partial delimiter in data", b"<a>]]></a>]]>]]>", [b"<a>]]></a>"]),
]


@pytest.mark.parametrize("step", [None, 1, 4])
@pytest.mark.parametrize(
    ("case", "stream", "expected"), VALID_END_OF_MESSAGE, ids=[c[0] for c in VALID_END_OF_MESSAGE]
)
def test_end_of_message_valid(
    case: str, stream: bytes, expected: list[bytes], step: int | None
) -> None:
    assert decode_all(stream, Framing.END_OF_MESSAGE, step) == expected


@pytest.mark.parametrize("step", [None, 100])
def test_end_of_message_over_limit(step: int | None) -> None:
    with pytest.raises(MessageTooLargeError):
        decode_all(b"x" * (LIMIT + 10), Framing.END_OF_MESSAGE, step)


def test_end_of_message_at_limit() -> None:
    assert decode_all(b"x" * LIMIT + b"]]>]]>", Framing.END_OF_MESSAGE) == [b"x" * LIMIT]


def test_switch_to_chunked_mid_buffer() -> None:
    decoder = MessageDecoder(LIMIT)
    decoder.feed(b"<hello/>]]>]]>\n#4\n<a/>\n##\n")
    assert decoder.next_message() == b"<hello/>"
    decoder.use_chunked()
    assert decoder.next_message() == b"<a/>"
    assert decoder.next_message() is None


@pytest.mark.parametrize("framing", list(Framing))
@pytest.mark.parametrize("message", [b"<a/>", b"x" * 5000, "\u00e9\u4e2d".encode()])
def test_encode_round_trip(framing: Framing, message: bytes) -> None:
    decoder = MessageDecoder(10_000)
    if framing is Framing.CHUNKED:
        decoder.use_chunked()
    decoder.feed(encode_message(message, framing))
    assert decoder.next_message() == message
    assert decoder.buffered == 0


def test_encode_chunked_layout() -> None:
    assert encode_message(b"<ok/>", Framing.CHUNKED) == b"\n#5\n<ok/>\n##\n"


def test_decoder_rejects_zero_limit() -> None:
    with pytest.raises(ValueError, match="positive"):
        MessageDecoder(0)
