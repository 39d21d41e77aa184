"""The agent fixture starts a real server that ncclient can log in to."""

from tests.fixtures.agent import RunningAgent


def test_agent_fixture_accepts_ncclient(agent: RunningAgent) -> None:
    with agent.connect() as session:
        assert session.connected
        assert int(session.session_id) >= 1
        assert "urn:ietf:params:netconf:base:1.1" in session.server_capabilities
