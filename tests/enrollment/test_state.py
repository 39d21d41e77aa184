"""The name column of the certificate table, from a certificate's subject or a configured DN."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from agent.enrollment.config import TOP
from agent.enrollment.state import Snapshot, name_of_dn, name_of_subject, render_state
from agent.pki import CACertificate, CARole, certificate_sha256, subject_hash
from tests.pki.factory import make_certificate


def subject(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    """Build a Name from (type, value) pairs given from the root down, as DER lists them."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


C = NameOID.COUNTRY_NAME
O = NameOID.ORGANIZATION_NAME  # noqa: E741
OU = NameOID.ORGANIZATIONAL_UNIT_NAME
CN = NameOID.COMMON_NAME
DC = NameOID.DOMAIN_COMPONENT

# The micromdm/scep test CA's subject, OU=SCEP CA,O=SCEP Peer Test CA,C=US.
MICROMDM_CA = subject((C, "US"), (O, "SCEP Peer Test CA"), (OU, "SCEP CA"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (subject((C, "UK"), (O, "Org"), (OU, "Unit"), (CN, "host.example")), "host.example"),
        (MICROMDM_CA, "SCEP CA"),
        (subject((C, "US"), (O, "Org"), (OU, "Region"), (OU, "Team")), "Team"),
        (subject((C, "US"), (O, "Parent"), (O, "Child")), "Child"),
        (subject((DC, "com"), (DC, "example")), "DC=example,DC=com"),
        (subject((C, "US")), "C=US"),
        (x509.Name([]), None),
    ],
)
def test_name_of_subject(name: x509.Name, expected: str | None) -> None:
    assert name_of_subject(name) == expected


@pytest.mark.parametrize(
    ("dn", "expected"),
    [
        ("CN=mycert1.co.uk, C=UK", "mycert1.co.uk"),
        ("OU=Unit, O=Org, C=UK", "Unit"),
        ("O=Org, C=UK", "Org"),
        (r"CN=Doe\, John, O=Org", "Doe, John"),
        ("C=UK", "C=UK"),
        ("", None),
        ("not a DN", None),
    ],
)
def test_name_of_dn(dn: str, expected: str | None) -> None:
    assert name_of_dn(dn) == expected


def test_ca_row_without_cn_has_name() -> None:
    certificate = make_certificate(MICROMDM_CA, ca=True)
    row = CACertificate("mdm-srv", "mdm-srv", CARole.ROOT, certificate,
                        certificate_sha256(certificate), subject_hash(certificate))

    state = render_state(Snapshot(servers=(), enrollments=(), ca_certificates=(row,),
                                  lineages={}))

    [entry] = state[TOP]["cert"]["certificates"]["certificate"]
    assert entry["type"] == "ca-local"
    assert entry["name"] == "SCEP CA"
    assert entry["subject"] == "OU=SCEP CA,O=SCEP Peer Test CA,C=US"
