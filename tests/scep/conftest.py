"""Key and certificate factories for the SCEP tests."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from tests.scep.mock_ca import MockCA

DATA = Path(__file__).resolve().parents[1] / "data" / "scep"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

_KEY_CACHE: dict[int, list[rsa.RSAPrivateKey]] = {}


def data_file(name: str) -> bytes:
    """Return the bytes of a file under tests/data/scep."""
    return (DATA / name).read_bytes()


def pem_certificate(name: str) -> x509.Certificate:
    """Load a PEM certificate that may follow an OpenSSL text dump."""
    raw = data_file(name)
    return x509.load_pem_x509_certificate(raw[raw.index(b"-----BEGIN") :])


def key_usage(**flags: bool) -> x509.KeyUsage:
    """Return a KeyUsage with the named flags set."""
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{name: flags.get(name, False) for name in names})


@dataclass(frozen=True)
class Identity:
    """A certificate with its key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


class PKIFactory:
    """Builds keys and certificates; keys are reused from a small pool to keep tests fast."""

    def __init__(self) -> None:
        self._next = 0
        self._serial = 1000

    def key(self, size: int = 2048) -> rsa.RSAPrivateKey:
        """Return a fresh-enough RSA key: a new one for each of the first 12 calls, then reused."""
        pool = _KEY_CACHE.setdefault(size, [])
        index = self._next % 12
        self._next += 1
        while len(pool) <= index:
            pool.append(rsa.generate_private_key(public_exponent=65537, key_size=size))
        return pool[index]

    def issue(
        self,
        common_name: str,
        issuer: Identity | None = None,
        ca: bool = False,
        usage: x509.KeyUsage | None = None,
        key: rsa.RSAPrivateKey | None = None,
        not_after: datetime.datetime | None = None,
    ) -> Identity:
        """Issue a certificate, self-signed when `issuer` is None."""
        key = key or self.key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        self._serial += 1
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.certificate.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(self._serial)
            .not_valid_before(NOW - datetime.timedelta(days=30))
            .not_valid_after(not_after or NOW + datetime.timedelta(days=3650))
        )
        if ca:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        if usage is not None:
            builder = builder.add_extension(usage, critical=True)
        signer = issuer.key if issuer else key
        return Identity(builder.sign(signer, hashes.SHA256()), key)


@pytest.fixture
def pki() -> PKIFactory:
    """A key and certificate factory."""
    return PKIFactory()


@pytest.fixture
def mock_ca(pki: PKIFactory) -> Iterator[MockCA]:
    """A SCEP CA on 127.0.0.1 with a root and one RA without keyUsage."""
    from tests.scep.mock_ca import MockCA, serve

    root = pki.issue("Mock Root CA", ca=True)
    ra = pki.issue("Mock RA", root)
    yield from serve(MockCA(root, ra, [root.certificate, ra.certificate]))
