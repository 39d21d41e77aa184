"""An in-process SCEP CA behind the SCEPClient interface, for worker tests.

It replaces only the HTTP boundary: requests arrive as the real
EnrollmentRequest and PendingTransaction values, certificates are really
issued from the CSR, and every message is recorded for the assertions.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from agent.scep.cacerts import CACertificates
from agent.scep.capabilities import Capabilities
from agent.scep.client import EnrollmentRequest, Issued, Pending, PendingTransaction
from agent.scep.errors import CARejected
from tests.pki.factory import rsa_key

CAPABILITIES = Capabilities(("POSTPKIOperation", "Renewal", "AES", "SHA-256"))


@dataclass(frozen=True, slots=True)
class Message:
    """One message the fake CA received."""

    message_type: str
    transaction_id: str
    signer: x509.Certificate
    subject_der: bytes
    """The subject Name that the request or CertPoll names."""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(sign: bool, encrypt: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False,
                         key_encipherment=encrypt, data_encipherment=False, key_agreement=False,
                         key_cert_sign=not (sign or encrypt), crl_sign=False,
                         encipher_only=False, decipher_only=False)


def _certificate(subject: x509.Name, key: rsa.RSAPublicKey, issuer: x509.Name,
                 issuer_key: rsa.RSAPrivateKey, ca: bool, usage: x509.KeyUsage | None,
                 start: datetime.datetime, lifetime: datetime.timedelta) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + lifetime)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class FakeCA:
    """A root, an issuing CA and two RAs (signing and encryption), as NDES has.

    The signing RA expires one day after the encryption RA, so code that
    orders RAs by expiry puts them in the opposite order to their roles.
    """

    mode: str = "issue"
    lifetime: datetime.timedelta = datetime.timedelta(days=10)
    messages: list[Message] = field(default_factory=list)
    subjects: dict[str, x509.Name] = field(default_factory=dict)
    hresult: str | None = None
    """The NDES HRESULT attribute of a rejection, as NDES sends it."""
    cacert_order: tuple[int, ...] = (3, 0, 2, 1)
    """GetCACert order, as indexes into (root, issuing, RA 0, RA 1)."""

    def __post_init__(self) -> None:
        start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        year = datetime.timedelta(days=365)
        self.root_key, self.issuing_key = rsa_key(20), rsa_key(21)
        self.root = _certificate(_name("Fake Root CA"), self.root_key.public_key(),
                                 _name("Fake Root CA"), self.root_key, True, None, start, year)
        self.issuing = _certificate(_name("Fake Issuing CA"), self.issuing_key.public_key(),
                                    self.root.subject, self.root_key, True, None, start, year)
        self.ras = tuple(
            _certificate(_name(f"Fake RA {index}"), rsa_key(22 + index).public_key(),
                         self.issuing.subject, self.issuing_key, False,
                         _usage(sign=index == 0, encrypt=index == 1), start,
                         year - datetime.timedelta(days=index))
            for index in range(2))

    def fingerprint(self) -> str:
        return self.root.fingerprint(hashes.SHA256()).hex()

    def client(self, url: str) -> FakeClient:
        del url
        return FakeClient(self)

    def answer(self, transaction: PendingTransaction, public_key: Any, subject: x509.Name,
               now: datetime.datetime) -> Issued | Pending:
        if self.mode == "pending":
            return Pending(transaction)
        if self.mode == "reject":
            raise CARejected("badRequest", self.hresult, None, transaction.transaction_id)
        certificate = _certificate(subject, public_key, self.issuing.subject, self.issuing_key,
                                   False, _usage(True, True), now, self.lifetime)
        return Issued(certificate, (self.issuing,))


@dataclass
class FakeClient:
    """The SCEPClient methods the daemon's worker calls."""

    ca: FakeCA
    closed: bool = False

    def close(self) -> None:
        self.closed = True

    def get_ca_caps(self) -> Capabilities:
        return CAPABILITIES

    def get_ca_cert(self) -> CACertificates:
        certificates = (self.ca.root, self.ca.issuing, *self.ca.ras)
        return CACertificates(tuple(certificates[index] for index in self.ca.cacert_order))

    def enroll(self, trusted: Any, caps: Any, request: EnrollmentRequest) -> Issued | Pending:
        del caps
        self.ca.messages.append(Message(request.message_type.name, request.transaction_id,
                                        request.signer_certificate,
                                        request.csr.subject.public_bytes()))
        self.ca.subjects[request.transaction_id] = request.csr.subject
        transaction = PendingTransaction.for_request(request, trusted)
        return self.ca.answer(transaction, request.csr.public_key(), request.csr.subject,
                              datetime.datetime.now(datetime.UTC))

    def poll(self, trusted: Any, caps: Any, pending: PendingTransaction) -> Issued | Pending:
        del caps
        _, subject_der = pending.poll_names(trusted)
        self.ca.messages.append(Message("CERT_POLL", pending.transaction_id,
                                        pending.signer_certificate, subject_der))
        public_key = serialization.load_der_public_key(pending.public_key_der)
        subject = self.ca.subjects[pending.transaction_id]
        return self.ca.answer(pending, public_key, subject, datetime.datetime.now(datetime.UTC))
