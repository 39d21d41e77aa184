"""--watch redraws a show view on each notification of the agent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.cli.live import make_cli
from tests.fixtures.agent import RunningAgent, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
WATCH_TIMEOUT = 60.0


def _start_watch(agent: RunningAgent, *words: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tools.pki_cli", "--host", agent.host,
               "--port", str(agent.port), "--user", agent.username, "--key", str(agent.key_path),
               "--watch", "--watch-limit", "1", *words]
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def _wait_for_first_view(process: subprocess.Popen[str], marker: str) -> str:
    """Read lines until ``marker``.

    A watchdog kills the process after WATCH_TIMEOUT, which ends a blocked readline.
    """
    assert process.stdout is not None
    watchdog = threading.Timer(WATCH_TIMEOUT, process.kill)
    watchdog.start()
    seen = ""
    try:
        while marker not in seen:
            line = process.stdout.readline()
            assert line, f"pki-cli --watch ended before {marker!r}: {seen!r}"
            seen += line
    finally:
        watchdog.cancel()
    return seen


def test_watch_redraws_on_server_status_change(
    agent: RunningAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    process = _start_watch(agent, "show")
    try:
        first = _wait_for_first_view(process, "Enroll Servers")
        # A closed port on 127.0.0.1: the server's status changes to not reachable.
        cli = make_cli(agent, capsys)
        url = f"http://127.0.0.1:{free_port()}/scep"
        assert cli("enroll-server", "1", "label", "s1", "url", url,
                   "fingerprint", "ab" * 32).code == 0
        rest, errors = process.communicate(timeout=WATCH_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    assert "s1" not in first
    assert "server-status-change" in rest
    assert "id=1" in rest
    assert rest.count("Enroll Servers") == 1
    assert "1   s1" in rest


def test_watch_rejects_configuration_command(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.pki_cli import main

    assert main(["--watch", "trigger"]) == 2
    assert "--watch works only with the show commands" in capsys.readouterr().err


def test_watch_redraws_on_enrollment_state_change(
    agent: RunningAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = make_cli(agent, capsys)
    url = f"http://127.0.0.1:{free_port()}/scep"
    assert cli("enroll-server", "1", "label", "s1", "url", url, "fingerprint", "ab" * 32).code == 0
    # Let the server's own status change pass first, so the redraw below
    # comes from the enrollment.
    deadline = time.monotonic() + WATCH_TIMEOUT
    while '"server-not-reachable"' not in cli("--format", "json", "show").out:
        assert time.monotonic() < deadline, "the server never became not reachable"
        time.sleep(0.2)
    process = _start_watch(agent, "cert", "show")
    try:
        _wait_for_first_view(process, "TYPE")
        assert cli("cert", "enroll", "c1", "server", "s1", "dn", "CN=c1").code == 0
        rest, errors = process.communicate(timeout=WATCH_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    assert "enrollment-state-change" in rest
    assert "name=c1" in rest
    assert "PENDING" in rest


def test_watch_ends_when_agent_stops(agent: RunningAgent) -> None:
    process = _start_watch(agent, "show")
    try:
        _wait_for_first_view(process, "Enroll Servers")
        agent.stop()
        _, errors = process.communicate(timeout=WATCH_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 3
    assert "the agent closed the session" in errors
