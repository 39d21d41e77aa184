"""Tests for the DN parser, the CSR builder, transaction IDs and the self-signed signer."""

from __future__ import annotations

import ipaddress

import pytest
from asn1crypto import core
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AttributeOID, NameOID

from agent.scep.csr import (
    CERTIFICATE_TEMPLATE_NAME,
    build_csr,
    parse_dn,
    parse_san,
    self_signed_signer,
    transaction_id_for,
)
from agent.scep.errors import InvalidInput
from tests.scep.conftest import PKIFactory


def _rdns(name: x509.Name) -> list[list[tuple[str, str]]]:
    return [
        [(attribute.oid.dotted_string, str(attribute.value)) for attribute in rdn]
        for rdn in name.rdns
    ]


CN = NameOID.COMMON_NAME.dotted_string
C = NameOID.COUNTRY_NAME.dotted_string
O = NameOID.ORGANIZATION_NAME.dotted_string  # noqa: E741
OU = NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string


@pytest.mark.parametrize(
    ("dn", "expected"),
    [
        ("CN=mycert1.co.uk, C=UK", [[(C, "UK")], [(CN, "mycert1.co.uk")]]),
        ("CN=mycert1.co.uk,C=UK", [[(C, "UK")], [(CN, "mycert1.co.uk")]]),
        ("cn = host ,  o = Org ,c=DE", [[(C, "DE")], [(O, "Org")], [(CN, "host")]]),
        ("CN=a\\, b, O=x", [[(O, "x")], [(CN, "a, b")]]),
        ('CN="a, b", O=x', [[(O, "x")], [(CN, "a, b")]]),
        ("CN=r1+OU=unit, O=x", [[(O, "x")], [(CN, "r1"), (OU, "unit")]]),
        ("2.5.4.3=by-oid", [[(CN, "by-oid")]]),
        ("CN=host; O=Org", [[(O, "Org")], [(CN, "host")]]),
        (
            "E=admin@example.com, CN=x",
            [[(CN, "x")], [("1.2.840.113549.1.9.1", "admin@example.com")]],
        ),
    ],
)
def test_parse_dn_order(dn: str, expected: list[list[tuple[str, str]]]) -> None:
    assert _rdns(parse_dn(dn)) == expected


def test_parse_dn_encodes_root_first() -> None:
    name = parse_dn("CN=mycert1.co.uk, C=UK")

    assert name.rfc4514_string() == "CN=mycert1.co.uk,C=UK"
    assert name.rdns[0].get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "UK"


@pytest.mark.parametrize(
    ("dn", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("CN", "KEY=VALUE"),
        ("=x", "KEY=VALUE"),
        ("CN=", "empty value"),
        ("XX=1", "unknown attribute"),
        ("C=USA", "two letters"),
        ("CN=a\\", "unterminated"),
        ('CN="open', "unterminated"),
        ("CN=x, , O=y", "KEY=VALUE"),
        ("CN=" + "a" * 2000, "longer than"),
        ("CN=" + "a" * 65, "CN: .*length must be >= 1 and <= 64"),
    ],
)
def test_parse_dn_invalid(dn: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_dn(dn)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dns:host.example", x509.DNSName("host.example")),
        ("DNS:host.example", x509.DNSName("host.example")),
        ("host.example", x509.DNSName("host.example")),
        ("ip:10.0.0.1", x509.IPAddress(ipaddress.ip_address("10.0.0.1"))),
        ("192.0.2.7", x509.IPAddress(ipaddress.ip_address("192.0.2.7"))),
        ("ip:2001:db8::1", x509.IPAddress(ipaddress.ip_address("2001:db8::1"))),
        ("2001:db8::1", x509.IPAddress(ipaddress.ip_address("2001:db8::1"))),
        ("email:a@example.com", x509.RFC822Name("a@example.com")),
        ("a@example.com", x509.RFC822Name("a@example.com")),
        ("uri:https://example.com/x", x509.UniformResourceIdentifier("https://example.com/x")),
        ("https://example.com/x", x509.UniformResourceIdentifier("https://example.com/x")),
    ],
)
def test_parse_san(text: str, expected: x509.GeneralName) -> None:
    assert parse_san(text) == expected


@pytest.mark.parametrize(
    "text", ["ip:not-an-ip", "dns:", "192.168.1.300", "foo bar!", "email:ü@example.com"]
)
def test_parse_san_invalid(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_san(text)


def test_build_csr_contents(pki: PKIFactory) -> None:
    key = pki.key()
    sans = ["dns:host.example", "ip:10.1.2.3", "email:ops@example.com", "uri:urn:device:7"]

    request = build_csr(key, "CN=mycert1.co.uk, C=UK", sans, "s3cret", "tls-server")

    assert request.is_signature_valid
    assert request.subject == parse_dn("CN=mycert1.co.uk, C=UK")
    san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["host.example"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.1.2.3")]
    assert san.get_values_for_type(x509.RFC822Name) == ["ops@example.com"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:device:7"]
    usage = request.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.key_encipherment
    assert request.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD).value == (
        b"s3cret"
    )
    template = request.extensions.get_extension_for_oid(CERTIFICATE_TEMPLATE_NAME).value
    assert core.BMPString.load(template.value).native == "tls-server"


def test_build_csr_minimal(pki: PKIFactory) -> None:
    request = build_csr(pki.key(), "CN=only")

    parsed = asn1_csr.CertificationRequest.load(request.public_bytes(Encoding.DER))
    attribute_types = [a["type"].native for a in parsed["certification_request_info"]["attributes"]]
    assert attribute_types == ["extension_request"]
    with pytest.raises(x509.ExtensionNotFound):
        request.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_transaction_id_stable(pki: PKIFactory) -> None:
    first = pki.key()
    second = pki.key()

    assert transaction_id_for(first.public_key()) == transaction_id_for(first.public_key())
    assert transaction_id_for(first.public_key()) != transaction_id_for(second.public_key())
    assert len(transaction_id_for(first.public_key())) == 64


def test_self_signed_signer(pki: PKIFactory) -> None:
    key = pki.key()
    subject = parse_dn("CN=device, C=UK")

    certificate = self_signed_signer(key, subject)

    assert certificate.subject == subject
    assert certificate.issuer == subject
    assert certificate.public_key() == key.public_key()
    certificate.verify_directly_issued_by(certificate)
