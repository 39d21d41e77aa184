"""Each enrollment server condition, as the daemon reports it over NETCONF."""

from __future__ import annotations

from typing import Any

from tests.e2e.broken_ca import broken_ra_server
from tests.e2e.netconf import (
    call,
    certificate_rows,
    commit,
    delete_server,
    enroll_xml,
    server_xml,
    wait_for_server,
    wait_for_state,
)


def test_no_ra_cert_found(agent_factory: Any) -> None:
    agent = agent_factory()
    with broken_ra_server() as (url, fingerprint), agent.connect() as session:
        commit(session, server_xml(1, "broken-srv", url, fingerprint),
               enroll_xml("device1", "broken-srv", "CN=device1", password="x"))

        server = wait_for_server(session, 1, "no-ra-cert-found")
        state = wait_for_state(session, "device1", "pending")

    assert "encryption" in server["message"]
    assert "no-ra-cert-found" in state["reason"]


def test_ca_not_downloaded(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki", fault="non-cms-body", fault_operations="GetCACert")
    agent = agent_factory()
    with agent.connect() as session:
        commit(session, server_xml(1, "xpki-srv", ca.url, ca.root_sha256))

        server = wait_for_server(session, 1, "ca-not-downloaded")

    assert server["message"]
    assert "xpki-srv" not in [row["label"] for row in certificate_rows_of(agent)]


def test_http_500_is_ca_not_downloaded(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki", fault="http-500", fault_operations="GetCACert")
    agent = agent_factory()
    with agent.connect() as session:
        commit(session, server_xml(1, "xpki-srv", ca.url, ca.root_sha256))

        server = wait_for_server(session, 1, "ca-not-downloaded")

    # The server replied, so it is reachable; the reply shows why nothing was downloaded.
    assert server["message"].startswith(f"SCEP GetCACert failed: HTTP 500 from {ca.url}")
    assert "fault injected" in server["message"]


def certificate_rows_of(agent: Any) -> list[dict[str, Any]]:
    with agent.connect() as session:
        return certificate_rows(session)


def test_disabled_server_not_contacted(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki")
    agent = agent_factory()
    with agent.connect() as session:
        commit(session, server_xml(1, "xpki-srv", ca.url, ca.root_sha256, enabled=False))

        server = wait_for_server(session, 1, "disabled")

    assert "last-check" not in server
    assert not (ca.state_dir / "requests").exists() or not list(
        (ca.state_dir / "requests").iterdir())


def test_label_conflict_then_remove(agent_factory: Any, scep_ca_factory: Any) -> None:
    first = scep_ca_factory("openxpki")
    second = scep_ca_factory("openxpki")
    assert first.root_sha256 != second.root_sha256
    agent = agent_factory()
    with agent.connect() as session:
        commit(session, server_xml(1, "xpki-srv", first.url, first.root_sha256))
        wait_for_server(session, 1, "responding")
        delete_server(session, 1)
        commit(session, server_xml(2, "xpki-srv", second.url, second.root_sha256))

        conflict = wait_for_server(session, 2, "ca-label-conflict")
        kept = [row for row in certificate_rows(session) if row["label"] == "xpki-srv"]

        assert "remove-ca-certificate" in conflict["message"]
        assert [row["sha256-fingerprint"] for row in kept] == [first.root_sha256.lower()]

        for row in certificate_rows(session):
            if row["type"] == "ca-local":
                call(session, "remove-ca-certificate", label=row["label"])
        wait_for_server(session, 2, "responding")
        roots = [row for row in certificate_rows(session) if row["label"] == "xpki-srv"]

    assert [row["sha256-fingerprint"] for row in roots] == [second.root_sha256.lower()]
