"""Enrollment and renewal against the test CA's ndes personality."""

from __future__ import annotations

from typing import Any

from tests.e2e.netconf import (
    ca_requests,
    certificate_rows,
    commit,
    enroll_xml,
    row,
    server_xml,
    wait_for_server,
    wait_for_state,
    wait_until,
)


def grouped_md5(fingerprint: str) -> str:
    """Return an MD5 fingerprint the way the NDES admin page shows it: groups of 8 digits."""
    digits = fingerprint.replace(" ", "").replace(":", "").upper()
    return " ".join(digits[index:index + 8] for index in range(0, len(digits), 8))


def configure(session: Any, ca: Any, challenge: str, **enroll: Any) -> None:
    servers = server_xml(2, "win-srv", ca.url, grouped_md5(ca.root_md5), fingerprint_alg="md5",
                         cipher="3des-cbc", renew_request="renewal-req")
    enrollments = enroll_xml("mycert2", "win-srv", "CN=mycert2.co.uk, C=UK", password=challenge,
                             ip_address="192.168.100.102", **enroll)
    commit(session, servers, enrollments)


def test_ndes_3des_md5_issued(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("ndes")
    agent = agent_factory()
    with agent.connect() as session:
        configure(session, ca, ca.issue_challenge())

        state = wait_for_state(session, "mycert2", "issued")
        server = wait_for_server(session, 2, "responding")
        rows = certificate_rows(session)

    assert state["transaction-id"]
    assert "DES3" in server["capability"]
    assert "AES" not in server["capability"]
    # NDES has one RA for signing and one for encryption; the labels follow their order.
    assert {server["encryption-certificate"], server["signer-certificate"]} == {
        "win-srv+ra", "win-srv+ra-2"}
    assert server["encryption-certificate"] != server["signer-certificate"]
    assert row(rows, "mycert2", "pub")["name"] == "mycert2.co.uk"
    assert row(rows, "win-srv", "ca-local")["server"] == "win-srv"


def test_ndes_renewal_req(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("ndes", cert_lifetime="60s")
    agent = agent_factory()
    with agent.connect() as session:
        configure(session, ca, ca.issue_challenge(), renewal_threshold=20)
        first = wait_for_state(session, "mycert2", "issued")
        first_serial = row(certificate_rows(session), "mycert2", "pub")["serial"]

        def renewed() -> dict[str, Any] | None:
            pub = row(certificate_rows(session), "mycert2", "pub")
            return pub if pub["serial"] != first_serial else None

        wait_until(renewed, "a renewed certificate")
        state = wait_for_state(session, "mycert2", "issued")

    assert state["transaction-id"] != first["transaction-id"]
    records = {r["transaction_id"]: r for r in ca_requests(ca.state_dir)}
    assert records[first["transaction-id"]]["message_type"] == "PKCS_REQ"
    assert records[state["transaction-id"]]["message_type"] == "RENEWAL_REQ"
