"""Start and stop the benchmark's own processes by pid, and read their memory use."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class ProcessGroup:
    """The processes that one benchmark started, stopped together by pid."""

    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` with stdout and stderr going to ``log_path``."""
        with log_path.open("ab") as output:
            process = subprocess.Popen(
                list(argv),
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        log.info("started %s, pid %d", name, process.pid)
        self.processes.append((name, process))
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
        """Stop one process with SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("pid %d ignored SIGTERM for %.0f s, killing it", process.pid, timeout)
                process.kill()
                process.wait(timeout)
        self.processes = [(n, p) for n, p in self.processes if p is not process]

    def stop_all(self) -> None:
        """Stop every process of the group, the last started first."""
        for name, process in reversed(list(self.processes)):
            log.info("stopping %s, pid %d", name, process.pid)
            self.stop(process)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Wait until 127.0.0.1:``port`` accepts connections; raise if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pid {process.pid} exited with status {process.returncode}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing accepted connections on {LOOPBACK}:{port} in {timeout} s")


def wait_for_path(path: Path, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Wait until ``path`` exists; raise if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"pid {process.pid} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear in {timeout} s")
        time.sleep(0.02)


def ssh_keygen(path: Path) -> Path:
    """Create an unencrypted Ed25519 key pair at ``path`` and ``path``.pub; return ``path``."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def memory_kib(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM (peak RSS) of ``pid`` in KiB, from /proc/PID/status."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0])
    return figures
