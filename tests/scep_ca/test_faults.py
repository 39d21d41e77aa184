"""Every reply fault, set on the admin endpoint, by flags, or by the admin command."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep.attributes import MessageType
from agent.scep.cms import verify_signed_data
from agent.scep.errors import ProtocolError
from tests.fixtures.scep_ca import REPO_ROOT, AdminCallError
from tests.scep_ca.requester import http_get, make_csr, new_requester

SUCCESS = "0"


def _send_pkcsreq(ca, name: str = "fault-1"):
    """Send one PKCSReq with a valid challenge; return (requester, HTTP reply, senderNonce)."""
    requester = new_requester(ca.url, name)
    csr = make_csr(requester.signer_key, name, challenge="s3cret")
    reply, nonce = requester.send(
        MessageType.PKCS_REQ, f"tid-{name}", csr.public_bytes(Encoding.DER)
    )
    return requester, reply, nonce


@pytest.fixture
def openxpki_ca(scep_ca_factory):
    return scep_ca_factory("openxpki", challenge="s3cret")


def test_fault_http_500_with_text(openxpki_ca):
    openxpki_ca.set_fault("http-500", http_text="CA database offline")

    _, reply, _ = _send_pkcsreq(openxpki_ca)

    assert reply.status == 500
    assert reply.content_type.startswith("text/plain")
    assert reply.body == b"CA database offline"


def test_fault_empty_body(openxpki_ca):
    openxpki_ca.set_fault("empty-body")

    _, reply, _ = _send_pkcsreq(openxpki_ca)

    assert reply.status == 200
    assert reply.body == b""


def test_fault_non_cms_body(openxpki_ca):
    openxpki_ca.set_fault("non-cms-body")

    _, reply, _ = _send_pkcsreq(openxpki_ca)

    assert reply.status == 200
    assert reply.body
    with pytest.raises(ProtocolError):
        verify_signed_data(reply.body)


def test_fault_drop_connection(openxpki_ca):
    openxpki_ca.set_fault("drop-connection")

    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        _send_pkcsreq(openxpki_ca)


def test_fault_delay_exceeds_client_timeout(openxpki_ca):
    openxpki_ca.set_fault("none", delay=5, operations=["GetCACaps"])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"{openxpki_ca.url}?operation=GetCACaps"

    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        opener.open(url, timeout=0.5)
    openxpki_ca.clear_faults()
    with opener.open(url, timeout=30) as reply:
        caps = reply.read()

    assert b"POSTPKIOperation" in caps


def test_fault_wrong_recipient_nonce(openxpki_ca):
    openxpki_ca.set_fault("wrong-recipient-nonce")

    requester, reply, nonce = _send_pkcsreq(openxpki_ca)
    parsed = requester.parse(reply, nonce)

    assert parsed.pki_status == SUCCESS
    assert parsed.recipient_nonce is not None
    assert parsed.recipient_nonce != nonce
    assert parsed.transaction_id == "tid-fault-1"


def test_fault_wrong_transaction_id(openxpki_ca):
    openxpki_ca.set_fault("wrong-transaction-id")

    requester, reply, nonce = _send_pkcsreq(openxpki_ca)
    parsed = requester.parse(reply, nonce)

    assert parsed.transaction_id != "tid-fault-1"
    assert parsed.recipient_nonce == nonce


def test_fault_unsigned_reply(openxpki_ca):
    openxpki_ca.set_fault("unsigned")

    _, reply, _ = _send_pkcsreq(openxpki_ca)

    assert reply.status == 200
    with pytest.raises(ProtocolError) as error:
        verify_signed_data(reply.body)
    assert error.value.problem == "unexpected number of SignerInfos"


def test_fault_foreign_signer(openxpki_ca):
    openxpki_ca.set_fault("foreign-signer")

    requester, reply, _ = _send_pkcsreq(openxpki_ca)
    message = verify_signed_data(reply.body)

    ca_keys = [c.public_key() for c in requester.ca.certificates]
    assert message.signer not in requester.ca.certificates
    assert message.signer.public_key() not in ca_keys
    with pytest.raises(ProtocolError):
        requester.parse(reply, b"")


def test_fault_no_certificates(openxpki_ca):
    openxpki_ca.set_fault("no-certificates")

    requester, reply, nonce = _send_pkcsreq(openxpki_ca)
    parsed = requester.parse(reply, nonce)

    assert parsed.pki_status == SUCCESS
    assert parsed.certificates == ()


def test_fault_count_limits_replies(openxpki_ca):
    openxpki_ca.set_fault("http-500", count=1)

    _, first, _ = _send_pkcsreq(openxpki_ca, "fault-2")
    requester, second, nonce = _send_pkcsreq(openxpki_ca, "fault-3")

    assert first.status == 500
    assert second.status == 200
    assert requester.parse(second, nonce).pki_status == SUCCESS
    assert openxpki_ca.admin("GET", "faults")["reply"] == "none"


def test_fault_operations_select_get_ca_cert(openxpki_ca):
    openxpki_ca.set_fault("http-500", operations=["GetCACert"])

    broken = http_get(openxpki_ca.url, "GetCACert")
    caps = http_get(openxpki_ca.url, "GetCACaps")

    assert broken.status == 500
    assert caps.status == 200


def test_fault_invalid_setting_rejected(openxpki_ca):
    with pytest.raises(AdminCallError) as error:
        openxpki_ca.set_fault("explode")

    assert error.value.status == 400
    assert "http-500" in error.value.body


def test_fault_from_flags(scep_ca_factory):
    ca = scep_ca_factory("openxpki", challenge="s3cret", fault="http-500", fault_count=1)

    _, first, _ = _send_pkcsreq(ca, "fault-4")
    _, second, _ = _send_pkcsreq(ca, "fault-5")

    assert first.status == 500
    assert second.status == 200


def test_fault_from_admin_command(openxpki_ca):
    settings = json.dumps({"reply": "empty-body", "count": 1})
    command = [
        sys.executable, "-m", "tools.scep_ca", "admin", "--state", str(openxpki_ca.state_dir),
        "faults", "--set", settings,
    ]

    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, check=True, timeout=60)
    _, reply, _ = _send_pkcsreq(openxpki_ca)

    assert json.loads(result.stdout)["reply"] == "empty-body"
    assert reply.status == 200
    assert reply.body == b""
