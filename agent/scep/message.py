"""SCEP pkiMessage building and CertRep parsing (RFC 8894 §3): a pure core without I/O."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agent.scep import attributes as attrs
from agent.scep import cms
from agent.scep.algorithms import ContentCipher
from agent.scep.attributes import FailInfo, MessageType, PKIStatus
from agent.scep.ber import der_length
from agent.scep.cacerts import TrustedCA
from agent.scep.errors import ProtocolError
from agent.scep.names import subject_text

NONCE_SIZE = 16


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Request parameters needed to check and decrypt the reply."""

    transaction_id: str
    sender_nonce: bytes
    signer_certificate: x509.Certificate
    signer_key: rsa.RSAPrivateKey = field(repr=False)
    public_key_der: bytes
    """SubjectPublicKeyInfo of the key being certified, to pick the issued certificate."""
    serial_number: int | None = None
    """For GetCert: the serial number of the requested certificate, picked instead."""


@dataclass(frozen=True, slots=True)
class CertRep:
    """A verified CertRep reply."""

    pki_status: PKIStatus
    fail_info: FailInfo | None = None
    fail_info_text: str | None = None
    hresult: str | None = None
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()


def new_nonce() -> bytes:
    """Return a random 16-byte senderNonce."""
    return os.urandom(NONCE_SIZE)


def issuer_and_subject(issuer_der: bytes, subject_der: bytes) -> bytes:
    """Encode the CertPoll payload IssuerAndSubject (RFC 8894 §3.3.3) from two Name DERs."""
    body = issuer_der + subject_der
    return b"\x30" + der_length(len(body)) + body


def check_name_der(der: bytes) -> None:
    """Raise ValueError unless `der` is exactly one DER X.501 Name."""
    try:
        name = asn1_x509.Name.load(der, strict=True)
        name.native  # noqa: B018  # asn1crypto parses lazily; this forces the whole parse.
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid name DER: {exc}") from exc


def issuer_and_serial(issuer: x509.Name, serial_number: int) -> bytes:
    """Encode the GetCert payload IssuerAndSerialNumber (RFC 8894 §3.3.4)."""
    return asn1_cms.IssuerAndSerialNumber(
        {"issuer": asn1_x509.Name.load(issuer.public_bytes()), "serial_number": serial_number}
    ).dump()


def build_pki_message(
    message_type: MessageType,
    payload: bytes,
    recipient: x509.Certificate,
    cipher: ContentCipher,
    digest_algorithm: str,
    context: RequestContext,
) -> bytes:
    """Encrypt `payload` to the CA's recipient and sign it as a pkiMessage (RFC 8894 §3.2)."""
    envelope = cms.build_enveloped_data(payload, recipient, cipher)
    attributes = attrs.scep_attributes(
        message_type, context.transaction_id, sender_nonce=context.sender_nonce
    )
    return cms.build_signed_data(
        envelope,
        context.signer_certificate,
        context.signer_key,
        digest_algorithm,
        attributes,
    )


def _check_correlation(message: cms.SignedMessage, context: RequestContext) -> None:
    message_type = attrs.text_value(message.attributes, attrs.MESSAGE_TYPE)
    if message_type != MessageType.CERT_REP:
        raise ProtocolError("reply is not a CertRep", f"messageType {message_type}")
    transaction_id = attrs.text_value(message.attributes, attrs.TRANSACTION_ID)
    if transaction_id != context.transaction_id:
        raise ProtocolError(
            "transactionID mismatch", f"sent {context.transaction_id}, got {transaction_id}"
        )
    # RFC 8894 §3.2.1.5: recipientNonce echoes our senderNonce.  The reply's own
    # senderNonce is not checked because servers omit it or send other sizes.
    recipient_nonce = attrs.octets_value(message.attributes, attrs.RECIPIENT_NONCE)
    if recipient_nonce != context.sender_nonce:
        got = recipient_nonce.hex() if recipient_nonce is not None else "none"
        raise ProtocolError(
            "recipientNonce mismatch", f"sent {context.sender_nonce.hex()}, got {got}"
        )


def _pki_status(message: cms.SignedMessage) -> PKIStatus:
    text = attrs.text_value(message.attributes, attrs.PKI_STATUS)
    if text is None:
        raise ProtocolError("pkiStatus attribute missing")
    try:
        return PKIStatus(text.strip())
    except ValueError:
        raise ProtocolError("invalid pkiStatus", repr(text)) from None


def _failure(message: cms.SignedMessage) -> CertRep:
    code = attrs.text_value(message.attributes, attrs.FAIL_INFO)
    return CertRep(
        PKIStatus.FAILURE,
        fail_info=FailInfo(code.strip()) if code is not None else None,
        fail_info_text=attrs.text_value(message.attributes, attrs.FAIL_INFO_TEXT),
        hresult=attrs.text_value(message.attributes, attrs.NDES_HRESULT),
    )


def _issued(message: cms.SignedMessage, context: RequestContext) -> CertRep:
    if not message.content:
        raise ProtocolError("SUCCESS reply without a pkcsPKIEnvelope")
    inner = cms.open_enveloped_data(message.content, context.signer_key, context.signer_certificate)
    certificates = cms.parse_certs_only(inner)
    if context.serial_number is not None:
        ours = [c for c in certificates if c.serial_number == context.serial_number]
        wanted = f"serial {context.serial_number:x}"
    else:
        ours = [c for c in certificates if _spki(c) == context.public_key_der]
        wanted = "our key"
    if not ours:
        raise ProtocolError(
            f"SUCCESS reply without a certificate for {wanted}",
            f"{len(certificates)} certificates in the reply",
        )
    chain = tuple(c for c in certificates if c is not ours[0])
    return CertRep(PKIStatus.SUCCESS, certificate=ours[0], chain=chain)


def _spki(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def parse_cert_rep(
    data: bytes,
    trusted: TrustedCA,
    context: RequestContext,
    extra_certificates: Sequence[x509.Certificate] = (),
) -> CertRep:
    """Verify a CertRep against the trusted CA and the request, and decrypt what it issued.

    The signer certificate may be embedded in the reply or be looked up in the
    GetCACert certificates, but it must be one of the GetCACert certificates.
    """
    message = cms.verify_signed_data(data, [*trusted.certificates, *extra_certificates])
    try:
        return _interpret(message, trusted, context)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # Raised by cryptography for malformed certificates inside the reply.
        raise ProtocolError("malformed certificate in CertRep", str(exc)) from exc


def _interpret(message: cms.SignedMessage, trusted: TrustedCA, context: RequestContext) -> CertRep:
    if not trusted.is_trusted_signer(message.signer):
        raise ProtocolError("CertRep signer is not trusted", subject_text(message.signer))
    _check_correlation(message, context)
    status = _pki_status(message)
    if status is PKIStatus.FAILURE:
        return _failure(message)
    if status is PKIStatus.PENDING:
        return CertRep(PKIStatus.PENDING)
    return _issued(message, context)
