"""get replies reuse the daemon's parsed state only until that state changes."""

from __future__ import annotations

from typing import Any

from tests.e2e.netconf import commit, get_pki, server_state, server_xml, wait_for_server, wait_until


def test_get_after_change_shows_change(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki")
    agent = agent_factory()
    with agent.connect() as session:
        commit(session, server_xml(1, "xpki-srv", ca.url, ca.root_sha256))
        wait_for_server(session, 1, "responding")
        assert server_state(session, 1)["status"] == "responding"

        # The commit changes the daemon's state before its reply, so the next
        # get must show the change without waiting.
        commit(session, server_xml(1, "xpki-srv", ca.url, ca.root_sha256, enabled=False))

        assert server_state(session, 1)["status"] == "disabled"


def test_uptime_advances_between_gets(agent_factory: Any) -> None:
    agent = agent_factory()
    with agent.connect() as session:
        def uptime() -> int:
            daemon = get_pki(session).find("{urn:pki-agent:yang:pki-agent}daemon")
            assert daemon is not None
            value = daemon.findtext("{urn:pki-agent:yang:pki-agent}uptime")
            assert value is not None
            return int(value)

        first = uptime()

        later = wait_until(lambda: uptime() > first or None, "a larger daemon uptime")

    assert later is True
