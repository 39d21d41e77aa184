"""GetCACert reply parsing, RA role selection and trust in the Root CA (RFC 8894 §4.2)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep import cms
from agent.scep.errors import (
    CANotDownloaded,
    ChainError,
    FingerprintMismatch,
    InvalidInput,
    NoRACertificate,
    ProtocolError,
)
from agent.scep.names import issuer_of, subject_of, subject_text

FINGERPRINT_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

_SEPARATORS = re.compile(r"[\s:\-]")

# The chain checks try signatures between pairs of certificates, so their
# cost grows faster than the count, and the reply may come over plain HTTP.
# A CA sends its root, a few intermediates and one or two RAs.
MAX_CA_CERTIFICATES = 16


def fingerprint(certificate: x509.Certificate, algorithm: str = "sha256") -> str:
    """Return the lower-case hex hash of the certificate's DER encoding."""
    return certificate.fingerprint(FINGERPRINT_ALGORITHMS[algorithm]()).hex()


def normalize_fingerprint(text: str, algorithm: str) -> str:
    """Return `text` as lower-case hex, accepting colons, spaces (NDES) and a ``Name=`` prefix."""
    if algorithm not in FINGERPRINT_ALGORITHMS:
        raise InvalidInput(
            "fingerprint algorithm", algorithm, "use md5, sha1, sha256, sha384 or sha512"
        )
    value = _SEPARATORS.sub("", text.rsplit("=", 1)[-1]).lower()
    size = FINGERPRINT_ALGORITHMS[algorithm]().digest_size
    if not re.fullmatch(r"[0-9a-f]*", value):
        raise InvalidInput("fingerprint", text, "expected hex digits")
    if len(value) != 2 * size:
        raise InvalidInput(
            "fingerprint", text, f"{algorithm} needs {2 * size} hex digits, got {len(value)}"
        )
    return value


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _key_usage(certificate: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _is_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_self_signed(certificate: x509.Certificate) -> bool:
    return issuer_of(certificate) == subject_of(certificate) and _is_issued_by(
        certificate, certificate
    )


def _ordered(certificates: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """Sort newest expiry first, then by DER hash, so no result depends on the server's order."""
    return sorted(
        certificates,
        key=lambda c: (-c.not_valid_after_utc.timestamp(), c.fingerprint(hashes.SHA256())),
    )


@dataclass(frozen=True, slots=True)
class TrustedCA:
    """CA certificates that passed the fingerprint and chain checks, with their SCEP roles."""

    root: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    ras: tuple[x509.Certificate, ...]
    """RA certificates: the recipient first, then the signer, then any others.

    Certificates with the same role follow in SHA-256 fingerprint order, so
    the daemon labels the same certificates alike in every run.
    """
    recipient: x509.Certificate
    """The certificate that requests are encrypted to."""
    signer: x509.Certificate
    """The certificate expected to sign CertRep replies."""
    issuing_ca: x509.Certificate
    """The CA at the bottom of the chain, named as issuer in CertPoll."""

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        """All trusted certificates: root, intermediates and RAs."""
        return (self.root, *self.intermediates, *self.ras)

    def is_trusted_signer(self, certificate: x509.Certificate) -> bool:
        """Return whether a CertRep signer is one of these certificates.

        A certificate merely issued by the CA is not enough, because every
        device enrolled at the same CA holds one and could forge replies.
        """
        return certificate in self.certificates


def _select(
    ras: Sequence[x509.Certificate], usage: str, fallback: x509.Certificate | None
) -> x509.Certificate:
    """Pick the RA with `usage` in keyUsage, else one without keyUsage, else the issuing CA."""
    with_usage = [ra for ra in ras if (ku := _key_usage(ra)) is not None and getattr(ku, usage)]
    without_usage = [ra for ra in ras if _key_usage(ra) is None]
    for group in (with_usage, without_usage):
        if group:
            return _ordered(group)[0]
    if not ras and fallback is not None:
        return fallback
    raise NoRACertificate("encryption" if usage == "key_encipherment" else "signature verification")


def _by_role(
    ras: Sequence[x509.Certificate], recipient: x509.Certificate, signer: x509.Certificate
) -> tuple[x509.Certificate, ...]:
    """Order RAs by role (recipient, signer, other), then by SHA-256 fingerprint."""
    # The recipient is listed last, so it keeps rank 0 when it is also the signer.
    ranks = {signer: 1, recipient: 0}

    def rank(certificate: x509.Certificate) -> tuple[int, bytes]:
        return ranks.get(certificate, 2), certificate.fingerprint(hashes.SHA256())

    return tuple(sorted(ras, key=rank))


def _issuing_ca(root: x509.Certificate, cas: Sequence[x509.Certificate]) -> x509.Certificate:
    """Return the CA that issued no other CA in the set: the bottom of the chain."""
    bottom = [ca for ca in cas if not any(_is_issued_by(o, ca) for o in cas if o is not ca)]
    return _ordered(bottom)[0] if bottom else root


def _check_chain(
    certificate: x509.Certificate,
    root: x509.Certificate,
    pool: Sequence[x509.Certificate],
    at: datetime.datetime,
) -> None:
    current = certificate
    for _ in range(len(pool) + 1):
        if not current.not_valid_before_utc <= at <= current.not_valid_after_utc:
            raise ChainError(subject_text(current), "outside its validity period")
        if current == root:
            return
        issuers = [c for c in pool if c != current and _is_issued_by(current, c)]
        if not issuers:
            raise ChainError(subject_text(certificate), "no issuer in the GetCACert reply")
        current = root if root in issuers else _ordered(issuers)[0]
    raise ChainError(subject_text(certificate), "issuer loop")


def issuer_chain(
    certificate: x509.Certificate, pool: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """Return the CA certificates in `pool` from the issuer of `certificate` upwards.

    The chain ends below the self-signed root, like the chain file of a TLS
    server, unless the root issued `certificate` itself.  It is empty when
    `pool` contains no issuer of `certificate`.
    """
    chain: list[x509.Certificate] = []
    current = certificate
    for _ in range(len(pool)):
        issuers = [
            c for c in pool if c != current and c not in chain and _is_issued_by(current, c)
        ]
        if not issuers:
            break
        issuer = _ordered(issuers)[0]
        if chain and _is_self_signed(issuer):
            break
        chain.append(issuer)
        if _is_self_signed(issuer):
            break
        current = issuer
    return tuple(chain)


@dataclass(frozen=True, slots=True)
class CACertificates:
    """The certificates of a GetCACert reply, not yet trusted."""

    certificates: tuple[x509.Certificate, ...]

    def root_candidates(self) -> list[x509.Certificate]:
        """Return the self-signed certificates, or the tops of the chains when none is."""
        self_signed = [c for c in self.certificates if _is_self_signed(c)]
        if self_signed:
            return _ordered(self_signed)
        subjects = {subject_of(c) for c in self.certificates if _is_ca(c)}
        tops = [
            c
            for c in self.certificates
            if _is_ca(c) and issuer_of(c) not in subjects - {subject_of(c)}
        ]
        return _ordered(tops or list(self.certificates))

    def verify(
        self,
        fingerprint_text: str,
        fingerprint_alg: str = "sha256",
        at: datetime.datetime | None = None,
    ) -> TrustedCA:
        """Check the Root CA against the fingerprint and the chains; return the roles."""
        expected = normalize_fingerprint(fingerprint_text, fingerprint_alg)
        try:
            return self._verify(expected, fingerprint_alg, at)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            # Raised by cryptography for malformed extensions or unsupported keys.
            raise CANotDownloaded(f"malformed certificate: {exc}") from exc

    def _verify(
        self, expected: str, fingerprint_alg: str, at: datetime.datetime | None
    ) -> TrustedCA:
        candidates = self.root_candidates()
        if not candidates:
            raise CANotDownloaded("the reply contains no certificate")
        matching = [c for c in candidates if fingerprint(c, fingerprint_alg) == expected]
        if not matching:
            actual = fingerprint(candidates[0], fingerprint_alg)
            raise FingerprintMismatch(fingerprint_alg, expected, actual)
        root = matching[0]
        moment = at or datetime.datetime.now(datetime.UTC)
        others = [c for c in self.certificates if c != root]
        for certificate in [root, *others]:
            _check_chain(certificate, root, self.certificates, moment)
        cas = [c for c in others if _is_ca(c)]
        ras = [c for c in others if not _is_ca(c)]
        issuing = _issuing_ca(root, [root, *cas])
        recipient = _select(ras, "key_encipherment", issuing)
        signer = _select(ras, "digital_signature", issuing)
        return TrustedCA(
            root=root,
            intermediates=tuple(_ordered(cas)),
            ras=_by_role(ras, recipient, signer),
            recipient=recipient,
            signer=signer,
            issuing_ca=issuing,
        )


def parse_ca_certificates(body: bytes) -> CACertificates:
    """Parse a GetCACert body: one DER certificate or a certs-only PKCS#7, whatever its type."""
    if not body:
        raise CANotDownloaded("empty reply")
    try:
        return CACertificates((x509.load_der_x509_certificate(body),))
    except (ValueError, x509.InvalidVersion):
        pass
    try:
        certificates = cms.parse_certs_only(body)
    except ProtocolError as exc:
        raise CANotDownloaded(f"neither a DER certificate nor a PKCS#7: {exc.problem}") from exc
    if not certificates:
        raise CANotDownloaded("the PKCS#7 contains no certificate")
    if len(certificates) > MAX_CA_CERTIFICATES:
        raise CANotDownloaded(
            f"the PKCS#7 contains {len(certificates)} certificates, more than the "
            f"{MAX_CA_CERTIFICATES} accepted"
        )
    return CACertificates(tuple(certificates))


def certificate_der(certificate: x509.Certificate) -> bytes:
    """Return the DER encoding of a certificate."""
    return certificate.public_bytes(Encoding.DER)
