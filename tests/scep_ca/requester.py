"""A small SCEP requester for the test CA's tests, built on `agent.scep.cms`.

It exposes every knob the tests turn (digest, cipher, message type, signer),
and it returns raw replies, so it is not the agent's client.
"""

from __future__ import annotations

import base64
import datetime
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from agent.scep.attributes import (
    FAIL_INFO,
    NDES_HRESULT,
    PKI_STATUS,
    RECIPIENT_NONCE,
    TRANSACTION_ID,
    MessageType,
    octets_value,
    scep_attributes,
    text_value,
)
from agent.scep.ber import der_length
from agent.scep.cms import (
    SignedMessage,
    build_enveloped_data,
    build_signed_data,
    open_enveloped_data,
    parse_certs_only,
    verify_signed_data,
)
from agent.scep.envelope import ContentCipher
from agent.scep.errors import ProtocolError
from tools.scep_ca.issuing import TEMPLATE_NAME_OID, encode_template_name

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class HTTPReply:
    status: int
    content_type: str
    body: bytes


def http_get(url: str, operation: str) -> HTTPReply:
    return _call(urllib.request.Request(f"{url}?operation={operation}"))


def http_post(url: str, body: bytes) -> HTTPReply:
    request = urllib.request.Request(f"{url}?operation=PKIOperation", data=body, method="POST")
    request.add_header("Content-Type", "application/x-pki-message")
    return _call(request)


def http_get_pki_operation(url: str, body: bytes) -> HTTPReply:
    """Send a pkiMessage with GET, base64 in the message parameter, as RFC 8894 allows."""
    message = urllib.parse.quote(base64.b64encode(body).decode(), safe="")
    return _call(urllib.request.Request(f"{url}?operation=PKIOperation&message={message}"))


def _call(request: urllib.request.Request) -> HTTPReply:
    try:
        with _opener.open(request, timeout=30) as reply:
            return HTTPReply(reply.status, reply.headers.get("Content-Type", ""), reply.read())
    except urllib.error.HTTPError as exc:
        return HTTPReply(exc.code, exc.headers.get("Content-Type", ""), exc.read())


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def make_csr(
    key: rsa.RSAPrivateKey,
    common_name: str,
    challenge: str | None = None,
    template: str | None = None,
    key_usage: x509.KeyUsage | None = None,
    subject: x509.Name | None = None,
) -> x509.CertificateSigningRequest:
    name = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.DNSName(f"{common_name}.example.net")]), critical=False
    )
    if challenge is not None:
        builder = builder.add_attribute(
            x509.oid.AttributeOID.CHALLENGE_PASSWORD, challenge.encode()
        )
    if template is not None:
        extension = x509.UnrecognizedExtension(TEMPLATE_NAME_OID, encode_template_name(template))
        builder = builder.add_extension(extension, critical=False)
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    return builder.sign(key, hashes.SHA256())


def key_usage(digital_signature: bool, key_encipherment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature, False, key_encipherment, False, False, False, False, False, False
    )


@dataclass(frozen=True, slots=True)
class CACertificates:
    """GetCACert content split by role, chosen by key usage as NDES clients must."""

    content_type: str
    certificates: tuple[x509.Certificate, ...]
    recipient: x509.Certificate
    verifier: x509.Certificate


def _has_usage(certificate: x509.Certificate, attribute: str) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(getattr(usage, attribute))


def _is_ca(certificate: x509.Certificate) -> bool:
    return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)


def fetch_ca_certificates(url: str) -> CACertificates:
    reply = http_get(url, "GetCACert")
    assert reply.status == 200, reply
    if reply.content_type == "application/x-x509-ca-cert":
        certificates: tuple[x509.Certificate, ...] = (x509.load_der_x509_certificate(reply.body),)
    else:
        certificates = tuple(parse_certs_only(reply.body))
    ordered = sorted(certificates, key=_is_ca)  # RA certificates first
    recipient = next(c for c in ordered if _has_usage(c, "key_encipherment"))
    verifier = next(c for c in ordered if _has_usage(c, "digital_signature"))
    return CACertificates(reply.content_type, certificates, recipient, verifier)


@dataclass(frozen=True, slots=True)
class CertRep:
    """A verified CertRep: its attributes, and the certificates if SUCCESS."""

    message: SignedMessage
    pki_status: str | None
    fail_info: str | None
    hresult: str | None
    transaction_id: str | None
    recipient_nonce: bytes | None
    certificates: tuple[x509.Certificate, ...]
    envelope: bytes | None


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def issuer_and_subject(issuer: x509.Name, subject: x509.Name) -> bytes:
    """Encode the IssuerAndSubject of a CertPoll (RFC 8894) as DER."""
    body = issuer.public_bytes() + subject.public_bytes()
    return b"\x30" + der_length(len(body)) + body


@dataclass
class Requester:
    """Sends pkiMessages signed with `signer_key` and `signer` to one SCEP URL."""

    url: str
    ca: CACertificates
    signer_key: rsa.RSAPrivateKey
    signer: x509.Certificate
    digest: str = "sha256"
    cipher: ContentCipher = ContentCipher.AES128_CBC

    def build(
        self, message_type: MessageType, transaction_id: str, inner: bytes, nonce: bytes
    ) -> bytes:
        """Build a pkiMessage: `inner` encrypted to the RA, signed by our signer."""
        envelope = build_enveloped_data(inner, self.ca.recipient, self.cipher)
        attributes = scep_attributes(message_type, transaction_id, sender_nonce=nonce)
        return build_signed_data(envelope, self.signer, self.signer_key, self.digest, attributes)

    def send(
        self, message_type: MessageType, transaction_id: str, inner: bytes
    ) -> tuple[HTTPReply, bytes]:
        """Send one pkiMessage with POST; return the HTTP reply and the senderNonce used."""
        nonce = os.urandom(16)
        body = self.build(message_type, transaction_id, inner, nonce)
        return http_post(self.url, body), nonce

    def enroll(
        self,
        csr: x509.CertificateSigningRequest,
        transaction_id: str,
        message_type: MessageType = MessageType.PKCS_REQ,
    ) -> CertRep:
        reply, nonce = self.send(message_type, transaction_id, csr.public_bytes(Encoding.DER))
        return self.parse(reply, nonce)

    def poll(self, transaction_id: str, subject: x509.Name) -> CertRep:
        # The RA certificate's issuer is the CA that issues end-entity certificates.
        inner = issuer_and_subject(self.ca.verifier.issuer, subject)
        reply, nonce = self.send(MessageType.CERT_POLL, transaction_id, inner)
        return self.parse(reply, nonce)

    def parse(self, reply: HTTPReply, nonce: bytes) -> CertRep:
        assert reply.status == 200, reply
        assert reply.content_type == "application/x-pki-message"
        message = verify_signed_data(reply.body, [self.ca.verifier])
        if message.signer != self.ca.verifier:
            signer = message.signer.subject.rfc4514_string()
            raise ProtocolError("CertRep not signed by the RA", signer)
        attributes = message.attributes
        status = text_value(attributes, PKI_STATUS)
        certificates: tuple[x509.Certificate, ...] = ()
        envelope = None
        if status == "0":
            envelope = message.content
            inner = open_enveloped_data(message.content or b"", self.signer_key, self.signer)
            certificates = tuple(parse_certs_only(inner))
        return CertRep(
            message,
            status,
            text_value(attributes, FAIL_INFO),
            text_value(attributes, NDES_HRESULT),
            text_value(attributes, TRANSACTION_ID),
            octets_value(attributes, RECIPIENT_NONCE),
            certificates,
            envelope,
        )


def new_requester(url: str, common_name: str, **settings: object) -> Requester:
    """Make a requester with a fresh key and a self-signed signer certificate."""
    key = new_key()
    signer = self_signed(key, common_name)
    return Requester(url, fetch_ca_certificates(url), key, signer, **settings)  # type: ignore[arg-type]


def envelope_algorithms(envelope: bytes) -> tuple[str, str]:
    """Return the asn1crypto names of an EnvelopedData's content cipher and key transport."""
    info = asn1_cms.ContentInfo.load(envelope)["content"]
    cipher = info["encrypted_content_info"]["content_encryption_algorithm"]["algorithm"].native
    transport = info["recipient_infos"][0].chosen["key_encryption_algorithm"]["algorithm"].native
    return str(cipher), str(transport)
