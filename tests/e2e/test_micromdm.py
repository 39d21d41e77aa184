"""Enrollment against the real micromdm/scep server, and its server conditions."""

from __future__ import annotations

import subprocess
from typing import Any

from cryptography import x509

from tests.e2e.netconf import (
    certificate_rows,
    commit,
    enroll_xml,
    row,
    server_xml,
    stored_certificate_path,
    wait_for_server,
    wait_for_state,
)
from tests.fixtures.agent import free_port


def openssl_hash(path: Any) -> str:
    result = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(path)],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_micromdm_issues_certificate(agent_factory: Any, micromdm: Any) -> None:
    agent = agent_factory()
    with agent.connect() as session:
        commit(session,
               server_xml(1, "mdm-srv", micromdm.url, micromdm.ca_sha256, cipher="3des-cbc"),
               enroll_xml("device1", "mdm-srv", "CN=device1.example.net, O=pki-agent",
                          password=micromdm.challenge, ip_address="192.0.2.10"))

        state = wait_for_state(session, "device1", "issued")
        server = wait_for_server(session, 1, "responding")
        rows = certificate_rows(session)

    assert state["attempts"] == "1"
    assert "POSTPKIOperation" in server["capability"]
    certificate_path = stored_certificate_path(agent.state_dir, "device1")
    certificate = x509.load_pem_x509_certificates(certificate_path.read_bytes())[0]
    pub = row(rows, "device1", "pub")
    assert pub["name"] == "device1.example.net"
    assert pub["subject-hash"] == openssl_hash(certificate_path)
    assert pub["expires"].startswith(certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M"))
    assert pub["server"] == "mdm-srv"
    key = row(rows, "device1", "key")
    assert key["subject-hash"] == pub["subject-hash"]
    assert key["key-size"] == "2048"
    root = row(rows, "mdm-srv", "ca-local")
    assert root["subject-hash"] == openssl_hash(micromdm.ca_pem)
    assert root["sha256-fingerprint"] == micromdm.ca_sha256.lower()
    assert root["subject"] == "OU=SCEP CA,O=SCEP Peer Test CA,C=US"
    assert root["name"] == "SCEP CA"


def test_micromdm_wrong_fingerprint(agent_factory: Any, micromdm: Any) -> None:
    wrong = "00" * 32
    agent = agent_factory()
    with agent.connect() as session:
        commit(session, server_xml(1, "mdm-srv", micromdm.url, wrong),
               enroll_xml("device1", "mdm-srv", "CN=device1", password=micromdm.challenge))

        server = wait_for_server(session, 1, "ca-fingerprint-mismatch")
        state = wait_for_state(session, "device1", "pending")

    assert micromdm.ca_sha256.lower() in server["message"]
    assert "ca-fingerprint-mismatch" in state["reason"]
    assert "mdm-srv" not in [r["label"] for r in certificate_rows_of(agent)]


def certificate_rows_of(agent: Any) -> list[dict[str, Any]]:
    with agent.connect() as session:
        return certificate_rows(session)


def test_dead_url_not_reachable(agent_factory: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/scep"
    agent = agent_factory()
    with agent.connect() as session:
        commit(session, server_xml(1, "dead-srv", url, "11" * 32),
               enroll_xml("device1", "dead-srv", "CN=device1", password="x"))

        server = wait_for_server(session, 1, "server-not-reachable")

    host = url.split("/")[2]
    assert server["message"] == f"SCEP GetCACert failed: connection refused by {host}"
    assert server["last-check"]
    assert server["next-check"]
