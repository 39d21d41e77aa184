"""scripts/demo end to end: both certificates issued, the agent's get agrees, and stop works."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ncclient import manager

from tools.pki_cli.processes import is_running
from tools.pki_cli.state import pki_body, pki_from_xml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "scripts" / "demo"
DEMO_TIMEOUT = 300

pytestmark = pytest.mark.slow

_PUB_ROW = re.compile(r"^\s+Pub\s+([0-9a-f]{8})\s+.*\s(mycert[12])$", re.MULTILINE)


def _run_demo(demo_dir: Path, *arguments: str) -> str:
    env = {**os.environ, "PKI_DEMO_DIR": str(demo_dir), "PKI_DEMO_PORT": "0"}
    completed = subprocess.run(
        [str(DEMO), *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=DEMO_TIMEOUT, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def _issued_hashes(output: str) -> dict[str, str]:
    """Return {label: subject hash} of the Pub rows in the last step's table."""
    last_step = output.rsplit("[7/7]", 1)[1]
    return {label: subject_hash for subject_hash, label in _PUB_ROW.findall(last_step)}


def _read_env(demo_dir: Path) -> dict[str, str]:
    values = {}
    for line in (demo_dir / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        values[key] = shlex.split(value)[0]
    return values


def _agent_body(demo_dir: Path) -> dict:  # type: ignore[type-arg]
    env = _read_env(demo_dir)
    with manager.connect(
        host=env["PKI_CLI_HOST"], port=int(env["PKI_CLI_PORT"]), username=env["PKI_CLI_USER"],
        key_filename=env["PKI_CLI_KEY"], hostkey_b64=env["PKI_CLI_HOST_KEY"], allow_agent=False,
        look_for_keys=False, timeout=30,
    ) as session:
        reply = session.get(filter=("subtree", '<pki xmlns="urn:pki-agent:yang:pki-agent"/>'))
    return pki_body(pki_from_xml(reply.data_ele))


def _pids(demo_dir: Path) -> list[int]:
    return [int(path.read_text()) for path in (demo_dir / "pids").glob("*.pid")]


def test_demo_issues_both_and_stops(tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo-state"
    try:
        output = _run_demo(demo_dir)
        assert "[1/7] Environment ready: scripts/setup " in output
        assert "[6/7]" in output
        assert "PENDING" in output.split("[6/7]", 1)[1].split("[7/7]", 1)[0]
        hashes = _issued_hashes(output)
        assert sorted(hashes) == ["mycert1", "mycert2"]
        assert "Connect with ncclient" in output
        example = subprocess.run(
            [sys.executable, str(demo_dir / "ncclient_example.py")], capture_output=True,
            text=True, timeout=60, check=False,
        )
        assert example.returncode == 0, example.stderr
        assert "mycert2" in example.stdout
        assert "scripts/demo stop" in output

        body = _agent_body(demo_dir)
        states = {item["name"]: item["state"]["state"] for item in body["cert"]["enroll"]}
        assert states == {"mycert1": "issued", "mycert2": "issued"}
        rows = body["cert"]["certificates"]["certificate"]
        agent_hashes = {row["label"]: row["subject-hash"] for row in rows if row["type"] == "pub"}
        assert agent_hashes == hashes
        labels = {row["label"] for row in rows if row["type"] == "ca-local"}
        assert {"xpki-srv", "xpki-srv+ra", "win-srv", "win-srv+ra"} <= labels

        first_pids = _pids(demo_dir)
        second = _run_demo(demo_dir)
        assert "Stopped the processes of the previous run: agent, ndes, openxpki" in second
        assert sorted(_issued_hashes(second)) == ["mycert1", "mycert2"]
        assert not any(is_running(pid) for pid in first_pids)
    finally:
        pids = _pids(demo_dir) if (demo_dir / "pids").is_dir() else []
        stopped = _run_demo(demo_dir, "stop")
    assert "Stopped: agent, ndes, openxpki" in stopped
    assert not any(is_running(pid) for pid in pids)
    assert list((demo_dir / "pids").glob("*.pid")) == []
