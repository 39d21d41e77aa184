"""Key generation and certificate issuing with cryptography's x509 builders."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

# Microsoft "certificate template name" extension (szOID_ENROLL_CERTTYPE_EXTENSION),
# a BMPString; SCEP clients send it in the CSR to request a profile.
TEMPLATE_NAME_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2")
# Microsoft "Certificate Request Agent" EKU, which NDES puts on its RA certificates.
CERT_REQUEST_AGENT_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.1")

RSA_KEY_BITS = 2048
CA_LIFETIME = datetime.timedelta(days=3650)
RA_LIFETIME = datetime.timedelta(days=730)


@dataclass(frozen=True, slots=True)
class Credential:
    """A certificate with its private key."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey


@dataclass(frozen=True, slots=True)
class KeyUsageSet:
    """The keyUsage bits an issued certificate gets; unnamed bits are off."""

    digital_signature: bool = False
    key_encipherment: bool = False
    key_cert_sign: bool = False
    crl_sign: bool = False

    def to_extension(self) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=self.digital_signature,
            content_commitment=False,
            key_encipherment=self.key_encipherment,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=self.key_cert_sign,
            crl_sign=self.crl_sign,
            encipher_only=False,
            decipher_only=False,
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """Key usage, EKU and template name of an end-entity certificate.

    Subject, public key and subjectAltName come from the CSR.
    """

    name: str
    key_usage: KeyUsageSet
    extended_key_usage: tuple[ObjectIdentifier, ...] = ()
    template_name: str | None = None


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)


def encode_template_name(name: str) -> bytes:
    """Encode a template name as the DER BMPString that Windows puts in the extension."""
    data = name.encode("utf-16-be")
    if len(data) > 127:
        raise ValueError(f"template name {name!r} is too long for this encoder")
    return bytes([0x1E, len(data)]) + data


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def _base_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    lifetime: datetime.timedelta,
) -> x509.CertificateBuilder:
    not_before = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + lifetime)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


CA_KEY_USAGE = KeyUsageSet(key_cert_sign=True, crl_sign=True)


def create_root(subject: x509.Name, key_usage: KeyUsageSet = CA_KEY_USAGE) -> Credential:
    key = generate_key()
    builder = (
        _base_builder(subject, subject, key.public_key(), CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage.to_extension(), critical=True)
    )
    return Credential(builder.sign(key, hashes.SHA256()), key)


def create_intermediate(subject: x509.Name, issuer: Credential) -> Credential:
    key = generate_key()
    builder = (
        _base_builder(subject, issuer.certificate.subject, key.public_key(), CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE.to_extension(), critical=True)
        .add_extension(_authority_key_id(issuer), critical=False)
    )
    return Credential(builder.sign(issuer.private_key, hashes.SHA256()), key)


def create_ra(subject: x509.Name, issuer: Credential, profile: Profile) -> Credential:
    """Create an RA certificate and key; the profile gives its key usage and template."""
    key = generate_key()
    certificate = issue_certificate(
        issuer, subject, key.public_key(), profile, RA_LIFETIME, extensions=()
    )
    return Credential(certificate, key)


def _authority_key_id(issuer: Credential) -> x509.AuthorityKeyIdentifier:
    ski = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def issue_certificate(
    issuer: Credential,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    profile: Profile,
    lifetime: datetime.timedelta,
    extensions: Sequence[x509.Extension[x509.ExtensionType]],
) -> x509.Certificate:
    """Sign an end-entity certificate; `extensions` are copied from the CSR (SAN only)."""
    builder = (
        _base_builder(subject, issuer.certificate.subject, public_key, lifetime)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(profile.key_usage.to_extension(), critical=True)
        .add_extension(_authority_key_id(issuer), critical=False)
    )
    if profile.extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(profile.extended_key_usage)), critical=False
        )
    if profile.template_name is not None:
        template = x509.UnrecognizedExtension(
            TEMPLATE_NAME_OID, encode_template_name(profile.template_name)
        )
        builder = builder.add_extension(template, critical=False)
    for extension in extensions:
        if isinstance(extension.value, x509.SubjectAlternativeName):
            builder = builder.add_extension(extension.value, critical=extension.critical)
    return builder.sign(issuer.private_key, hashes.SHA256())


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def fingerprint_hex(certificate: x509.Certificate, algorithm: str) -> str:
    """Return the lowercase hex digest of the DER certificate ("sha256", "md5", ...)."""
    return hashlib.new(algorithm, der(certificate)).hexdigest()


def ndes_thumbprint(certificate: x509.Certificate) -> str:
    """Format the MD5 thumbprint as NDES's admin page does: 4 uppercase groups of 8."""
    digest = fingerprint_hex(certificate, "md5").upper()
    return " ".join(digest[i : i + 8] for i in range(0, len(digest), 8))


SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
