"""Renewal rules, NDES challenges and failures, templates and certificate lifetimes."""

from __future__ import annotations

import datetime
import html
import re
import urllib.request

import pytest
from cryptography import x509

from agent.scep.attributes import MessageType
from tests.fixtures.scep_ca import AdminCallError
from tests.scep_ca.requester import (
    Requester,
    key_usage,
    make_csr,
    new_key,
    new_requester,
)
from tools.scep_ca.challenges import MAX_OUTSTANDING, ChallengeBook
from tools.scep_ca.issuing import TEMPLATE_NAME_OID, encode_template_name
from tools.scep_ca.store import StateStore

SUCCESS, FAILURE = "0", "2"
BAD_REQUEST = "2"
E_INVALIDARG = str(0x80070057 - (1 << 32))
INVALID_PASSWORD = str(0x80070056 - (1 << 32))

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _enrolled(ca, name: str, **options) -> tuple[Requester, x509.Certificate]:
    """Enroll `name` with a one-time challenge; return the requester and the certificate."""
    requester = new_requester(ca.url, name, **options)
    csr = make_csr(requester.signer_key, name, challenge=ca.issue_challenge())
    reply = requester.enroll(csr, f"tid-{name}")
    assert reply.pki_status == SUCCESS
    return requester, reply.certificates[0]


def _renewer(first: Requester, current: x509.Certificate) -> Requester:
    """Return a requester that signs with the current certificate and its key."""
    return Requester(first.url, first.ca, first.signer_key, current)


def test_openxpki_renewal_inside_window(scep_ca_factory):
    ca = scep_ca_factory("openxpki", cert_lifetime="120s", renewal_window="1h")
    first, current = _enrolled(ca, "renew-1")
    renewer = _renewer(first, current)
    new_key_csr = make_csr(new_key(), "renew-1")

    reply = renewer.enroll(new_key_csr, "tid-renew-1b")

    assert reply.pki_status == SUCCESS
    renewed = reply.certificates[0]
    assert renewed.subject == current.subject
    assert renewed.public_key() == new_key_csr.public_key()
    assert renewed.serial_number != current.serial_number


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("outside window", {}),
        ("same key", {"renewal_window": "1h", "cert_lifetime": "120s"}),
        ("other subject", {"renewal_window": "1h", "cert_lifetime": "120s"}),
    ],
)
def test_openxpki_renewal_rejected(scep_ca_factory, case, options):
    ca = scep_ca_factory("openxpki", **options)
    first, current = _enrolled(ca, "renew-2")
    renewer = _renewer(first, current)
    key = first.signer_key if case == "same key" else new_key()
    name = "someone-else" if case == "other subject" else "renew-2"

    reply = renewer.enroll(make_csr(key, name), "tid-renew-2b")

    assert reply.pki_status == FAILURE
    assert reply.fail_info == BAD_REQUEST
    assert ca.pending() == []


def test_openxpki_renewal_req_bad_request(scep_ca_factory):
    ca = scep_ca_factory("openxpki", renewal_window="400d")
    first, current = _enrolled(ca, "renew-3")
    renewer = _renewer(first, current)

    reply = renewer.enroll(make_csr(new_key(), "renew-3"), "tid-r3", MessageType.RENEWAL_REQ)

    assert reply.pki_status == FAILURE
    assert reply.fail_info == BAD_REQUEST


@pytest.mark.parametrize("personality", ["ndes", "plain"])
def test_renewal_req_signed_by_current_cert(scep_ca_factory, personality):
    ca = scep_ca_factory(personality)
    first, current = _enrolled(ca, "renew-4")
    renewer = _renewer(first, current)

    reply = renewer.enroll(make_csr(new_key(), "renew-4"), "tid-r4", MessageType.RENEWAL_REQ)

    assert reply.pki_status == SUCCESS
    assert reply.certificates[0].subject == current.subject


def test_ndes_renewal_req_self_signed_rejected(scep_ca_factory):
    ca = scep_ca_factory("ndes")
    requester = new_requester(ca.url, "renew-5")
    csr = make_csr(requester.signer_key, "renew-5", challenge=ca.issue_challenge())

    reply = requester.enroll(csr, "tid-r5", MessageType.RENEWAL_REQ)

    assert reply.pki_status == FAILURE
    assert reply.fail_info == BAD_REQUEST
    assert reply.hresult == E_INVALIDARG


@pytest.mark.parametrize("challenge", [None, "0123456789ABCDEF"])
def test_ndes_wrong_challenge_failure_shape(scep_ca_factory, challenge):
    ca = scep_ca_factory("ndes")
    requester = new_requester(ca.url, "ndes-1")

    reply = requester.enroll(make_csr(requester.signer_key, "ndes-1", challenge=challenge), "t1")

    assert reply.pki_status == FAILURE
    assert reply.fail_info == BAD_REQUEST
    assert reply.hresult == INVALID_PASSWORD
    assert reply.message.content == b"\x00"
    assert ca.pending() == []


def test_ndes_challenge_single_use(scep_ca_factory):
    ca = scep_ca_factory("ndes")
    challenge = ca.issue_challenge()
    first = new_requester(ca.url, "ndes-2")
    second = new_requester(ca.url, "ndes-3")

    used = first.enroll(make_csr(first.signer_key, "ndes-2", challenge=challenge), "t2")
    reused = second.enroll(make_csr(second.signer_key, "ndes-3", challenge=challenge), "t3")

    assert re.fullmatch(r"[0-9A-F]{16}", challenge)
    assert used.pki_status == SUCCESS
    assert reused.pki_status == FAILURE
    assert reused.hresult == INVALID_PASSWORD


def test_ndes_password_cache_full(scep_ca_factory):
    ca = scep_ca_factory("ndes")
    page_url = ca.admin_url + "certsrv/mscep_admin/"

    issued = [ca.issue_challenge() for _ in range(MAX_OUTSTANDING)]
    with pytest.raises(AdminCallError) as full:
        ca.issue_challenge()
    with _opener.open(page_url, timeout=30) as reply:
        page = html.unescape(reply.read().decode())

    assert len(set(issued)) == MAX_OUTSTANDING
    assert full.value.status == 429
    assert "password cache is full" in page
    md5 = ca.root_md5.upper()
    grouped = " ".join(md5[i : i + 8] for i in range(0, 32, 8))
    assert grouped in page


def test_ndes_admin_page_issues_challenge(scep_ca_factory):
    ca = scep_ca_factory("ndes")
    requester = new_requester(ca.url, "ndes-4")

    with _opener.open(ca.admin_url + "certsrv/mscep_admin/", timeout=30) as reply:
        page = reply.read().decode()
    challenge = re.search(r"challenge password is: <B> ([0-9A-F]{16}) </B>", page).group(1)
    enrolled = requester.enroll(make_csr(requester.signer_key, "ndes-4", challenge=challenge), "t4")

    assert enrolled.pki_status == SUCCESS


def test_challenge_expires_after_60_minutes(tmp_path):
    now = [datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)]
    store = StateStore(tmp_path)
    store.create()
    book = ChallengeBook(store, clock=lambda: now[0])

    used_in_time, _ = book.issue()
    used_too_late, _ = book.issue()
    now[0] += datetime.timedelta(minutes=59)
    accepted_at_59 = book.consume(used_in_time)
    now[0] += datetime.timedelta(minutes=2)
    accepted_at_61 = book.consume(used_too_late)

    assert accepted_at_59 is True
    assert accepted_at_61 is False
    assert book.outstanding() == 0
    assert (tmp_path / "challenges.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("usage", "template", "signature", "encipherment"),
    [
        ((True, False), "NDESSignature", True, False),
        ((False, True), "NDESEncryption", False, True),
        ((True, True), "IPSECIntermediateOffline", True, True),
        (None, "IPSECIntermediateOffline", True, True),
    ],
)
def test_ndes_template_by_key_usage(scep_ca_factory, usage, template, signature, encipherment):
    ca = scep_ca_factory("ndes")
    requester = new_requester(ca.url, "ndes-5")
    requested = key_usage(*usage) if usage else None
    csr = make_csr(
        requester.signer_key, "ndes-5", challenge=ca.issue_challenge(), key_usage=requested
    )

    reply = requester.enroll(csr, "t5")

    certificate = reply.certificates[0]
    issued_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    extension = certificate.extensions.get_extension_for_oid(TEMPLATE_NAME_OID).value
    assert issued_usage.digital_signature is signature
    assert issued_usage.key_encipherment is encipherment
    assert extension.value == encode_template_name(template)


@pytest.mark.parametrize("lifetime", ["90s", "5m"])
def test_short_lived_certificates(scep_ca_factory, lifetime):
    ca = scep_ca_factory("plain", cert_lifetime=lifetime)

    _, certificate = _enrolled(ca, "short-1")

    seconds = {"90s": 90, "5m": 300}[lifetime]
    validity = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert validity == datetime.timedelta(seconds=seconds)


def test_short_lifetime_set_on_admin_endpoint(scep_ca_factory):
    ca = scep_ca_factory("openxpki")
    ca.set_fault("none", cert_lifetime=60)

    _, certificate = _enrolled(ca, "short-2")

    validity = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert validity == datetime.timedelta(seconds=60)


def test_plain_wrong_challenge_rejected(scep_ca_factory):
    ca = scep_ca_factory("plain", challenge="s3cret")
    requester = new_requester(ca.url, "plain-1")

    reply = requester.enroll(make_csr(requester.signer_key, "plain-1", challenge="nope"), "t6")

    assert reply.pki_status == FAILURE
    assert reply.fail_info == BAD_REQUEST
    assert reply.hresult is None


def test_repeated_transaction_id(scep_ca_factory):
    ca = scep_ca_factory("openxpki", challenge="s3cret")
    requester = new_requester(ca.url, "repeat-1")
    csr = make_csr(requester.signer_key, "repeat-1", challenge="s3cret")
    pending_csr = make_csr(new_key(), "repeat-2")
    other_csr = make_csr(new_key(), "repeat-3")

    first = requester.enroll(csr, "tid-same")
    again = requester.enroll(csr, "tid-same")
    pending_reply = requester.enroll(pending_csr, "tid-held")
    clash = requester.enroll(other_csr, "tid-held")

    assert first.certificates[0].serial_number == again.certificates[0].serial_number
    assert pending_reply.pki_status == "3"
    assert clash.pki_status == FAILURE
    assert [p["subject"] for p in ca.pending()] == ["CN=repeat-2"]
