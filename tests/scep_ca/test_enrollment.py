"""PKCSReq, RenewalReq and CertPoll against each personality, with operator decisions."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from agent.scep.envelope import ContentCipher
from tests.fixtures.scep_ca import AdminCallError
from tests.scep_ca.requester import (
    Requester,
    envelope_algorithms,
    make_csr,
    new_requester,
)

SUCCESS, FAILURE, PENDING = "0", "2", "3"
BAD_REQUEST, BAD_CERT_ID = "2", "4"
# HRESULTs as NDES writes them: signed decimal.
E_INVALIDARG = str(0x80070057 - (1 << 32))
INVALID_PASSWORD = str(0x80070056 - (1 << 32))
ADMIN_DENIED = str(0x80094014 - (1 << 32))


def _eku(certificate: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _enroll(requester: Requester, name: str, transaction_id: str, **csr_options):
    csr = make_csr(requester.signer_key, name, **csr_options)
    return requester.enroll(csr, transaction_id)


@pytest.mark.parametrize("personality", ["openxpki", "ndes", "plain"])
def test_enroll_with_issued_challenge(scep_ca_factory, personality):
    ca = scep_ca_factory(personality)
    requester = new_requester(ca.url, "device-1")

    reply = _enroll(requester, "device-1", "tid-1", challenge=ca.issue_challenge())

    assert reply.pki_status == SUCCESS
    assert reply.transaction_id == "tid-1"
    assert len(reply.certificates) == 1
    certificate = reply.certificates[0]
    assert certificate.public_key() == requester.signer_key.public_key()
    assert certificate.subject == requester.signer.subject
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["device-1.example.net"]
    assert ca.pending() == []


@pytest.mark.parametrize(
    ("digest", "cipher", "expected_cipher"),
    [
        ("sha1", ContentCipher.TRIPLE_DES_CBC, "tripledes_3key"),
        ("sha256", ContentCipher.AES128_CBC, "aes128_cbc"),
        ("sha512", ContentCipher.AES256_CBC, "aes256_cbc"),
        ("sha384", ContentCipher.DES_CBC, "des"),
    ],
)
def test_openxpki_reply_uses_request_algorithms(scep_ca_factory, digest, cipher, expected_cipher):
    ca = scep_ca_factory("openxpki", challenge="s3cret")
    requester = new_requester(ca.url, "device-2", digest=digest, cipher=cipher)

    reply = _enroll(requester, "device-2", "tid-alg", challenge="s3cret")

    assert reply.pki_status == SUCCESS
    assert reply.message.digest_algorithm == digest
    assert envelope_algorithms(reply.envelope) == (expected_cipher, "rsaes_pkcs1v15")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ("tripledes_3key", "rsaes_pkcs1v15")),
        (
            {"reply_cipher": "aes128-cbc", "key_transport": "rsaes-oaep"},
            ("aes128_cbc", "rsaes_oaep"),
        ),
        ({"key_transport": "rsaes-oaep"}, ("tripledes_3key", "rsaes_oaep")),
    ],
)
def test_ndes_reply_cipher_switch(scep_ca_factory, options, expected):
    ca = scep_ca_factory("ndes", **options)
    requester = new_requester(ca.url, "device-3", cipher=ContentCipher.AES128_CBC)

    reply = _enroll(requester, "device-3", "tid-ndes-alg", challenge=ca.issue_challenge())

    assert reply.pki_status == SUCCESS
    assert envelope_algorithms(reply.envelope) == expected
    assert reply.hresult is None


def test_openxpki_wrong_challenge_pending_then_approve(scep_ca_factory):
    ca = scep_ca_factory("openxpki", challenge="s3cret")
    requester = new_requester(ca.url, "device-4")
    csr = make_csr(requester.signer_key, "device-4", challenge="wrong")

    first = requester.enroll(csr, "tid-pending")
    pending = ca.pending()
    poll_before = requester.poll("tid-pending", csr.subject)
    approved = ca.approve("tid-pending")
    poll_after = requester.poll("tid-pending", csr.subject)

    assert first.pki_status == PENDING
    assert first.certificates == ()
    assert [p["transaction_id"] for p in pending] == ["tid-pending"]
    assert pending[0]["subject"] == "CN=device-4"
    assert "csr" not in pending[0]
    assert poll_before.pki_status == PENDING
    assert approved["status"] == "issued"
    assert poll_after.pki_status == SUCCESS
    assert poll_after.transaction_id == "tid-pending"
    assert poll_after.certificates[0].serial_number == int(approved["serial"], 16)
    assert ca.pending() == []


@pytest.mark.parametrize("personality", ["openxpki", "ndes", "plain"])
def test_manual_approval_pending_then_reject(scep_ca_factory, personality):
    ca = scep_ca_factory(personality, approval="manual")
    requester = new_requester(ca.url, "device-5")
    csr = make_csr(requester.signer_key, "device-5", challenge=ca.issue_challenge())

    first = requester.enroll(csr, "tid-reject")
    ca.reject("tid-reject", fail_info="badRequest")
    polled = requester.poll("tid-reject", csr.subject)

    assert first.pki_status == PENDING
    assert polled.pki_status == FAILURE
    assert polled.fail_info == BAD_REQUEST
    assert polled.certificates == ()
    if personality == "ndes":
        assert polled.hresult == ADMIN_DENIED
    else:
        assert polled.hresult is None


def test_pending_survives_restart(scep_ca_factory):
    ca = scep_ca_factory("openxpki")
    requester = new_requester(ca.url, "device-6")
    csr = make_csr(requester.signer_key, "device-6")

    first = requester.enroll(csr, "tid-restart")
    ca.restart()
    still_pending = requester.poll("tid-restart", csr.subject)
    ca.approve()
    ca.restart()
    issued = requester.poll("tid-restart", csr.subject)

    assert first.pki_status == PENDING
    assert still_pending.pki_status == PENDING
    assert issued.pki_status == SUCCESS


def test_poll_unknown_transaction_bad_cert_id(scep_ca_factory):
    ca = scep_ca_factory("openxpki")
    requester = new_requester(ca.url, "device-7")

    reply = requester.poll("never-sent", requester.signer.subject)

    assert reply.pki_status == FAILURE
    assert reply.fail_info == BAD_CERT_ID


def test_admin_decisions_need_pending_request(scep_ca_factory):
    ca = scep_ca_factory("openxpki", challenge="s3cret")
    requester = new_requester(ca.url, "device-8")
    _enroll(requester, "device-8", "tid-done", challenge="s3cret")

    with pytest.raises(AdminCallError) as not_pending:
        ca.approve("tid-done")
    with pytest.raises(AdminCallError) as unknown:
        ca.reject("no-such-id")
    with pytest.raises(AdminCallError) as none_pending:
        ca.approve()

    assert not_pending.value.status == 409
    assert unknown.value.status == 404
    assert none_pending.value.status == 409


@pytest.mark.parametrize(
    ("template", "expected_eku"),
    [
        (None, ExtendedKeyUsageOID.SERVER_AUTH),
        ("tls-server", ExtendedKeyUsageOID.SERVER_AUTH),
        ("tls-client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ],
)
def test_openxpki_profile_from_template(scep_ca_factory, template, expected_eku):
    ca = scep_ca_factory("openxpki", challenge="s3cret")
    requester = new_requester(ca.url, "device-9")

    reply = _enroll(requester, "device-9", "tid-profile", challenge="s3cret", template=template)

    assert reply.pki_status == SUCCESS
    assert _eku(reply.certificates[0]) == [expected_eku]


def test_openxpki_unknown_profile_rejected(scep_ca_factory):
    ca = scep_ca_factory("openxpki", challenge="s3cret")
    requester = new_requester(ca.url, "device-10")

    reply = _enroll(requester, "device-10", "tid-unknown", challenge="s3cret", template="nope")

    assert reply.pki_status == FAILURE
    assert reply.fail_info == BAD_REQUEST
