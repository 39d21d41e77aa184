"""Key and certificate factory for store and daemon tests, built on cryptography."""

from __future__ import annotations

import datetime
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

EPOCH = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


@cache
def rsa_key(index: int = 0, key_size: int = 2048) -> rsa.RSAPrivateKey:
    """Return a cached RSA key; keys with different `index` values differ."""
    del index
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def make_name(common_name: str) -> x509.Name:
    """Return a subject with one CN attribute."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey | None = None,
    issuer: x509.Name | None = None,
    issuer_key: rsa.RSAPrivateKey | None = None,
    not_before: datetime.datetime = EPOCH,
    lifetime: datetime.timedelta = datetime.timedelta(days=30),
    ca: bool = False,
) -> x509.Certificate:
    """Build a certificate; it is self-signed unless an issuer key is given."""
    key = key or rsa_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + lifetime)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key or key, hashes.SHA256())
