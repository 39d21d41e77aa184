"""The device CLI's walkthrough against the test CA's openxpki personality."""

from __future__ import annotations

import stat
import subprocess
from typing import Any

from cryptography import x509

from tests.e2e.netconf import (
    ca_requests,
    call,
    certificate_rows,
    commit,
    enroll_xml,
    enrollment_state,
    row,
    server_xml,
    stored_certificate_path,
    stored_key_path,
    wait_for_server,
    wait_for_state,
    wait_until,
)

CHALLENGE = "walkthrough-secret"
DN = "CN=mycert1.co.uk, C=UK"


def configure(session: Any, ca: Any, dn: str = DN, **enroll: Any) -> None:
    servers = server_xml(1, "xpki-srv", ca.url, ca.root_sha256, cipher="aes128-cbc",
                         renew_request="pkcs-req")
    enrollments = enroll_xml("mycert1", "xpki-srv", dn, password=CHALLENGE,
                             ip_address="192.168.100.101", profile="tls-server", **enroll)
    commit(session, servers, enrollments)


def openssl_hash(path: Any) -> str:
    result = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(path)],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_walkthrough_pending_approve_issued(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki", approval="manual", challenge=CHALLENGE)
    agent = agent_factory()
    with agent.connect() as session:
        configure(session, ca)

        pending = wait_for_state(session, "mycert1", "pending",
                                 reason="waiting for the CA to issue the certificate")
        transaction_id = pending["transaction-id"]
        assert [entry["transaction_id"] for entry in ca.pending()] == [transaction_id]
        rows = certificate_rows(session)
        assert row(rows, "mycert1", "pub")["subject-hash"] == "PENDING"

        ca.approve(transaction_id)
        call(session, "trigger")
        issued = wait_for_state(session, "mycert1", "issued")

        assert issued["transaction-id"] == transaction_id
        assert issued["next-renewal"]
        server = wait_for_server(session, 1, "responding")
        assert server["encryption-certificate"] == "xpki-srv+ra"
        rows = certificate_rows(session)

    certificate_path = stored_certificate_path(agent.state_dir, "mycert1")
    certificate = x509.load_pem_x509_certificates(certificate_path.read_bytes())[0]
    pub = row(rows, "mycert1", "pub")
    assert pub["subject-hash"] == openssl_hash(certificate_path)
    assert pub["name"] == "mycert1.co.uk"
    assert pub["distribution"] == "scep"
    assert pub["serial"] == f"{certificate.serial_number:x}"
    assert pub["expires"].startswith(certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M"))
    key = row(rows, "mycert1", "key")
    assert key["key-size"] == "2048"
    assert key["distribution"] == "local"
    assert stat.S_IMODE(stored_key_path(agent.state_dir, "mycert1").stat().st_mode) == 0o600
    root = row(rows, "xpki-srv", "ca-local")
    assert root["sha256-fingerprint"] == ca.root_sha256.lower()
    assert root["subject-hash"] == openssl_hash(ca.root_pem)
    row(rows, "xpki-srv+ra", "ca-local")
    intermediates = [r["label"] for r in rows if r["label"].startswith("xpki-srv-1.")]
    assert len(intermediates) == 1
    intermediate = row(rows, intermediates[0], "ca-local")
    assert intermediates[0] == f"xpki-srv-1.{intermediate['subject-hash']}"


def test_reject_then_edit_new_key(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki", approval="manual", challenge=CHALLENGE)
    agent = agent_factory()
    with agent.connect() as session:
        configure(session, ca)
        first = wait_for_state(session, "mycert1", "pending",
                               reason="waiting for the CA to issue the certificate")

        ca.reject(first["transaction-id"], fail_info="badRequest")
        call(session, "trigger")
        rejected = wait_for_state(session, "mycert1", "rejected")

        assert rejected["fail-info"] == "badRequest"
        assert "check the challenge password" in rejected["reason"]
        assert row(certificate_rows(session), "mycert1", "pub")["subject-hash"] == "REJECTED"

        configure(session, ca, dn="CN=mycert1b.co.uk, C=UK")
        second = wait_for_state(session, "mycert1", "pending",
                                reason="waiting for the CA to issue the certificate")

    assert second["transaction-id"] != first["transaction-id"]
    assert [entry["transaction_id"] for entry in ca.pending()] == [second["transaction-id"]]


def test_renewal_pkcs_req_with_old_certificate(agent_factory: Any,
                                               scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki", approval="auto", challenge=CHALLENGE, cert_lifetime="60s")
    agent = agent_factory()
    with agent.connect() as session:
        configure(session, ca, renewal_threshold=20)
        first = wait_for_state(session, "mycert1", "issued")
        first_serial = row(certificate_rows(session), "mycert1", "pub")["serial"]

        def renewed() -> dict[str, Any] | None:
            pub = row(certificate_rows(session), "mycert1", "pub")
            return pub if pub["serial"] != first_serial else None

        second = wait_until(renewed, "a renewed certificate")
        state = wait_for_state(session, "mycert1", "issued")

    assert state["renewing"] == "false"
    assert state["transaction-id"] != first["transaction-id"]
    assert second["subject"] == row([second], "mycert1", "pub")["subject"]
    renewal = [r for r in ca_requests(ca.state_dir)
               if r["transaction_id"] == state["transaction-id"]]
    assert len(renewal) == 1
    assert renewal[0]["message_type"] == "PKCS_REQ"
    # NOTE: the CA record does not say which certificate signed the request; the
    # agent's renewal path signs with the current certificate (see worker._send).


def test_renew_now_and_re_enroll_rpcs(agent_factory: Any, scep_ca_factory: Any) -> None:
    # The default 60-day renewal window would refuse renewing a fresh one-year certificate.
    ca = scep_ca_factory("openxpki", approval="auto", challenge=CHALLENGE,
                         renewal_window="400d")
    agent = agent_factory()

    def issued_after(session: Any, *old: str) -> dict[str, Any] | None:
        state = enrollment_state(session, "mycert1")
        if state.get("state") != "issued" or state.get("reason") != "certificate issued":
            return None
        return state if state.get("transaction-id") not in old else None

    with agent.connect() as session:
        configure(session, ca)
        first = wait_for_state(session, "mycert1", "issued")
        first_key = stored_key_path(agent.state_dir, "mycert1").read_bytes()

        call(session, "renew-now", name="mycert1")
        renewed = wait_until(lambda: issued_after(session, first["transaction-id"]),
                             "a renewed certificate")
        renewed_key = stored_key_path(agent.state_dir, "mycert1").read_bytes()

        call(session, "re-enroll", name="mycert1")
        again = wait_until(
            lambda: issued_after(session, first["transaction-id"], renewed["transaction-id"]),
            "a certificate from a fresh enrollment")
        last_key = stored_key_path(agent.state_dir, "mycert1").read_bytes()

    assert len({first_key, renewed_key, last_key}) == 3
    assert again["attempts"] == "1"
    types = {r["transaction_id"]: r["message_type"] for r in ca_requests(ca.state_dir)}
    assert types[renewed["transaction-id"]] == "PKCS_REQ"
    assert types[again["transaction-id"]] == "PKCS_REQ"


def test_renewal_outside_window_keeps_certificate(agent_factory: Any,
                                                  scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki", approval="auto", challenge=CHALLENGE)
    agent = agent_factory()
    with agent.connect() as session:
        configure(session, ca)
        first = wait_for_state(session, "mycert1", "issued")
        serial = row(certificate_rows(session), "mycert1", "pub")["serial"]

        call(session, "renew-now", name="mycert1")
        rejected = wait_until(
            lambda: (state if (state := enrollment_state(session, "mycert1")).get("fail-info")
                     else None),
            "the CA's answer to the renewal")
        rows = certificate_rows(session)

    assert rejected["state"] == "issued"
    assert rejected["renewing"] == "true"
    assert rejected["transaction-id"] != first["transaction-id"]
    assert rejected["next-attempt"]
    assert row(rows, "mycert1", "pub")["serial"] == serial
