"""The walkthrough's process records: stop by pid, and never a process it did not start."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tools.pki_cli.processes import is_running, pick_port, pid_dir, start, stop_all

SLEEP = "import time; time.sleep(60)"


def test_stop_all_stops_started(tmp_path: Path) -> None:
    started = start(tmp_path, "sleeper", [sys.executable, "-c", SLEEP, str(tmp_path)])
    assert is_running(started.pid)
    assert stop_all(tmp_path) == ["sleeper"]
    assert not is_running(started.pid)
    assert list(pid_dir(tmp_path).glob("*.pid")) == []


def test_stop_all_spares_foreign_pid(tmp_path: Path) -> None:
    # A pid file whose pid now belongs to a process without the demo
    # directory in its command line, as after pid reuse.
    foreign = subprocess.Popen([sys.executable, "-c", SLEEP])
    try:
        pid_dir(tmp_path).mkdir(parents=True)
        (pid_dir(tmp_path) / "agent.pid").write_text(f"{foreign.pid}\n")
        assert stop_all(tmp_path) == []
        assert foreign.poll() is None
        assert not (pid_dir(tmp_path) / "agent.pid").exists()
    finally:
        foreign.kill()
        foreign.wait()


def test_stop_all_drops_stale_and_invalid_files(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    pid_dir(tmp_path).mkdir(parents=True)
    (pid_dir(tmp_path) / "old.pid").write_text(f"{finished.pid}\n")
    (pid_dir(tmp_path) / "junk.pid").write_text("not a pid\n")
    assert stop_all(tmp_path) == []
    assert list(pid_dir(tmp_path).glob("*.pid")) == []


def test_stop_all_without_records(tmp_path: Path) -> None:
    assert stop_all(tmp_path / "never-started") == []


def test_pick_port_prefers_free_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert pick_port("127.0.0.1", free) == free


def test_pick_port_avoids_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        chosen = pick_port("127.0.0.1", taken)
    assert chosen != taken
    assert chosen > 0
