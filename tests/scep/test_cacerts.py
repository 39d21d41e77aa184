"""Tests for GetCACert parsing, RA selection and the fingerprint check."""

from __future__ import annotations

import datetime
import itertools

import pytest
from cryptography import x509

from agent.scep import cms
from agent.scep.cacerts import (
    MAX_CA_CERTIFICATES,
    CACertificates,
    TrustedCA,
    certificate_der,
    fingerprint,
    issuer_chain,
    normalize_fingerprint,
    parse_ca_certificates,
)
from agent.scep.errors import (
    CANotDownloaded,
    ChainError,
    FingerprintMismatch,
    InvalidInput,
    NoRACertificate,
)
from tests.scep.conftest import NOW, PKIFactory, key_usage


def _verify(certificates: list[x509.Certificate], root_fingerprint: str) -> TrustedCA:
    return CACertificates(tuple(certificates)).verify(root_fingerprint, "sha256", NOW)


def test_ndes_roles_by_key_usage(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    signing = pki.issue("ra-sign", root, usage=key_usage(digital_signature=True))
    encryption = pki.issue("ra-enc", root, usage=key_usage(key_encipherment=True))
    certificates = [root.certificate, signing.certificate, encryption.certificate]

    for order in itertools.permutations(certificates):
        ca = _verify(list(order), fingerprint(root.certificate))
        assert ca.recipient == encryption.certificate
        assert ca.signer == signing.certificate
        assert ca.root == root.certificate
        assert set(ca.ras) == {signing.certificate, encryption.certificate}


def test_ra_order_by_role(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    # The signer expires last, so an order by expiry would put it first.
    signing = pki.issue("ra-sign", root, usage=key_usage(digital_signature=True),
                        not_after=NOW + datetime.timedelta(days=4000))
    encryption = pki.issue("ra-enc", root, usage=key_usage(key_encipherment=True))
    others = [pki.issue(f"ra-other-{index}", root, usage=key_usage(key_encipherment=True),
                        not_after=NOW + datetime.timedelta(days=100 + index)).certificate
              for index in range(2)]
    certificates = [root.certificate, signing.certificate, encryption.certificate, *others]
    expected_others = sorted(others, key=lambda c: fingerprint(c))

    for order in itertools.permutations(certificates):
        ca = _verify(list(order), fingerprint(root.certificate))
        assert ca.ras[0] == encryption.certificate
        assert ca.ras[1] == signing.certificate
        assert list(ca.ras[2:]) == expected_others


def test_ra_without_key_usage_over_ca(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    issuing = pki.issue("issuing", root, ca=True)
    ra = pki.issue("ra", issuing)
    certificates = [root.certificate, issuing.certificate, ra.certificate]

    for order in itertools.permutations(certificates):
        ca = _verify(list(order), fingerprint(root.certificate))
        assert ca.recipient == ra.certificate
        assert ca.signer == ra.certificate
        assert ca.intermediates == (issuing.certificate,)
        assert ca.issuing_ca == issuing.certificate


def test_ra_with_usage_beats_ra_without(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    plain = pki.issue("ra-plain", root)
    encryption = pki.issue("ra-enc", root, usage=key_usage(key_encipherment=True))
    certificates = [root.certificate, plain.certificate, encryption.certificate]

    for order in itertools.permutations(certificates):
        ca = _verify(list(order), fingerprint(root.certificate))
        assert ca.recipient == encryption.certificate
        assert ca.signer == plain.certificate


def test_no_ra_uses_issuing_ca(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True, usage=key_usage(key_cert_sign=True))
    issuing = pki.issue("issuing", root, ca=True, usage=key_usage(key_cert_sign=True))

    for order in itertools.permutations([root.certificate, issuing.certificate]):
        ca = _verify(list(order), fingerprint(root.certificate))
        assert ca.recipient == issuing.certificate
        assert ca.signer == issuing.certificate
        assert ca.ras == ()


def test_single_ca_is_everything(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)

    ca = _verify([root.certificate], fingerprint(root.certificate))

    assert ca.recipient == root.certificate
    assert ca.signer == root.certificate
    assert ca.issuing_ca == root.certificate


def test_ra_without_needed_usage(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    signing = pki.issue("ra-sign", root, usage=key_usage(digital_signature=True))

    with pytest.raises(NoRACertificate, match="encryption"):
        _verify([root.certificate, signing.certificate], fingerprint(root.certificate))


def test_ra_from_other_ca(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    stranger = pki.issue("stranger", ca=True)
    ra = pki.issue("ra", stranger)

    with pytest.raises(ChainError, match="CN=ra"):
        _verify([root.certificate, ra.certificate], fingerprint(root.certificate))


def test_expired_ra(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    ra = pki.issue("ra", root, not_after=NOW - datetime.timedelta(days=1))

    with pytest.raises(ChainError, match="validity"):
        _verify([root.certificate, ra.certificate], fingerprint(root.certificate))


def test_fingerprint_mismatch(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    wrong = "00" * 32

    with pytest.raises(FingerprintMismatch, match="CA fingerprint mismatch") as caught:
        _verify([root.certificate], wrong)

    assert caught.value.expected == wrong
    assert caught.value.actual == fingerprint(root.certificate)


def test_fingerprint_of_ra_is_not_root(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    ra = pki.issue("ra", root)

    with pytest.raises(FingerprintMismatch):
        _verify([root.certificate, ra.certificate], fingerprint(ra.certificate))


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha384", "sha512"])
def test_fingerprint_algorithms(pki: PKIFactory, algorithm: str) -> None:
    root = pki.issue("root", ca=True)
    value = fingerprint(root.certificate, algorithm)

    ca = CACertificates((root.certificate,)).verify(value.upper(), algorithm, NOW)

    assert ca.root == root.certificate


HEX_MD5 = "35872a146af7b6e72b79d77178dfe2eb"


@pytest.mark.parametrize(
    "text",
    [
        HEX_MD5,
        HEX_MD5.upper(),
        ":".join(HEX_MD5[i : i + 2] for i in range(0, 32, 2)),
        " ".join(HEX_MD5[i : i + 2] for i in range(0, 32, 2)),
        "3587 2a14 6af7 b6e7 2b79 d771 78df e2eb",
        "MD5 Fingerprint=" + ":".join(HEX_MD5[i : i + 2].upper() for i in range(0, 32, 2)),
        f"  {HEX_MD5}\n",
    ],
    ids=["plain", "upper", "colons", "spaces", "ndes-groups", "openssl", "padded"],
)
def test_fingerprint_formats(text: str) -> None:
    assert normalize_fingerprint(text, "md5") == HEX_MD5


@pytest.mark.parametrize(
    ("text", "algorithm", "reason"),
    [
        (HEX_MD5, "sha1", "40 hex digits, got 32"),
        (HEX_MD5 + "00", "md5", "32 hex digits, got 34"),
        ("zz" * 16, "md5", "hex digits"),
        ("", "sha256", "64 hex digits, got 0"),
        (HEX_MD5, "sha3", "use md5"),
    ],
)
def test_fingerprint_invalid(text: str, algorithm: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        normalize_fingerprint(text, algorithm)


def test_parse_single_der(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)

    certs = parse_ca_certificates(certificate_der(root.certificate))

    assert certs.certificates == (root.certificate,)


def test_parse_pkcs7(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    ra = pki.issue("ra", root)

    certs = parse_ca_certificates(cms.build_certs_only([ra.certificate, root.certificate]))

    assert certs.certificates == (ra.certificate, root.certificate)


@pytest.mark.parametrize("body", [b"", b"<html>error</html>", b"\x30\x03\x02\x01\x01"])
def test_parse_unusable(body: bytes) -> None:
    with pytest.raises(CANotDownloaded):
        parse_ca_certificates(body)


def _with_version_3(der: bytes) -> bytes:
    """Return `der` with its version field set to 3, which X.509 does not define."""
    patched = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03", 1)
    assert patched != der
    return patched


def test_parse_invalid_version(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    der = _with_version_3(certificate_der(root.certificate))
    bodies = [der, cms.build_certs_only([root.certificate]).replace(
        certificate_der(root.certificate), der)]

    for body in bodies:
        with pytest.raises(CANotDownloaded):
            parse_ca_certificates(body)


def test_parse_too_many_certificates(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    body = cms.build_certs_only([root.certificate] * (MAX_CA_CERTIFICATES + 1))

    with pytest.raises(CANotDownloaded, match="17 certificates"):
        parse_ca_certificates(body)


def test_parse_max_certificates(pki: PKIFactory) -> None:
    root = pki.issue("root", ca=True)
    body = cms.build_certs_only([root.certificate] * MAX_CA_CERTIFICATES)

    assert len(parse_ca_certificates(body).certificates) == MAX_CA_CERTIFICATES


def test_issuer_chain_root_issued(pki: PKIFactory) -> None:
    root = pki.issue("Root", ca=True)
    ra = pki.issue("RA", root)
    leaf = pki.issue("device", root)

    pool = [ra.certificate, root.certificate]

    assert issuer_chain(leaf.certificate, pool) == (root.certificate,)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_issuer_chain_stops_below_root(pki: PKIFactory, order: tuple[int, ...]) -> None:
    root = pki.issue("Root", ca=True)
    policy = pki.issue("Policy CA", root, ca=True)
    issuing = pki.issue("Issuing CA", policy, ca=True)
    leaf = pki.issue("device", issuing)
    certificates = [root.certificate, policy.certificate, issuing.certificate]

    chain = issuer_chain(leaf.certificate, [certificates[index] for index in order])

    assert chain == (issuing.certificate, policy.certificate)


def test_issuer_chain_unknown_issuer(pki: PKIFactory) -> None:
    root = pki.issue("Root", ca=True)
    other = pki.issue("Other Root", ca=True)
    leaf = pki.issue("device", other)

    assert issuer_chain(leaf.certificate, [root.certificate]) == ()
    assert issuer_chain(leaf.certificate, []) == ()
