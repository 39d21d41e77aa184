"""GetCACaps, GetCACert and the start-up announcement of each personality."""

from __future__ import annotations

import hashlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tests.scep_ca.requester import fetch_ca_certificates, http_get
from tools.scep_ca.issuing import CERT_REQUEST_AGENT_OID, TEMPLATE_NAME_OID

EXPECTED_CAPS = {
    "openxpki": [
        "Renewal", "POSTPKIOperation", "SHA-512", "SHA-384", "SHA-256", "SHA-224", "SHA-1",
        "DES3", "AES",
    ],
    "ndes": ["POSTPKIOperation", "Renewal", "SHA-512", "SHA-256", "SHA-1", "DES3"],
    "plain": [
        "POSTPKIOperation", "Renewal", "SHA-256", "SHA-512", "AES", "DES3", "SCEPStandard",
    ],
}


def _key_usage(certificate: x509.Certificate) -> x509.KeyUsage:
    return certificate.extensions.get_extension_for_class(x509.KeyUsage).value


def _is_ca(certificate: x509.Certificate) -> bool:
    return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def _common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


@pytest.mark.parametrize("personality", ["openxpki", "ndes", "plain"])
def test_get_ca_caps_lists_exactly(scep_ca_factory, personality):
    ca = scep_ca_factory(personality)

    reply = http_get(ca.url, "GetCACaps")

    assert reply.status == 200
    assert reply.content_type.startswith("text/plain")
    assert reply.body.decode().split("\n") == EXPECTED_CAPS[personality]


def test_openxpki_get_ca_cert_chain(scep_ca_factory):
    ca = scep_ca_factory("openxpki")

    fetched = fetch_ca_certificates(ca.url)

    assert fetched.content_type == "application/x-x509-ca-ra-cert"
    assert len(fetched.certificates) == 3
    by_name = {_common_name(c): c for c in fetched.certificates}
    root = by_name["Test Root CA"]
    issuing = by_name["Test Issuing CA"]
    ra = by_name["scep-ca:scep-ra"]
    assert root.issuer == root.subject
    assert issuing.issuer == root.subject
    assert ra.issuer == issuing.subject
    issuing.verify_directly_issued_by(root)
    ra.verify_directly_issued_by(issuing)
    assert _is_ca(root)
    assert _is_ca(issuing)
    assert not _is_ca(ra)
    assert _key_usage(ra).digital_signature
    assert _key_usage(ra).key_encipherment
    assert fetched.recipient == ra
    assert fetched.verifier == ra
    assert list(fetched.certificates) == [ra, issuing, root]


def test_ndes_get_ca_cert_two_ra(scep_ca_factory):
    ca = scep_ca_factory("ndes")

    fetched = fetch_ca_certificates(ca.url)

    assert fetched.content_type == "application/x-x509-ca-ra-cert"
    assert len(fetched.certificates) == 3
    roots = [c for c in fetched.certificates if _is_ca(c)]
    ras = [c for c in fetched.certificates if not _is_ca(c)]
    assert len(roots) == 1
    assert len(ras) == 2
    signing = [c for c in ras if _key_usage(c).digital_signature]
    encryption = [c for c in ras if _key_usage(c).key_encipherment]
    assert len(signing) == 1
    assert len(encryption) == 1
    assert not _key_usage(signing[0]).key_encipherment
    assert not _key_usage(encryption[0]).digital_signature
    for ra in ras:
        assert _common_name(ra).endswith("-MSCEP-RA")
        ra.verify_directly_issued_by(roots[0])
        usage = ra.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [CERT_REQUEST_AGENT_OID]
        assert ra.extensions.get_extension_for_oid(TEMPLATE_NAME_OID)
    assert fetched.recipient == encryption[0]
    assert fetched.verifier == signing[0]
    assert list(fetched.certificates) == [signing[0], encryption[0], roots[0]]


def test_plain_get_ca_cert_single_der(scep_ca_factory):
    ca = scep_ca_factory("plain")

    reply = http_get(ca.url, "GetCACert")

    assert reply.status == 200
    assert reply.content_type == "application/x-x509-ca-cert"
    certificate = x509.load_der_x509_certificate(reply.body)
    assert certificate.subject == certificate.issuer
    assert _key_usage(certificate).key_cert_sign
    assert _key_usage(certificate).digital_signature
    assert _key_usage(certificate).key_encipherment


@pytest.mark.parametrize("personality", ["openxpki", "ndes", "plain"])
def test_announced_fingerprints_match_root(scep_ca_factory, personality):
    ca = scep_ca_factory(personality)

    fetched = fetch_ca_certificates(ca.url)
    roots = [c for c in fetched.certificates if c.subject == c.issuer]
    root_der = roots[0].public_bytes(Encoding.DER)

    assert ca.root_sha256 == hashlib.sha256(root_der).hexdigest()
    assert ca.root_md5 == hashlib.md5(root_der).hexdigest()
    assert ca.root_pem.read_bytes() == roots[0].public_bytes(Encoding.PEM)
    assert ca.url.startswith("http://127.0.0.1:")
    assert ca.admin_url.startswith("http://127.0.0.1:")


def test_announcement_is_shell_eval_safe(scep_ca_factory):
    ca = scep_ca_factory("plain")

    env_lines = (ca.state_dir / "server.env").read_text().splitlines()

    assert [line.split("=", 1)[0] for line in env_lines] == [
        "SCEP_URL", "SCEP_CA_SHA256", "SCEP_CA_MD5", "SCEP_ADMIN_URL", "SCEP_CA_PEM",
        "SCEP_PERSONALITY", "SCEP_PID",
    ]
    for line in env_lines:
        assert re.fullmatch(r"[A-Z0-9_]+=[^\s;&|`$]*", line), line


def test_unknown_path_and_operation(scep_ca_factory):
    ca = scep_ca_factory("openxpki")
    base = ca.url.rsplit("/scep/", 1)[0]

    assert http_get(base + "/other", "GetCACaps").status == 404
    assert http_get(ca.url, "GetNextCACert").status == 400


def test_restart_keeps_ca_and_ports(scep_ca_factory):
    ca = scep_ca_factory("openxpki")
    before = (ca.url, ca.admin_url, ca.root_sha256, ca.pid)

    ca.restart()

    assert (ca.url, ca.admin_url, ca.root_sha256) == before[:3]
    assert ca.pid != before[3]
    key_files = sorted((ca.state_dir / "ca").glob("*.key.pem"))
    assert [p.name for p in key_files] == ["issuing.key.pem", "ra.key.pem", "root.key.pem"]
    for path in key_files:
        assert path.stat().st_mode & 0o777 == 0o600
