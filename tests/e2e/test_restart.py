"""A restart while a request is PENDING continues with CertPoll and the same transactionID."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.netconf import (
    ca_requests,
    call,
    commit,
    enroll_xml,
    server_xml,
    wait_for_state,
    wait_until,
)

CHALLENGE = "restart-secret"


def restart(agent: Any, signal_name: str) -> None:
    """Restart the agent after SIGTERM, or after SIGKILL by its pid."""
    if signal_name == "sigterm":
        agent.restart()
        return
    process = agent.proc
    process.kill()
    process.wait()
    agent.proc = None
    agent.start()


@pytest.mark.parametrize("signal_name", ["sigterm", "sigkill"])
def test_restart_while_pending_polls(agent_factory: Any, scep_ca_factory: Any,
                                     signal_name: str) -> None:
    ca = scep_ca_factory("openxpki", approval="manual", challenge=CHALLENGE)
    agent = agent_factory()
    with agent.connect() as session:
        commit(session, server_xml(1, "xpki-srv", ca.url, ca.root_sha256),
               enroll_xml("mycert1", "xpki-srv", "CN=mycert1.co.uk, C=UK", password=CHALLENGE),
               poll_interval=3600)
        pending = wait_for_state(session, "mycert1", "pending",
                                 reason="waiting for the CA to issue the certificate")
    transaction_id = pending["transaction-id"]
    log_before_restart = len(agent.log())

    restart(agent, signal_name)

    def first_message_after_restart() -> str | None:
        lines = agent.log()[log_before_restart:].splitlines()
        sent = [line for line in lines if "enrollment mycert1: sending" in line]
        return sent[0] if sent else None

    first = wait_until(first_message_after_restart, "the first message after the restart")
    assert f"sending CertPoll (transaction {transaction_id})" in first
    with agent.connect() as session:
        after = wait_for_state(session, "mycert1", "pending")
        assert after["transaction-id"] == transaction_id

        ca.approve(transaction_id)
        call(session, "trigger")
        issued = wait_for_state(session, "mycert1", "issued")

    assert issued["transaction-id"] == transaction_id
    assert [record["transaction_id"] for record in ca_requests(ca.state_dir)] == [transaction_id]
    assert CHALLENGE not in agent.log()
