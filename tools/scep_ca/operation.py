"""PKIOperation: verify and decrypt a pkiMessage, ask the CA, and build the CertRep.

The CMS work is done by `agent.scep.cms`, the same code the SCEP client uses.
Reply faults that break the CMS reply (nonce, transactionID, signature,
certificates) are applied here.
"""

from __future__ import annotations

import dataclasses
import logging

from asn1crypto import cms
from cryptography import x509

from agent.scep import ber
from agent.scep.attributes import (
    MESSAGE_TYPE,
    SENDER_NONCE,
    TRANSACTION_ID,
    FailInfo,
    MessageType,
    PKIStatus,
    octets_value,
    text_value,
)
from agent.scep.cms import SignedMessage, open_enveloped_data, verify_signed_data
from agent.scep.envelope import ContentCipher
from agent.scep.errors import ProtocolError
from tools.scep_ca.authority import CertificateAuthority, Outcome
from tools.scep_ca.certrep import ReplyContext, build_cert_rep
from tools.scep_ca.faults import FaultSettings
from tools.scep_ca.personality import EnrollmentRequest

logger = logging.getLogger(__name__)

# asn1crypto names of content-encryption algorithms that `agent.scep.envelope` handles.
_REQUEST_CIPHERS = {
    "aes128_cbc": ContentCipher.AES128_CBC,
    "aes256_cbc": ContentCipher.AES256_CBC,
    "tripledes_3key": ContentCipher.TRIPLE_DES_CBC,
    "des": ContentCipher.DES_CBC,
}


def request_cipher(envelope: bytes) -> ContentCipher | None:
    """Return the content cipher of a request's EnvelopedData, or None if unsupported."""
    # parse_all=False, because a constructed (BER) encryptedContent fails full parsing.
    info = ber.load_content_info(envelope, "enveloped_data", parse_all=False)
    try:
        algorithm = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
        return _REQUEST_CIPHERS.get(algorithm["algorithm"].native)
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError("malformed pkcsPKIEnvelope", str(exc)) from exc


def handle_pki_operation(
    authority: CertificateAuthority, body: bytes, faults: FaultSettings
) -> bytes:
    """Handle one pkiMessage and return the DER CertRep.

    Raises ProtocolError when the message cannot be parsed or its signature is invalid.
    """
    try:
        message = verify_signed_data(body)
    except ProtocolError as exc:
        unverified = _unverified_context(body) if exc.problem in _SIGNATURE_PROBLEMS else None
        if unverified is None:
            raise
        # failInfo badMessageCheck means that the integrity check failed (RFC 8894).
        logger.warning("pkiMessage %s rejected: %s", unverified.transaction_id, exc)
        outcome = Outcome(PKIStatus.FAILURE, fail_info=FailInfo.BAD_MESSAGE_CHECK)
        return build_cert_rep(authority, outcome, unverified, faults)
    message_type = _message_type(message)
    transaction_id = text_value(message.attributes, TRANSACTION_ID)
    if transaction_id is None:
        raise ProtocolError("transactionID attribute missing")
    context = ReplyContext(
        transaction_id,
        octets_value(message.attributes, SENDER_NONCE),
        message.signer,
        message.digest_algorithm,
        ContentCipher.AES128_CBC,
    )
    try:
        outcome, context = _dispatch(authority, message, message_type, context)
    except ProtocolError as exc:
        logger.warning("pkiMessage %s rejected: %s", transaction_id, exc)
        outcome = Outcome(PKIStatus.FAILURE, fail_info=_fail_info_for(exc))
    return build_cert_rep(authority, outcome, context, faults)


_SIGNATURE_PROBLEMS = frozenset({"invalid signature", "messageDigest does not match the content"})


def _unverified_context(body: bytes) -> ReplyContext | None:
    """Read transactionID, senderNonce and digest from a message whose signature failed."""
    try:
        signer_info = ber.load_content_info(body, "signed_data")["content"]["signer_infos"][0]
        attributes = {
            attribute["type"].dotted: [value.dump() for value in attribute["values"]]
            for attribute in signer_info["signed_attrs"]
        }
        transaction_id = text_value(attributes, TRANSACTION_ID)
        sender_nonce = octets_value(attributes, SENDER_NONCE)
        digest_algorithm = signer_info["digest_algorithm"]["algorithm"].native
    except (ProtocolError, ValueError, KeyError, IndexError, TypeError):
        return None
    if transaction_id is None:
        return None
    return ReplyContext(
        transaction_id, sender_nonce, None, digest_algorithm, ContentCipher.AES128_CBC
    )


def _message_type(message: SignedMessage) -> MessageType:
    value = text_value(message.attributes, MESSAGE_TYPE)
    if value is None:
        raise ProtocolError("messageType attribute missing")
    try:
        return MessageType(value)
    except ValueError:
        raise ProtocolError("unsupported messageType", str(value)) from None


def _fail_info_for(error: ProtocolError) -> FailInfo:
    if error.problem.startswith("unsupported content encryption"):
        return FailInfo.BAD_ALG
    return FailInfo.BAD_MESSAGE_CHECK


def _dispatch(
    authority: CertificateAuthority,
    message: SignedMessage,
    message_type: MessageType,
    context: ReplyContext,
) -> tuple[Outcome, ReplyContext]:
    envelope = message.content or b""
    cipher = request_cipher(envelope)
    if cipher is None:
        raise ProtocolError("unsupported content encryption", "in the request")
    context = dataclasses.replace(context, cipher=authority.reply_cipher or cipher)
    decrypter = authority.hierarchy.request_decrypter
    inner = open_enveloped_data(envelope, decrypter.private_key, decrypter.certificate)
    handler = _HANDLERS.get(message_type)
    if handler is None:
        logger.info("messageType %s is not supported", message_type.name)
        return Outcome(PKIStatus.FAILURE, fail_info=FailInfo.BAD_REQUEST), context
    return handler(authority, message, message_type, context, inner), context


def _enroll(
    authority: CertificateAuthority,
    message: SignedMessage,
    message_type: MessageType,
    context: ReplyContext,
    inner: bytes,
) -> Outcome:
    try:
        csr = x509.load_der_x509_csr(inner)
    except ValueError as exc:
        raise ProtocolError("malformed PKCS#10 request", str(exc)) from exc
    if not csr.is_signature_valid:
        raise ProtocolError("PKCS#10 signature is invalid")
    request = EnrollmentRequest(message_type, context.transaction_id, csr, message.signer)
    return authority.enroll(request)


def _poll(
    authority: CertificateAuthority,
    message: SignedMessage,
    message_type: MessageType,
    context: ReplyContext,
    inner: bytes,
) -> Outcome:
    return authority.poll(context.transaction_id)


def _get_cert(
    authority: CertificateAuthority,
    message: SignedMessage,
    message_type: MessageType,
    context: ReplyContext,
    inner: bytes,
) -> Outcome:
    try:
        serial_number = cms.IssuerAndSerialNumber.load(inner)["serial_number"].native
    except ValueError as exc:
        raise ProtocolError("malformed IssuerAndSerialNumber", str(exc)) from exc
    certificate = authority.find_certificate(serial_number)
    if certificate is None:
        return Outcome(PKIStatus.FAILURE, fail_info=FailInfo.BAD_CERT_ID)
    return Outcome(PKIStatus.SUCCESS, certificate)


_HANDLERS = {
    MessageType.PKCS_REQ: _enroll,
    MessageType.RENEWAL_REQ: _enroll,
    MessageType.CERT_POLL: _poll,
    MessageType.GET_CERT: _get_cert,
}
