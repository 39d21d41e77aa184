"""PKCS#10 requests, DNs as operators type them, transaction IDs and the self-signed signer."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import re
from collections.abc import Callable, Sequence

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from cryptography.x509.oid import AttributeOID, NameOID, ObjectIdentifier

from agent.scep.errors import InvalidInput
from agent.scep.san import SANType, split_san

# Microsoft certificate template name (szOID_ENROLL_CERTTYPE_EXTENSION), a BMPString.
CERTIFICATE_TEMPLATE_NAME = ObjectIdentifier("1.3.6.1.4.1.311.20.2")


_NAME_ATTRIBUTES: dict[str, ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "C": NameOID.COUNTRY_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "STREET": NameOID.STREET_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "SN": NameOID.SURNAME,
    "GN": NameOID.GIVEN_NAME,
    "T": NameOID.TITLE,
    "TITLE": NameOID.TITLE,
    "UNSTRUCTUREDNAME": ObjectIdentifier("1.2.840.113549.1.9.2"),
}

_MAX_DN_LENGTH = 1024
_DOTTED_OID = re.compile(r"\d+(\.\d+)+")


def _split_unescaped(text: str, separators: str) -> list[str]:
    """Split at separators that are neither backslash-escaped nor inside double quotes."""
    parts: list[str] = []
    current: list[str] = []
    escaped = quoted = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char in separators and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped or quoted:
        raise InvalidInput("DN", text, "unterminated escape or quote")
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)


def _attribute(text: str, dn: str) -> x509.NameAttribute[str]:
    key, separator, raw_value = text.partition("=")
    key = key.strip()
    if not separator or not key:
        raise InvalidInput("DN", dn, f"expected KEY=VALUE, got {text.strip()!r}")
    if _DOTTED_OID.fullmatch(key):
        oid = ObjectIdentifier(key)
    elif key.upper() in _NAME_ATTRIBUTES:
        oid = _NAME_ATTRIBUTES[key.upper()]
    else:
        raise InvalidInput("DN", dn, f"unknown attribute type {key!r}")
    value = _unescape(raw_value)
    if not value:
        raise InvalidInput("DN", dn, f"empty value for {key}")
    if oid == NameOID.COUNTRY_NAME and not re.fullmatch(r"[A-Za-z]{2}", value):
        raise InvalidInput("DN", dn, f"country {value!r} must be two letters")
    try:
        return x509.NameAttribute(oid, value)
    except ValueError as exc:
        # cryptography enforces the X.520 upper bounds, such as 64 characters for a CN.
        raise InvalidInput("DN", dn, f"{key}: {exc}") from exc


def parse_dn(dn: str) -> x509.Name:
    """Parse a DN written most significant part last, such as ``CN=host, O=Org, C=UK``.

    Commas separate RDNs and ``+`` joins attributes of one RDN.  Spaces around
    separators are ignored, and ``\\`` or double quotes protect separators.
    The result's first RDN is the last one written, so the encoded subject reads
    ``C=UK, O=Org, CN=host`` from the root down.
    """
    if not dn.strip():
        raise InvalidInput("DN", dn, "empty")
    if len(dn) > _MAX_DN_LENGTH:
        raise InvalidInput("DN", dn[:40] + "...", f"longer than {_MAX_DN_LENGTH} characters")
    rdns = []
    for rdn_text in _split_unescaped(dn, ",;"):
        attributes = [_attribute(part, dn) for part in _split_unescaped(rdn_text, "+")]
        rdns.append(x509.RelativeDistinguishedName(attributes))
    try:
        return x509.Name(list(reversed(rdns)))
    except ValueError as exc:
        raise InvalidInput("DN", dn, str(exc)) from exc


def parse_san(text: str) -> x509.GeneralName:
    """Parse ``dns:NAME``, ``ip:ADDR``, ``email:ADDR`` or ``uri:URI``.

    Without one of these prefixes the type is guessed from the value, as
    `agent.scep.san.split_san` describes.  An invalid value raises InvalidInput.
    """
    kind, value = split_san(text)
    try:
        return _SAN_TYPES[kind](value)
    except ValueError as exc:
        # cryptography rejects, for example, an email address or URI that is not ASCII.
        raise InvalidInput("subjectAltName", text, str(exc)) from exc


_SAN_TYPES: dict[SANType, Callable[[str], x509.GeneralName]] = {
    SANType.DNS: x509.DNSName,
    SANType.IP: lambda value: x509.IPAddress(ipaddress.ip_address(value)),
    SANType.EMAIL: x509.RFC822Name,
    SANType.URI: x509.UniformResourceIdentifier,
}


def build_csr(
    private_key: rsa.RSAPrivateKey,
    dn: str | x509.Name,
    sans: Sequence[x509.GeneralName | str] = (),
    challenge_password: str | None = None,
    profile: str | None = None,
    key_usage: x509.KeyUsage | None = None,
    digest: hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None = None,
) -> x509.CertificateSigningRequest:
    """Build a PKCS#10 request with SANs, keyUsage, challengePassword and template name."""
    subject = parse_dn(dn) if isinstance(dn, str) else dn
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    names = [parse_san(san) if isinstance(san, str) else san for san in sans]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    builder = builder.add_extension(key_usage or _DEFAULT_KEY_USAGE, critical=True)
    if profile:
        template = x509.UnrecognizedExtension(
            CERTIFICATE_TEMPLATE_NAME, core.BMPString(profile).dump()
        )
        builder = builder.add_extension(template, critical=False)
    if challenge_password is not None:
        builder = builder.add_attribute(
            AttributeOID.CHALLENGE_PASSWORD, challenge_password.encode("utf-8")
        )
    return builder.sign(private_key, digest or hashes.SHA256())


_DEFAULT_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """Encode a private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def transaction_id_for(public_key: rsa.RSAPublicKey) -> str:
    """Return the transactionID for a key: upper-case hex SHA-256 of its SubjectPublicKeyInfo.

    RFC 8894 §3.2.1.1 recommends a value derived from the public key.  The same
    key always gives the same ID, so a restarted client can resume polling.
    """
    spki = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest().upper()


def self_signed_signer(
    private_key: rsa.RSAPrivateKey,
    subject: x509.Name,
    now: datetime.datetime | None = None,
) -> x509.Certificate:
    """Build the short-lived self-signed certificate that signs a first request (RFC 8894 §2.3)."""
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(hours=1)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private_key.public_key())
        .serial_number(int.from_bytes(os.urandom(16), "big") >> 1 or 1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365))
        .add_extension(_DEFAULT_KEY_USAGE, critical=True)
        .sign(private_key, hashes.SHA256())
    )
