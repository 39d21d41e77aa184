"""The command line: the admin command on a running CA, start-up errors, GET PKIOperation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep.attributes import MessageType
from tests.fixtures.scep_ca import REPO_ROOT
from tests.scep_ca.requester import http_get_pki_operation, http_post, make_csr, new_requester
from tools.scep_ca.announcement import format_announcement, parse_announcement
from tools.scep_ca.errors import InvalidSettingError
from tools.scep_ca.faults import ReplyFault, parse_duration, parse_faults

PENDING, SUCCESS, FAILURE = "3", "0", "2"


def _admin(state_dir, *arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tools.scep_ca", "admin", "--state", str(state_dir)]
    return subprocess.run(
        [*command, *arguments], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        check=False,
    )


def _pending_request(ca, name: str):
    requester = new_requester(ca.url, name)
    csr = make_csr(requester.signer_key, name)
    assert requester.enroll(csr, f"tid-{name}").pki_status == PENDING
    return requester, csr


def test_admin_command_pending_and_approve(scep_ca_factory):
    ca = scep_ca_factory("openxpki")
    requester, csr = _pending_request(ca, "cli-1")

    listed = _admin(ca.state_dir, "pending")
    approved = _admin(ca.state_dir, "approve", "tid-cli-1")
    polled = requester.poll("tid-cli-1", csr.subject)

    assert listed.returncode == 0, listed.stderr
    assert [r["transaction_id"] for r in json.loads(listed.stdout)] == ["tid-cli-1"]
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "issued"
    assert polled.pki_status == SUCCESS


def test_admin_command_reject_with_fail_info(scep_ca_factory):
    ca = scep_ca_factory("openxpki")
    requester, csr = _pending_request(ca, "cli-2")

    rejected = _admin(ca.state_dir, "reject", "--fail-info", "badCertId")
    polled = requester.poll("tid-cli-2", csr.subject)

    assert rejected.returncode == 0, rejected.stderr
    assert polled.pki_status == FAILURE
    assert polled.fail_info == "4"


def test_admin_command_errors(scep_ca_factory, tmp_path):
    ca = scep_ca_factory("ndes")

    unknown = _admin(ca.state_dir, "approve", "no-such-transaction")
    empty = _admin(tmp_path, "pending")

    assert unknown.returncode == 1
    assert "no request with transactionID 'no-such-transaction'" in unknown.stderr
    assert empty.returncode == 1
    assert "no config.json" in empty.stderr


def test_admin_command_challenge_and_status(scep_ca_factory):
    ca = scep_ca_factory("ndes")

    issued = _admin(ca.state_dir, "issue-challenge")
    status = _admin(ca.state_dir, "status")

    assert issued.returncode == 0, issued.stderr
    assert len(issued.stdout.strip()) == 16
    assert json.loads(status.stdout)["root_md5"] == ca.root_md5
    assert json.loads(status.stdout)["outstanding_challenges"] == 1


def test_state_of_other_personality_rejected(scep_ca_factory):
    ca = scep_ca_factory("plain")
    ca.stop()
    command = [
        sys.executable, "-m", "tools.scep_ca", "--personality", "ndes", "--state",
        str(ca.state_dir),
    ]

    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "it holds a plain CA" in result.stderr
    assert result.stdout == ""


def test_get_pki_operation(scep_ca_factory):
    ca = scep_ca_factory("openxpki", challenge="s3cret")
    requester = new_requester(ca.url, "get-1")
    csr = make_csr(requester.signer_key, "get-1", challenge="s3cret")
    nonce = bytes(range(16))
    body = requester.build(MessageType.PKCS_REQ, "tid-get", csr.public_bytes(Encoding.DER), nonce)

    reply = http_get_pki_operation(ca.url, body)
    parsed = requester.parse(reply, nonce)

    assert parsed.pki_status == SUCCESS
    assert parsed.recipient_nonce == nonce
    assert parsed.transaction_id == "tid-get"


def test_ndes_long_get_rejected_like_iis(scep_ca_factory):
    ca = scep_ca_factory("ndes")
    requester = new_requester(ca.url, "get-2")
    csr = make_csr(requester.signer_key, "get-2", challenge=ca.issue_challenge())
    nonce = bytes(range(16))
    body = requester.build(MessageType.PKCS_REQ, "tid-get2", csr.public_bytes(Encoding.DER), nonce)

    reply = http_get_pki_operation(ca.url, body)
    posted = requester.parse(http_post(ca.url, body), nonce)

    assert reply.status == 404
    assert b"404.15" in reply.body
    assert posted.pki_status == SUCCESS


def test_bad_signature_bad_message_check(scep_ca_factory):
    ca = scep_ca_factory("openxpki", challenge="s3cret")
    requester = new_requester(ca.url, "tampered-1")
    csr = make_csr(requester.signer_key, "tampered-1", challenge="s3cret")
    nonce = bytes(range(16))
    body = requester.build(MessageType.PKCS_REQ, "tid-bad", csr.public_bytes(Encoding.DER), nonce)
    # The signature value is the last element of the DER, so this flips its last bit.
    tampered = body[:-1] + bytes([body[-1] ^ 1])

    parsed = requester.parse(http_post(ca.url, tampered), nonce)

    assert parsed.pki_status == FAILURE
    assert parsed.fail_info == "1"
    assert parsed.transaction_id == "tid-bad"
    assert parsed.recipient_nonce == nonce
    assert ca.pending() == []


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("2h", 7200), ("60d", 5184000)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text, "--cert-lifetime") == seconds


@pytest.mark.parametrize("text", ["", "0", "-5", "5w", "1.5h", "m"])
def test_parse_duration_invalid(text):
    with pytest.raises(InvalidSettingError):
        parse_duration(text, "--cert-lifetime")


@pytest.mark.parametrize(
    "settings",
    [
        {"reply": "explode"},
        {"delay": -1},
        {"count": 0},
        {"operations": "PKIOperation"},
        {"colour": "red"},
        {"cert_lifetime": "soon"},
        {"reply": "unsigned", "operations": ["GetCACert"]},
    ],
)
def test_parse_faults_invalid(settings):
    with pytest.raises(InvalidSettingError):
        parse_faults(settings)


def test_fault_count_runs_out():
    settings = parse_faults({"reply": "unsigned", "count": 2, "cert_lifetime": "5m"})

    once = settings.after_use()
    twice = once.after_use()

    assert once.reply is ReplyFault.UNSIGNED
    assert once.count == 1
    assert twice.reply is ReplyFault.NONE
    assert twice.count is None
    assert twice.cert_lifetime == 300


def test_announcement_round_trip() -> None:
    values = {"SCEP_URL": "http://127.0.0.1:1/scep", "SCEP_CA_PEM": "/tmp/a b/root.pem",
              "EMPTY": ""}
    assert parse_announcement(format_announcement(values)) == values
