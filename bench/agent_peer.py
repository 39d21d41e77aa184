"""Run the agent under test as a separate process on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from bench.netconf_client import ClientTarget, NetconfClient
from bench.processes import LOOPBACK, ProcessGroup, free_port, ssh_keygen

AGENT_USER = "admin"
SERVE_COMMAND = ("-m", "agent", "serve")
STATE_SERVE_COMMAND = ("-m", "bench.agent_with_state")
PROFILE_ENV = "PKI_AGENT_BENCH_PROFILE"
"""Environment variable that makes ``bench.agent_with_state`` write cProfile data to a file."""


@dataclass(frozen=True, slots=True)
class AgentPeer:
    """A running agent, how to reach it, and when its process was started."""

    target: ClientTarget
    process: subprocess.Popen[bytes]
    state_dir: Path
    started: float


def agent_available(repo: Path) -> str | None:
    """Return None when ``pki-agent serve`` works here, else the reason it does not."""
    result = subprocess.run(
        [sys.executable, *SERVE_COMMAND, "--help"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit status {result.returncode}"
    return None


def start_agent(
    group: ProcessGroup,
    workdir: Path,
    repo: Path,
    command: Sequence[str] = SERVE_COMMAND,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> AgentPeer:
    """Start the agent with a fresh state directory; do not wait for it to listen."""
    state_dir = workdir / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    client_key = workdir / "client_key"
    if not client_key.exists():
        ssh_keygen(client_key)
    authorized_keys = workdir / "authorized_keys"
    authorized_keys.write_text((workdir / "client_key.pub").read_text())
    port = free_port()
    argv = [
        sys.executable,
        *command,
        "--state-dir",
        str(state_dir),
        "--listen",
        LOOPBACK,
        "--port",
        str(port),
        "--authorized-keys",
        str(authorized_keys),
        "--user",
        AGENT_USER,
        *extra_args,
    ]
    started = time.perf_counter()
    process = group.start("pki-agent", argv, workdir / "agent.log", env=env, cwd=repo)
    target = ClientTarget(LOOPBACK, port, AGENT_USER, client_key=str(client_key))
    return AgentPeer(target, process, state_dir, started)


async def wait_for_hello(peer: AgentPeer, timeout: float = 30.0) -> float:
    """Connect until the agent sends its hello; return seconds since the process started.

    The time includes the interpreter start, the imports and the SSH handshake,
    which is what an operator waits for after starting the agent.
    """
    deadline = peer.started + timeout
    while True:
        if peer.process.poll() is not None:
            raise RuntimeError(f"the agent exited with status {peer.process.returncode}")
        client = NetconfClient(peer.target)
        try:
            await client.connect()
        except (OSError, asyncssh.Error):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no NETCONF hello from the agent in {timeout} s") from None
            await asyncio.sleep(0.005)
            continue
        elapsed = time.perf_counter() - peer.started
        await client.close()
        return elapsed
