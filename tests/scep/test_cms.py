"""Tests for the BER rewriter and the CMS primitives."""

from __future__ import annotations

import pytest
from asn1crypto import core

from agent.scep import attributes as attrs
from agent.scep import ber, cms
from agent.scep.errors import ProtocolError
from tests.scep.conftest import PKIFactory


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + ber.der_length(len(body)) + body


def test_to_der_keeps_der_unchanged() -> None:
    der = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, b"abc"))

    assert ber.to_der(der) == der


def test_to_der_resolves_indefinite_length() -> None:
    indefinite = b"\x30\x80" + _tlv(0x02, b"\x05") + b"\x00\x00"

    assert ber.to_der(indefinite) == _tlv(0x30, _tlv(0x02, b"\x05"))


def test_to_der_joins_constructed_octet_string() -> None:
    constructed = b"\x24\x80" + _tlv(0x04, b"ab") + _tlv(0x04, b"cd") + b"\x00\x00"

    assert ber.to_der(_tlv(0x30, constructed)) == _tlv(0x30, _tlv(0x04, b"abcd"))


@pytest.mark.parametrize(
    "data",
    [b"", b"\x30", b"\x30\x05\x02", b"\x30\x80\x02\x01\x01", b"\x04\x80\x00\x00", b"\x30\x00\x00"],
    ids=["empty", "no-length", "short", "no-end-of-contents", "indefinite-primitive", "trailing"],
)
def test_to_der_rejects_malformed(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ber.to_der(data)


def test_to_der_rejects_deep_nesting() -> None:
    data = b"\x30\x80" * 100 + b"\x00\x00" * 100

    with pytest.raises(ProtocolError, match="nesting"):
        ber.to_der(data)


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_signed_data_round_trip(pki: PKIFactory, digest: str) -> None:
    signer = pki.issue("signer")
    extra = [
        *attrs.scep_attributes(attrs.MessageType.CERT_REP, "tx-1", b"s" * 16, b"r" * 16),
        (attrs.NDES_HRESULT, core.PrintableString("-2147024809")),
    ]

    data = cms.build_signed_data(b"payload", signer.certificate, signer.key, digest, extra)
    message = cms.verify_signed_data(data)

    assert message.content == b"payload"
    assert message.digest_algorithm == digest
    assert message.signer == signer.certificate
    assert attrs.text_value(message.attributes, attrs.TRANSACTION_ID) == "tx-1"
    assert attrs.text_value(message.attributes, attrs.MESSAGE_TYPE) == "3"
    assert attrs.octets_value(message.attributes, attrs.SENDER_NONCE) == b"s" * 16
    assert attrs.octets_value(message.attributes, attrs.RECIPIENT_NONCE) == b"r" * 16
    assert attrs.text_value(message.attributes, attrs.NDES_HRESULT) == "-2147024809"


def test_signed_data_signer_from_caller(pki: PKIFactory) -> None:
    signer = pki.issue("ra")
    data = cms.build_signed_data(b"x", signer.certificate, signer.key)
    info = ber.load_content_info(data, "signed_data")
    info["content"]["certificates"] = []
    stripped = info.dump(force=True)

    with pytest.raises(ProtocolError, match="signer certificate not found"):
        cms.verify_signed_data(stripped)
    assert cms.verify_signed_data(stripped, [signer.certificate]).content == b"x"


def test_signed_data_detects_changed_content(pki: PKIFactory) -> None:
    signer = pki.issue("signer")
    data = cms.build_signed_data(b"original", signer.certificate, signer.key)

    tampered = data.replace(b"original", b"modified")

    with pytest.raises(ProtocolError, match="messageDigest"):
        cms.verify_signed_data(tampered)


def test_signed_data_detects_bad_signature(pki: PKIFactory) -> None:
    signer = pki.issue("signer")
    data = cms.build_signed_data(b"x", signer.certificate, signer.key)
    info = ber.load_content_info(data, "signed_data")
    signer_info = info["content"]["signer_infos"][0]
    signature = bytearray(signer_info["signature"].native)
    signature[10] ^= 1
    signer_info["signature"] = bytes(signature)

    with pytest.raises(ProtocolError, match="invalid signature"):
        cms.verify_signed_data(info.dump(force=True))


def test_signed_data_wrong_signer_certificate(pki: PKIFactory) -> None:
    signer = pki.issue("signer")
    impostor = pki.issue("impostor")
    data = cms.build_signed_data(b"x", signer.certificate, impostor.key)

    with pytest.raises(ProtocolError, match="invalid signature"):
        cms.verify_signed_data(data)


@pytest.mark.parametrize("cipher", list(cms.ContentCipher))
@pytest.mark.parametrize("transport", list(cms.KeyTransport))
def test_enveloped_data_round_trip(
    pki: PKIFactory, cipher: cms.ContentCipher, transport: cms.KeyTransport
) -> None:
    recipient = pki.issue("recipient")
    content = bytes(range(256)) * 3

    data = cms.build_enveloped_data(content, recipient.certificate, cipher, transport)

    assert cms.open_enveloped_data(data, recipient.key, recipient.certificate) == content
    assert cms.open_enveloped_data(data, recipient.key) == content


def test_enveloped_data_constructed_content(pki: PKIFactory) -> None:
    recipient = pki.issue("recipient")
    data = cms.build_enveloped_data(b"secret" * 20, recipient.certificate)
    info = ber.load_content_info(data, "enveloped_data", parse_all=False)
    enveloped = info["content"]
    ciphertext = enveloped["encrypted_content_info"]["encrypted_content"].native
    segments = _tlv(0x04, ciphertext[:16]) + _tlv(0x04, ciphertext[16:])
    primitive = b"\x80" + ber.der_length(len(ciphertext)) + ciphertext
    constructed = b"\xa0\x80" + segments + b"\x00\x00"
    ber_data = _reencode_indefinite(data, primitive, constructed)

    assert ber_data != data
    assert cms.open_enveloped_data(ber_data, recipient.key) == b"secret" * 20


def _reencode_indefinite(der: bytes, primitive: bytes, constructed: bytes) -> bytes:
    """Rebuild the ContentInfo with indefinite lengths and `constructed` for `primitive`."""
    outer = ber.read_tlv(der)
    explicit = ber.children(outer.content)[1]
    enveloped = ber.read_tlv(explicit.content)
    parts = ber.children(enveloped.content)
    info = parts[2]
    info_body = info.content.replace(primitive, constructed)
    new_info = b"\x30\x80" + info_body + b"\x00\x00"
    head = b"".join(p.identifier + ber.der_length(len(p.content)) + p.content for p in parts[:2])
    new_enveloped = b"\x30\x80" + head + new_info + b"\x00\x00"
    oid = ber.children(outer.content)[0]
    oid_bytes = oid.identifier + ber.der_length(len(oid.content)) + oid.content
    return b"\x30\x80" + oid_bytes + b"\xa0\x80" + new_enveloped + b"\x00\x00" + b"\x00\x00"


def test_enveloped_data_wrong_key(pki: PKIFactory) -> None:
    recipient = pki.issue("recipient")
    other = pki.issue("other")
    data = cms.build_enveloped_data(b"secret", recipient.certificate)

    with pytest.raises(ProtocolError, match="cannot decrypt"):
        cms.open_enveloped_data(data, other.key, other.certificate)


def test_certs_only_round_trip(pki: PKIFactory) -> None:
    first = pki.issue("first").certificate
    second = pki.issue("second").certificate

    assert cms.parse_certs_only(cms.build_certs_only([first, second])) == [first, second]


def test_read_signed_data_needs_no_signer(pki: PKIFactory) -> None:
    signer = pki.issue("signer")
    extra = attrs.scep_attributes(attrs.MessageType.PKCS_REQ, "tx-2")
    data = cms.build_signed_data(b"c", signer.certificate, signer.key, attributes=extra)

    content, attributes = cms.read_signed_data(data)

    assert content == b"c"
    assert attrs.text_value(attributes, attrs.TRANSACTION_ID) == "tx-2"


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("0", "badAlg"),
        ("1", "badMessageCheck"),
        ("2", "badRequest"),
        ("3", "badTime"),
        ("4", "badCertId"),
        ("25", "25"),
    ],
)
def test_fail_info_labels(code: str, label: str) -> None:
    fail_info = attrs.FailInfo(code)

    assert fail_info.value == code
    assert fail_info.label == label
