"""Minimal BER reader that rewrites BER input into a form asn1crypto can parse.

asn1crypto 1.5.1 rejects constructed strings in places that SCEP servers send
them (micromdm's and smallstep's encryptedContent, for example).  `to_der`
rewrites indefinite lengths as definite ones and joins constructed universal
strings into primitive ones.  Elements that need neither change keep their
original bytes, so signed attributes that were DER stay byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import cms

from agent.scep.errors import ProtocolError

MAX_DEPTH = 64

# Universal string types that BER may send constructed (X.690 §8.21).
_STRING_TAGS = frozenset({3, 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30})


@dataclass(frozen=True, slots=True)
class TLV:
    """One BER element: its identifier octets, content and total extent."""

    tag_class: int
    constructed: bool
    tag_number: int
    identifier: bytes
    content: bytes
    end: int
    indefinite: bool


def der_length(length: int) -> bytes:
    """Encode a DER length field."""
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _read_identifier(data: bytes, offset: int) -> tuple[int, bool, int, int]:
    if offset >= len(data):
        raise ProtocolError("malformed BER", "truncated identifier")
    first = data[offset]
    offset += 1
    number = first & 0x1F
    if number == 0x1F:
        number = 0
        while True:
            if offset >= len(data) or number > 1 << 28:
                raise ProtocolError("malformed BER", "invalid high tag number")
            byte = data[offset]
            offset += 1
            number = (number << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
    return first >> 6, bool(first & 0x20), number, offset


def read_tlv(data: bytes, offset: int = 0, depth: int = 0) -> TLV:
    """Read the element at `offset`; indefinite lengths are resolved by walking children."""
    if depth > MAX_DEPTH:
        raise ProtocolError("malformed BER", "nesting too deep")
    tag_class, constructed, number, pos = _read_identifier(data, offset)
    identifier = data[offset:pos]
    if pos >= len(data):
        raise ProtocolError("malformed BER", "truncated length")
    first = data[pos]
    pos += 1
    if first == 0x80:
        if not constructed:
            raise ProtocolError("malformed BER", "indefinite length on a primitive element")
        start = pos
        while True:
            if data[pos : pos + 2] == b"\x00\x00":
                return TLV(tag_class, True, number, identifier, data[start:pos], pos + 2, True)
            pos = read_tlv(data, pos, depth + 1).end
    if first & 0x80:
        count = first & 0x7F
        if count > 8 or pos + count > len(data):
            raise ProtocolError("malformed BER", "invalid length field")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > len(data):
        raise ProtocolError("malformed BER", "element extends past the end of the input")
    return TLV(
        tag_class, constructed, number, identifier, data[pos : pos + length], pos + length, False
    )


def children(content: bytes, depth: int = 0) -> list[TLV]:
    """Split the content of a constructed element into its elements."""
    items = []
    offset = 0
    while offset < len(content):
        item = read_tlv(content, offset, depth + 1)
        items.append(item)
        offset = item.end
    return items


def string_value(element: TLV, depth: int = 0) -> bytes:
    """Return the bytes of a string element, joining the segments of a constructed one."""
    if not element.constructed:
        return element.content
    return b"".join(string_value(child, depth + 1) for child in children(element.content, depth))


def _rewrite(data: bytes, offset: int, depth: int) -> tuple[bytes, int]:
    element = read_tlv(data, offset, depth)
    original = data[offset : element.end]
    if not element.constructed:
        return original, element.end
    if element.tag_class == 0 and element.tag_number in _STRING_TAGS:
        value = string_value(element, depth)
        identifier = bytes([element.identifier[0] & ~0x20]) + element.identifier[1:]
        return identifier + der_length(len(value)) + value, element.end
    parts = []
    pos = 0
    changed = element.indefinite
    while pos < len(element.content):
        part, next_pos = _rewrite(element.content, pos, depth + 1)
        changed = changed or part != element.content[pos:next_pos]
        parts.append(part)
        pos = next_pos
    if not changed:
        return original, element.end
    body = b"".join(parts)
    return element.identifier + der_length(len(body)) + body, element.end


def to_der(data: bytes) -> bytes:
    """Rewrite one BER element so asn1crypto can parse it; raise ProtocolError if malformed.

    Trailing bytes after the element are rejected.
    """
    try:
        rewritten, end = _rewrite(data, 0, 0)
    except IndexError as exc:
        raise ProtocolError("malformed BER", "truncated input") from exc
    if end != len(data):
        raise ProtocolError("malformed BER", f"{len(data) - end} bytes after the element")
    return rewritten


def load_content_info(data: bytes, expected_type: str, parse_all: bool = True) -> cms.ContentInfo:
    """Parse a ContentInfo (BER or DER) and check its content type, such as ``signed_data``.

    With `parse_all`, the whole structure is parsed now so that malformed input
    raises here.  EnvelopedData skips it because its encryptedContent may be
    constructed, which asn1crypto cannot parse.
    """
    try:
        info = cms.ContentInfo.load(to_der(data), strict=True)
        content_type = info["content_type"].native
        if content_type != expected_type:
            raise ProtocolError("unexpected CMS content type", str(content_type))
        content = info["content"]
        if parse_all:
            content.native  # noqa: B018 - parse everything so malformed input raises here
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ProtocolError("malformed CMS message", str(exc)) from exc
    return info
