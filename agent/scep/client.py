"""SCEP client facade: GetCACaps, GetCACert, PKCSReq, RenewalReq and CertPoll over HTTP."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agent.scep import ber
from agent.scep.algorithms import CONNECT_TIMEOUT, READ_TIMEOUT, ContentCipher, RenewRequest
from agent.scep.attributes import MessageType, PKIStatus
from agent.scep.cacerts import CACertificates, TrustedCA, parse_ca_certificates
from agent.scep.capabilities import Capabilities, parse_capabilities
from agent.scep.csr import (
    build_csr,
    private_key_pem,
    self_signed_signer,
    transaction_id_for,
)
from agent.scep.errors import CARejected, InvalidInput, ProtocolError, TransportError
from agent.scep.message import (
    CertRep,
    RequestContext,
    build_pki_message,
    check_name_der,
    issuer_and_serial,
    issuer_and_subject,
    new_nonce,
    parse_cert_rep,
)
from agent.scep.names import subject_of
from agent.scep.transport import HTTPTransport
from agent.scep.urls import display_url

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EnrollmentRequest:
    """A PKCSReq or RenewalReq to send: the CSR, its key and the key that signs the message."""

    private_key: rsa.RSAPrivateKey = field(repr=False)
    csr: x509.CertificateSigningRequest
    signer_certificate: x509.Certificate
    signer_key: rsa.RSAPrivateKey = field(repr=False)
    message_type: MessageType = MessageType.PKCS_REQ
    cipher: ContentCipher = ContentCipher.AES128_CBC

    @property
    def transaction_id(self) -> str:
        """The transactionID, derived from the public key being certified."""
        return transaction_id_for(self.private_key.public_key())


def prepare_enrollment(
    private_key: rsa.RSAPrivateKey,
    dn: str,
    sans: tuple[str | x509.GeneralName, ...] = (),
    challenge_password: str | None = None,
    profile: str | None = None,
    cipher: ContentCipher = ContentCipher.AES128_CBC,
) -> EnrollmentRequest:
    """Build a first-enrollment PKCSReq signed by a self-signed certificate over `private_key`."""
    csr = build_csr(private_key, dn, sans, challenge_password, profile)
    signer = self_signed_signer(private_key, csr.subject)
    return EnrollmentRequest(private_key, csr, signer, private_key, MessageType.PKCS_REQ, cipher)


@dataclass(frozen=True, slots=True)
class PendingTransaction:
    """The state that CertPoll needs after a restart: transactionID, signer and request.

    The request is the PKCS#10 DER as sent, so it contains the challenge
    password, next to the signer's private key.  Store the JSON like a key
    file (mode 0600) and never log it.  The repr leaves out the key and the
    request.
    """

    transaction_id: str
    subject_der: bytes
    """DER of the requested subject, for the CertPoll IssuerAndSubject."""
    public_key_der: bytes
    signer_certificate: x509.Certificate
    signer_key: rsa.RSAPrivateKey = field(repr=False)
    message_type: MessageType = MessageType.PKCS_REQ
    cipher: ContentCipher = ContentCipher.AES128_CBC
    request_der: bytes = field(default=b"", repr=False)
    """DER of the PKCS#10 request as sent, or empty for GetCert and older saved files."""
    issuer_der: bytes = b""
    """DER of the issuing CA's name when the request was sent, or empty if unknown."""

    @classmethod
    def for_request(cls, request: EnrollmentRequest, ca: TrustedCA) -> PendingTransaction:
        """Return the transaction of a PKCSReq or RenewalReq sent to `ca`."""
        return cls(
            transaction_id=request.transaction_id,
            subject_der=request.csr.subject.public_bytes(),
            public_key_der=_spki(request.private_key.public_key()),
            signer_certificate=request.signer_certificate,
            signer_key=request.signer_key,
            message_type=request.message_type,
            cipher=request.cipher,
            request_der=request.csr.public_bytes(Encoding.DER),
            issuer_der=subject_of(ca.issuing_ca).public_bytes(),
        )

    def poll_names(self, ca: TrustedCA) -> tuple[bytes, bytes]:
        """Return the issuer and subject name DER that CertPoll names (RFC 8894 §3.3.3).

        Both come from the stored request when there is one, so a poll after
        a restart names what the request named, even if the CA has changed.
        """
        issuer_der = self.issuer_der or subject_of(ca.issuing_ca).public_bytes()
        subject_der = self.subject_der
        if self.request_der:
            subject_der = x509.load_der_x509_csr(self.request_der).subject.public_bytes()
        return issuer_der, subject_der

    def to_json(self) -> str:
        """Serialize to JSON, with the key and certificate in PEM and the DER values in hex."""
        return json.dumps(
            {
                "transaction_id": self.transaction_id,
                "subject": self.subject_der.hex(),
                "public_key": self.public_key_der.hex(),
                "signer_certificate": self.signer_certificate.public_bytes(Encoding.PEM).decode(),
                "signer_key": private_key_pem(self.signer_key).decode("ascii"),
                "message_type": self.message_type.value,
                "cipher": self.cipher.value,
                "request": self.request_der.hex(),
                "issuer": self.issuer_der.hex(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PendingTransaction:
        """Load a transaction saved with `to_json`; raise ProtocolError if it is invalid."""
        try:
            data: dict[str, Any] = json.loads(text)
            key = serialization.load_pem_private_key(data["signer_key"].encode(), None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise TypeError("signer key is not RSA")
            request_der = bytes.fromhex(data.get("request", ""))
            issuer_der = bytes.fromhex(data.get("issuer", ""))
            if request_der:
                x509.load_der_x509_csr(request_der)
            if issuer_der:
                check_name_der(issuer_der)
            return cls(
                transaction_id=str(data["transaction_id"]),
                subject_der=bytes.fromhex(data["subject"]),
                public_key_der=bytes.fromhex(data["public_key"]),
                signer_certificate=x509.load_pem_x509_certificate(
                    data["signer_certificate"].encode()
                ),
                signer_key=key,
                message_type=MessageType(data["message_type"]),
                cipher=ContentCipher(data["cipher"]),
                request_der=request_der,
                issuer_der=issuer_der,
            )
        except (ValueError, KeyError, TypeError, AttributeError, x509.InvalidVersion) as exc:
            raise ProtocolError("invalid saved pending transaction", str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Issued:
    """The CA issued the certificate."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True, slots=True)
class Pending:
    """The CA keeps the request for approval; poll with `SCEPClient.poll`."""

    transaction: PendingTransaction


def _spki(public_key: rsa.RSAPublicKey) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _looks_like_cms(body: bytes) -> bool:
    """Return whether `body` starts like a ContentInfo: a SEQUENCE whose first element is an OID."""
    try:
        outer = ber.read_tlv(body)
        first = ber.read_tlv(outer.content)
    except ProtocolError:
        return False
    return outer.identifier == b"\x30" and first.identifier == b"\x06"


class SCEPClient:
    """Synchronous SCEP client for one server URL; the daemon runs it in a thread."""

    def __init__(
        self,
        url: str,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.transport = HTTPTransport(url, connect_timeout, read_timeout, session)

    def get_ca_caps(self) -> Capabilities:
        """Send GetCACaps; a failed request gives empty capabilities (RFC 8894 §3.5.1)."""
        try:
            reply = self.transport.get("GetCACaps")
        except TransportError as exc:
            logger.warning("GetCACaps failed, continuing without capabilities: %s", exc)
            return Capabilities()
        return parse_capabilities(reply.body)

    def get_ca_cert(self, ca_identifier: str | None = None) -> CACertificates:
        """Send GetCACert and parse the certificates; raise TransportError or TrustError."""
        message = None if ca_identifier is None else quote(ca_identifier, safe="")
        reply = self.transport.get("GetCACert", message)
        return parse_ca_certificates(reply.body)

    def enroll(
        self, ca: TrustedCA, caps: Capabilities, request: EnrollmentRequest
    ) -> Issued | Pending:
        """Send a PKCSReq or RenewalReq and return the issued certificate or the pending state."""
        transaction = PendingTransaction.for_request(request, ca)
        return self._exchange(ca, caps, request.message_type, transaction.request_der,
                              transaction)

    def poll(
        self, ca: TrustedCA, caps: Capabilities, pending: PendingTransaction
    ) -> Issued | Pending:
        """Send a CertPoll (GetCertInitial) with the pending request's transactionID and signer."""
        payload = issuer_and_subject(*pending.poll_names(ca))
        return self._exchange(ca, caps, MessageType.CERT_POLL, payload, pending)

    def get_cert(
        self,
        ca: TrustedCA,
        caps: Capabilities,
        serial_number: int,
        signer_certificate: x509.Certificate,
        signer_key: rsa.RSAPrivateKey,
        issuer: x509.Name | None = None,
    ) -> x509.Certificate:
        """Fetch an issued certificate by serial number with GetCert (RFC 8894 §3.3.4).

        The issuer defaults to the issuing CA.  Raise ProtocolError if the CA
        replies PENDING, which GetCert does not allow.
        """
        issuer_name = issuer if issuer is not None else subject_of(ca.issuing_ca)
        transaction = PendingTransaction(
            transaction_id=transaction_id_for(signer_key.public_key()),
            subject_der=b"",
            public_key_der=b"",
            signer_certificate=signer_certificate,
            signer_key=signer_key,
            message_type=MessageType.GET_CERT,
        )
        payload = issuer_and_serial(issuer_name, serial_number)
        result = self._exchange(ca, caps, MessageType.GET_CERT, payload, transaction, serial_number)
        if not isinstance(result, Issued):
            raise ProtocolError("GetCert reply is PENDING")
        return result.certificate

    def _exchange(
        self,
        ca: TrustedCA,
        caps: Capabilities,
        message_type: MessageType,
        payload: bytes,
        transaction: PendingTransaction,
        serial_number: int | None = None,
    ) -> Issued | Pending:
        context = RequestContext(
            transaction.transaction_id,
            new_nonce(),
            transaction.signer_certificate,
            transaction.signer_key,
            transaction.public_key_der,
            serial_number,
        )
        cipher = caps.choose_cipher(transaction.cipher)
        message = build_pki_message(
            message_type, payload, ca.recipient, cipher, caps.choose_digest(), context
        )
        reply = (
            self.transport.post_pki_message(message)
            if caps.post_supported
            else self.transport.get_pki_message(message)
        )
        if not _looks_like_cms(reply.body):
            raise TransportError(
                "PKIOperation",
                self.url,
                f"reply from {display_url(reply.url)} is not a CMS message",
                answered=True,
            )
        return self._result(parse_cert_rep(reply.body, ca, context), transaction)

    def _result(self, reply: CertRep, transaction: PendingTransaction) -> Issued | Pending:
        if reply.pki_status is PKIStatus.FAILURE:
            raise CARejected(
                reply.fail_info.label if reply.fail_info is not None else None,
                reply.hresult,
                reply.fail_info_text,
                transaction.transaction_id,
            )
        if reply.pki_status is PKIStatus.PENDING:
            logger.debug("SCEP request %s is pending at %s", transaction.transaction_id,
                         display_url(self.url))
            return Pending(transaction)
        assert reply.certificate is not None  # parse_cert_rep guarantees it for SUCCESS
        logger.debug(
            "SCEP request %s issued: serial %x, notAfter %s",
            transaction.transaction_id,
            reply.certificate.serial_number,
            reply.certificate.not_valid_after_utc.isoformat(),
        )
        return Issued(reply.certificate, reply.chain)

    def close(self) -> None:
        """Close the HTTP session."""
        self.transport.close()


def renew(
    client: SCEPClient,
    ca: TrustedCA,
    caps: Capabilities,
    new_key: rsa.RSAPrivateKey,
    csr: x509.CertificateSigningRequest,
    current_certificate: x509.Certificate,
    current_key: rsa.RSAPrivateKey,
    renew_request: RenewRequest = RenewRequest.RENEWAL_REQ,
    cipher: ContentCipher = ContentCipher.AES128_CBC,
) -> Issued | Pending:
    """Renew with a new key: RenewalReq, or PKCSReq signed with the current certificate.

    A RenewalReq rejected with badRequest is retried once as a PKCSReq signed
    with the current certificate, because OpenXPKI and others only renew that
    way.  Raise ProtocolError if the CA returns the current certificate again.
    """
    if _spki(new_key.public_key()) == _spki(current_key.public_key()):
        raise InvalidInput("renewal key", "current key", "renewal needs a new key")
    message_type = (
        MessageType.RENEWAL_REQ
        if renew_request is RenewRequest.RENEWAL_REQ
        else MessageType.PKCS_REQ
    )
    request = EnrollmentRequest(
        new_key, csr, current_certificate, current_key, message_type, cipher
    )
    try:
        result = client.enroll(ca, caps, request)
    except CARejected as exc:
        if message_type is not MessageType.RENEWAL_REQ or exc.fail_info != "badRequest":
            raise
        logger.warning(
            "RenewalReq %s rejected with badRequest, retrying once as PKCSReq",
            request.transaction_id,
        )
        result = client.enroll(ca, caps, replace(request, message_type=MessageType.PKCS_REQ))
    if isinstance(result, Issued) and result.certificate == current_certificate:
        raise ProtocolError("renewal returned the current certificate")
    return result
