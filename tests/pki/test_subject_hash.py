"""The subject hash must equal what `openssl x509 -hash` prints."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from agent.pki import name_hash, subject_hash
from tests.pki.factory import make_certificate

OPENSSL = shutil.which("openssl")
NAMES: dict[str, x509.Name] = {
    "plain-cn": x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mycert1.co.uk")]),
    "cn-and-country": x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "UK"),
        x509.NameAttribute(NameOID.COMMON_NAME, "mycert1.co.uk"),
    ]),
    "case-and-spaces": x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "  Example   CORP\tLtd  "),
        x509.NameAttribute(NameOID.COMMON_NAME, "Root  CA"),
    ]),
    "non-ascii": x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Zürich ÄÖÜ Ca")]),
    "bmp-string": x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "BMP Name", _type=_ASN1Type.BMPString),
    ]),
    "printable-string": x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Printable NAME",
                           _type=_ASN1Type.PrintableString),
    ]),
    "email-ia5": x509.Name([
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "Admin@Example.COM"),
        x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
    ]),
    "multi-valued-rdn": x509.Name([
        x509.RelativeDistinguishedName([
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Zeta"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Alpha"),
        ]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")]),
    ]),
    "serial-number": x509.Name([
        x509.NameAttribute(NameOID.SERIAL_NUMBER, "AB 12"),
        x509.NameAttribute(NameOID.COMMON_NAME, "device"),
    ]),
}


def openssl_hash(certificate: x509.Certificate, tmp_path: Path) -> str:
    path = tmp_path / "cert.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    assert OPENSSL is not None
    result = subprocess.run([OPENSSL, "x509", "-hash", "-noout", "-in", str(path)],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")
@pytest.mark.parametrize("case", sorted(NAMES))
def test_subject_hash_matches_openssl(case: str, tmp_path: Path) -> None:
    certificate = make_certificate(NAMES[case])

    assert subject_hash(certificate) == openssl_hash(certificate, tmp_path)


def test_subject_hash_is_eight_hex_digits() -> None:
    value = subject_hash(make_certificate(NAMES["plain-cn"]))

    assert len(value) == 8
    assert int(value, 16) >= 0


def test_name_hash_ignores_case_and_spacing() -> None:
    upper = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "  My   CA ")])
    lower = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "my ca")])

    assert name_hash(upper.public_bytes()) == name_hash(lower.public_bytes())
