"""The OpenSSL subject name hash, as `openssl x509 -hash` prints it.

OpenSSL (1.0.0 and later, `X509_NAME_hash_ex`) hashes a canonical encoding of
the name with SHA-1 and prints the first four digest bytes read as a
little-endian 32-bit integer.  The canonical encoding (`x509_name_canon` in
crypto/x509/x_name.c) concatenates the RDN SETs without the outer SEQUENCE.
In it, every string value of a text type becomes a UTF8String with ASCII
letters lower-cased and leading and trailing whitespace removed.  Each inner
run of whitespace becomes one space.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from cryptography import x509

if TYPE_CHECKING:
    from asn1crypto import core
    from asn1crypto import x509 as asn1_x509

# Universal tags that OpenSSL converts to UTF-8 and folds (ASN1_MASK_CANON).
_CANON_TAGS = frozenset({12, 19, 20, 22, 26, 28, 30})
_UTF8_STRING_TAG = 12
# ossl_isspace: space, \t, \n, \v, \f and \r.
_ASCII_SPACE = frozenset(b" \t\n\v\f\r")


def subject_hash(certificate: x509.Certificate) -> str:
    """Return the subject hash of a certificate as eight lower-case hex digits."""
    return name_hash(certificate.subject.public_bytes())


def name_hash(name_der: bytes) -> str:
    """Return the OpenSSL hash of a DER-encoded X.501 Name."""
    digest = hashlib.sha1(canonical_name(name_der), usedforsecurity=False).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def canonical_name(name_der: bytes) -> bytes:
    """Return OpenSSL's canonical encoding of a DER-encoded Name."""
    # Imported here because an agent with no CA rows never needs asn1crypto.
    from asn1crypto import x509 as asn1_x509

    name = asn1_x509.Name.load(name_der)
    sequence = name.chosen
    encoded = bytearray()
    for rdn in sequence:
        entries = [_canonical_entry(attribute) for attribute in rdn]
        encoded += _der_set_of(entries)
    return bytes(encoded)


def _canonical_entry(attribute: asn1_x509.NameTypeAndValue) -> bytes:
    from asn1crypto import core

    oid = core.ObjectIdentifier(attribute["type"].dotted).dump()
    value = _canonical_value(attribute["value"])
    return _der_tlv(0x30, oid + value)


def _canonical_value(value: core.Asn1Value) -> bytes:
    # Re-read the original encoding generically, because asn1crypto maps
    # known attribute types to CHOICE classes and unknown ones to Any.
    from asn1crypto import core

    raw = value.dump()
    generic = core.load(raw)
    tag = generic.tag
    contents = generic.contents or b""
    if generic.class_ != 0 or tag not in _CANON_TAGS:
        return raw
    return _der_tlv(_UTF8_STRING_TAG, _fold(_to_utf8(tag, contents)))


def _to_utf8(tag: int, contents: bytes) -> bytes:
    if tag == 30:  # BMPString
        return contents.decode("utf-16-be", errors="replace").encode("utf-8")
    if tag == 28:  # UniversalString
        return contents.decode("utf-32-be", errors="replace").encode("utf-8")
    if tag == 20:  # T61String, which OpenSSL reads as Latin-1
        return contents.decode("latin-1").encode("utf-8")
    return contents


def _fold(text: bytes) -> bytes:
    start, end = 0, len(text)
    while start < end and text[start] in _ASCII_SPACE:
        start += 1
    while end > start and text[end - 1] in _ASCII_SPACE:
        end -= 1
    folded = bytearray()
    index = start
    while index < end:
        byte = text[index]
        if byte in _ASCII_SPACE:
            folded.append(0x20)
            while index < end and text[index] in _ASCII_SPACE:
                index += 1
            continue
        folded.append(byte + 32 if 0x41 <= byte <= 0x5A else byte)
        index += 1
    return bytes(folded)


def _der_set_of(elements: list[bytes]) -> bytes:
    # X.690 §11.6: DER sorts the encodings of SET OF elements.
    return _der_tlv(0x31, b"".join(sorted(elements)))


def _der_tlv(tag: int, contents: bytes) -> bytes:
    length = len(contents)
    if length < 0x80:
        header = bytes([tag, length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(size)]) + size
    return header + contents
