"""Background processes of the walkthrough: start, record by pid, and stop by pid.

Each process gets a pid file in ``DIR/pids``. Stopping checks that the pid
still belongs to a process whose command line names the demo directory, so
a pid that the system reused for another program is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from agent.errors import AgentError

STOP_TIMEOUT = 10.0
"""Seconds to wait after SIGTERM before SIGKILL."""


class ProcessError(AgentError):
    """A walkthrough process failed to start or to become ready."""

    def __init__(self, name: str, problem: str, log_path: Path) -> None:
        self.name = name
        self.problem = problem
        self.log_path = log_path
        super().__init__(f"{name} {problem}, see the log {log_path}")


@dataclass(frozen=True, slots=True)
class Started:
    """A process that the walkthrough started."""

    name: str
    pid: int
    log_path: Path


def pid_dir(demo_dir: Path) -> Path:
    """Return the directory that contains one ``NAME.pid`` file per process."""
    return demo_dir / "pids"


def start(demo_dir: Path, name: str, command: list[str],
          stdout_path: Path | None = None) -> Started:
    """Start ``command`` in its own session, detached from the terminal, and record its pid.

    Standard error goes to ``DIR/NAME.log``, standard output to
    ``stdout_path`` or the same log. The process inherits the current
    directory. It is spawned without a ``subprocess.Popen`` object, which
    would warn when collected while the process still runs, because the
    process outlives this program.

    Raises:
        OSError: the program could not be executed.
    """
    log_path = demo_dir / f"{name}.log"
    pid_dir(demo_dir).mkdir(parents=True, exist_ok=True)
    append = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(stdout_path or log_path), append, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, str(log_path), append, 0o600),
    ]
    pid = os.posix_spawnp(command[0], command, dict(os.environ), file_actions=file_actions,
                          setsid=True)
    (pid_dir(demo_dir) / f"{name}.pid").write_text(f"{pid}\n")
    return Started(name, pid, log_path)


def is_running(pid: int) -> bool:
    """Return whether a process with this pid exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def _belongs_to_demo(pid: int, demo_dir: Path) -> bool:
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    marker = str(demo_dir.resolve()).encode()
    return any(marker in argument for argument in arguments)


def _reap(pid: int) -> None:
    # Only a child can be reaped, and a process of an earlier run is not one.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop_pid(pid: int) -> None:
    """Send SIGTERM to one pid, wait up to STOP_TIMEOUT seconds, then SIGKILL it."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_running(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    _reap(pid)


def stop_all(demo_dir: Path) -> list[str]:
    """Stop every process recorded in the demo directory and return the names stopped."""
    stopped: list[str] = []
    directory = pid_dir(demo_dir)
    if not directory.is_dir():
        return stopped
    for pid_file in sorted(directory.glob("*.pid")):
        text = pid_file.read_text().strip()
        pid = int(text) if text.isdigit() else 0
        if pid and is_running(pid) and _belongs_to_demo(pid, demo_dir):
            stop_pid(pid)
            stopped.append(pid_file.stem)
        pid_file.unlink()
    return stopped


def wait_for_port(host: str, port: int, started: Started, timeout: float) -> None:
    """Wait until ``host:port`` accepts TCP connections.

    Raises:
        ProcessError: the process exited, or the port did not open in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(started.pid):
            raise ProcessError(started.name, "exited during start-up", started.log_path)
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ProcessError(started.name, f"did not listen on {host}:{port} within {timeout:.0f} s",
                       started.log_path)


def pick_port(host: str, preferred: int) -> int:
    """Return ``preferred`` when it is free on ``host``, else a free port the system picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError(f"no free TCP port on {host}")
