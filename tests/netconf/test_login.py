"""SSH login, the host key, the session limit and the subsystem check."""

from __future__ import annotations

import asyncio
import socket
import stat
from pathlib import Path

import asyncssh
import pytest
from ncclient.transport.errors import AuthenticationError
from paramiko.ssh_exception import ChannelException

from agent.netconf.auth import hash_password
from tests.fixtures.agent import AgentFactory, ClientKey, RunningAgent
from tests.netconf.raw_client import BASE_1_0, RawClient, run_with_client

PASSWORD = "correct horse battery staple"
TEST_ITERATIONS = 1000


def write_password_file(path: Path, username: str = "admin") -> Path:
    path.write_text(f"# test users\n{username}:{hash_password(PASSWORD, TEST_ITERATIONS)}\n")
    return path


def password_connect(agent: RunningAgent, password: str, username: str = "admin") -> object:
    return agent.connect(
        username=username, password=password, key_filename=None, look_for_keys=False
    )


def host_key_fingerprint(agent: RunningAgent) -> str:
    async def body(client: RawClient) -> str:
        key = client.connection.get_server_host_key()
        assert key is not None
        return str(key.get_fingerprint())

    return run_with_client(agent, body)


def test_password_login_with_file(agent_factory: AgentFactory, tmp_path: Path) -> None:
    agent = agent_factory("--password-file", str(write_password_file(tmp_path / "passwords")))
    with password_connect(agent, PASSWORD) as session:  # type: ignore[attr-defined]
        assert session.connected


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong"), ("other", PASSWORD), ("admin", "")],
    ids=["wrong password", "other user", "empty password"],
)
def test_password_login_rejected(
    agent_factory: AgentFactory, tmp_path: Path, username: str, password: str
) -> None:
    agent = agent_factory("--password-file", str(write_password_file(tmp_path / "passwords")))
    with pytest.raises(AuthenticationError):
        password_connect(agent, password, username)


def test_password_login_off_without_file(agent: RunningAgent) -> None:
    with pytest.raises(AuthenticationError):
        password_connect(agent, PASSWORD)


def test_key_login_rejects_other_user(agent: RunningAgent) -> None:
    with pytest.raises(AuthenticationError):
        agent.connect(username="root")


def test_key_login_custom_user(agent_factory: AgentFactory) -> None:
    agent = agent_factory(username="operator")
    with agent.connect() as session:
        assert session.connected


def test_invalid_password_file_stops_start(agent_factory: AgentFactory, tmp_path: Path) -> None:
    bad = tmp_path / "passwords"
    bad.write_text("admin:plaintext\n")
    with pytest.raises(RuntimeError, match="invalid password file"):
        agent_factory("--password-file", str(bad))


def test_host_key_created_private(agent: RunningAgent) -> None:
    mode = (agent.state_dir / "ssh_host_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_host_key_kept_across_restart(agent: RunningAgent) -> None:
    before = host_key_fingerprint(agent)
    agent.restart()
    after = host_key_fingerprint(agent)
    assert before == after


def test_host_key_differs_per_state_dir(agent_factory: AgentFactory) -> None:
    first = agent_factory()
    second = agent_factory()
    assert host_key_fingerprint(first) != host_key_fingerprint(second)


def test_session_limit(agent_factory: AgentFactory) -> None:
    agent = agent_factory("--max-sessions", "2")
    first = agent.connect()
    second = agent.connect()
    try:
        with pytest.raises(ChannelException, match="Connect failed"):
            agent.connect()
        first.close_session()
        with agent.connect() as third:
            assert third.connected
    finally:
        second.close_session()
    assert "limit of 2 sessions" in agent.log()


@pytest.mark.parametrize("request_kind", ["shell", "exec", "sftp"])
def test_only_netconf_subsystem(
    agent: RunningAgent, client_key: ClientKey, request_kind: str
) -> None:
    async def main() -> None:
        async with asyncssh.connect(
            agent.host,
            agent.port,
            username=agent.username,
            client_keys=[str(client_key.private_key_path)],
            known_hosts=None,
            agent_path=None,
        ) as connection:
            options = {
                "shell": {},
                "exec": {"command": "id"},
                "sftp": {"subsystem": "sftp"},
            }[request_kind]
            with pytest.raises(asyncssh.ChannelOpenError):
                await connection.open_session(**options)

    asyncio.run(main())


def test_session_ids_increase(agent: RunningAgent) -> None:
    async def body(client: RawClient) -> int:
        hello = await client.start(BASE_1_0)
        return int(hello.findtext("{*}session-id"))

    first = run_with_client(agent, body)
    second = run_with_client(agent, body)
    assert second > first


def test_idle_tcp_connection_does_not_block_login(agent: RunningAgent) -> None:
    idle = [socket.create_connection((agent.host, agent.port)) for _ in range(3)]
    try:
        with agent.connect(timeout=10) as session:
            assert session.connected
    finally:
        for connection in idle:
            connection.close()
