"""The enrollment walkthrough behind ``scripts/demo``: two test CAs, the agent, two enrollments.

``python -m tools.pki_cli.walkthrough [start|stop] [--dir DIR]``. Every
process listens on 127.0.0.1 only and keeps its state under DIR
(default ``demo-state``). ``start`` first stops what an earlier run left
running and clears DIR, so running it twice gives the same result.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from lxml import etree

from agent.errors import AgentError
from tools.pki_cli import editxml
from tools.pki_cli.client import ConnectionSettings, Session
from tools.pki_cli.grammar import MASK, mask_secrets
from tools.pki_cli.processes import (
    ProcessError,
    is_running,
    pick_port,
    start,
    stop_all,
    wait_for_port,
)
from tools.pki_cli.state import JSONData, pki_body
from tools.scep_ca.announcement import parse_announcement

HOST = "127.0.0.1"
USER = "admin"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_AGENT_PORT = 8830
START_TIMEOUT = 30.0
"""Seconds that a CA or the agent may take to start listening."""
ENROLL_TIMEOUT = 60.0
"""Seconds to wait for a request to reach its CA, and for the certificate after approval."""
STEPS = 7


class WalkthroughError(AgentError):
    """A step of the walkthrough failed."""

    def __init__(self, step: str, problem: str) -> None:
        self.step = step
        self.problem = problem
        super().__init__(f"{step}: {problem}")


@dataclass(frozen=True, slots=True)
class TestCA:
    """A running test CA, as announced on its standard output."""

    label: str
    personality: str
    state_dir: Path
    url: str
    sha256: str
    md5: str
    pid: int


@dataclass
class Walkthrough:
    """The state of one run: directories, processes and connection settings."""

    demo_dir: Path
    agent_port: int = 0
    host_key: str | None = None
    cas: dict[str, TestCA] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)

    @property
    def key_path(self) -> Path:
        return self.demo_dir / "client" / "id_ed25519"

    def settings(self) -> ConnectionSettings:
        return ConnectionSettings(HOST, self.agent_port, USER, str(self.key_path),
                                  self.host_key, 30.0)

    def cli_env(self) -> dict[str, str]:
        env = {
            "PKI_CLI_HOST": HOST,
            "PKI_CLI_PORT": str(self.agent_port),
            "PKI_CLI_USER": USER,
            "PKI_CLI_KEY": str(self.key_path),
        }
        if self.host_key:
            env["PKI_CLI_HOST_KEY"] = self.host_key
        return env


def say(text: str = "") -> None:
    """Print one progress line at once, so a pipe shows each step as it happens."""
    print(text, flush=True)


def _step(number: int, title: str) -> None:
    say()
    say(f"[{number}/{STEPS}] {title}")


def _display(arguments: Sequence[str]) -> str:
    """Quote a command for display, with the value after each secret keyword masked."""
    return " ".join(
        argument if argument == MASK else shlex.quote(argument)
        for argument in mask_secrets(arguments)
    )


def pki_cli(run: Walkthrough, *words: str, check: bool = True, stdin: str = "") -> str:
    """Run pki-cli with the walkthrough's connection settings, echoing the command and output."""
    say(f"$ pki-cli {_display(words)}")
    completed = subprocess.run(
        [sys.executable, "-m", "tools.pki_cli", *words],
        cwd=REPO_ROOT, env={**os.environ, **run.cli_env()}, input=stdin,
        capture_output=True, text=True, check=False,
    )
    output = completed.stdout + completed.stderr
    for line in output.rstrip("\n").splitlines():
        say(f"  {line}")
    if check and completed.returncode != 0:
        raise WalkthroughError(f"pki-cli {words[0]}",
                               f"failed with exit code {completed.returncode}, output above")
    return output


def scep_admin(ca: TestCA, *arguments: str, show: bool = True) -> str:
    """Run the test CA's admin command and return its standard output."""
    command = ["python", "-m", "tools.scep_ca", "admin", "--state", str(ca.state_dir),
               *arguments]
    if show:
        say(f"$ {_display(command)}")
    completed = subprocess.run(
        [sys.executable, *command[1:]], cwd=REPO_ROOT, capture_output=True, text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise WalkthroughError(f"CA {ca.label} admin {arguments[0]}",
                               completed.stderr.strip()
                               or f"failed with exit code {completed.returncode}")
    return completed.stdout


def _read_announcement(path: Path, pid: int, log_path: Path) -> dict[str, str]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        values = parse_announcement(text)
        if "SCEP_URL" in values and "SCEP_CA_MD5" in values:
            return values
        if not is_running(pid):
            raise ProcessError("test CA", "exited during start-up", log_path)
        time.sleep(0.05)
    raise ProcessError("test CA", f"printed no SCEP URL within {START_TIMEOUT:.0f} s", log_path)


def start_ca(run: Walkthrough, label: str, personality: str, *extra: str) -> TestCA:
    """Start one test CA with manual approval and wait for its announcement."""
    state_dir = run.demo_dir / personality
    stdout_path = run.demo_dir / f"{personality}.out"
    command = [sys.executable, "-m", "tools.scep_ca", "--personality", personality,
               "--state", str(state_dir), "--approval", "manual", *extra]
    started = start(run.demo_dir, personality, command, stdout_path)
    values = _read_announcement(stdout_path, started.pid, started.log_path)
    ca = TestCA(label, personality, state_dir, values["SCEP_URL"], values["SCEP_CA_SHA256"],
                values["SCEP_CA_MD5"], started.pid)
    say(f"  {label}: {personality} personality at {ca.url} (pid {ca.pid})")
    return ca


def write_client_key(run: Walkthrough) -> Path:
    """Generate the Ed25519 client key and the agent's authorized_keys file."""
    key = ed25519.Ed25519PrivateKey.generate()
    run.key_path.parent.mkdir(parents=True, exist_ok=True)
    run.key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ))
    run.key_path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    authorized_keys = run.key_path.parent / "authorized_keys"
    authorized_keys.write_text(f"{public} pki-agent-demo\n")
    return authorized_keys


def read_host_key(state_dir: Path) -> str:
    """Return the base64 public key of the agent's SSH host key, as known_hosts has it.

    The walkthrough reads it from the agent's state directory, which is the
    out-of-band way to learn it, so pki-cli can check the key on every login.
    """
    private_key = serialization.load_ssh_private_key(
        (state_dir / "ssh_host_key").read_bytes(), password=None
    )
    public_line = private_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    return public_line.split()[1]


def write_env_file(run: Walkthrough) -> Path:
    """Write ``DIR/env`` with the PKI_CLI_* settings, for ``. DIR/env`` in a shell."""
    path = run.demo_dir / "env"
    lines = [f"export {key}={shlex.quote(value)}" for key, value in run.cli_env().items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def wait_until(condition: str, check: Callable[[], bool], timeout: float = ENROLL_TIMEOUT) -> None:
    """Poll ``check`` every 0.2 s until it returns True.

    Raises:
        WalkthroughError: ``timeout`` seconds passed first.
    """
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise WalkthroughError(condition, f"not reached within {timeout:.0f} s")
        time.sleep(0.2)


def _get(run: Walkthrough, subtree_filter: etree._Element) -> JSONData:
    with Session(run.settings()) as session:
        return pki_body(session.get(subtree_filter))


def _server_statuses(run: Walkthrough) -> dict[str, str]:
    body = _get(run, editxml.filter_daemon_and_servers())
    return {server.get("label", ""): server.get("state", {}).get("status", "")
            for server in body.get("enroll-server", [])}


def _enrollment_states(run: Walkthrough) -> dict[str, str]:
    body = _get(run, editxml.filter_certificates())
    return {enrollment.get("name", ""): enrollment.get("state", {}).get("state", "")
            for enrollment in body.get("cert", {}).get("enroll", [])}


def _has_pending(ca: TestCA) -> bool:
    pending = json.loads(scep_admin(ca, "pending", show=False))
    return bool(pending)


def step_start_cas(run: Walkthrough, openxpki_challenge: str) -> None:
    _step(2, "Starting two SCEP test CAs on 127.0.0.1 (requests wait for manual approval)")
    run.cas["xpki-srv"] = start_ca(run, "xpki-srv", "openxpki", "--challenge", openxpki_challenge)
    run.cas["win-srv"] = start_ca(run, "win-srv", "ndes")


def port_note(preferred: int, chosen: int, env_file: Path) -> str | None:
    """Return the line that reports a port other than ``preferred``, or None.

    ``preferred`` 0 asks for any free port, so no port was taken from the operator.
    """
    if preferred == 0 or chosen == preferred:
        return None
    return f"  port {preferred} is taken, so the agent listens on port {chosen} ({env_file} has it)"


def step_start_agent(run: Walkthrough) -> None:
    _step(3, "Starting the agent")
    authorized_keys = write_client_key(run)
    preferred = int(os.environ.get("PKI_DEMO_PORT", DEFAULT_AGENT_PORT))
    run.agent_port = pick_port(HOST, preferred)
    note = port_note(preferred, run.agent_port, run.demo_dir / "env")
    if note:
        say(note)
    state_dir = run.demo_dir / "agent"
    command = [sys.executable, "-m", "agent", "serve", "--state-dir", str(state_dir),
               "--listen", HOST, "--port", str(run.agent_port),
               "--authorized-keys", str(authorized_keys), "--user", USER]
    started = start(run.demo_dir, "agent", command)
    wait_for_port(HOST, run.agent_port, started, START_TIMEOUT)
    run.host_key = read_host_key(state_dir)
    write_env_file(run)
    say(f"  pki-agent serve on {HOST}:{run.agent_port} (pid {started.pid}), "
        f"log in {started.log_path}")


def step_configure_servers(run: Walkthrough) -> None:
    _step(4, "Configuring the enrollment servers xpki-srv and win-srv")
    xpki, win = run.cas["xpki-srv"], run.cas["win-srv"]
    pki_cli(run, "enroll-server", "1", "label", "xpki-srv",
            "description", "OpenXPKI test CA", "url", xpki.url,
            "fingerprint", xpki.sha256, "fingerprint-alg", "sha256",
            "cipher", "aes256-cbc", "renew-request", "pkcs-req")
    # NDES's admin page shows the MD5 thumbprint as four groups of eight
    # hex digits; the agent accepts it as typed.
    thumbprint = " ".join(win.md5[i:i + 8].upper() for i in range(0, len(win.md5), 8))
    pki_cli(run, "enroll-server", "2", "label", "win-srv",
            "description", "Windows NDES test CA", "url", win.url,
            "fingerprint", thumbprint, "fingerprint-alg", "md5",
            "cipher", "3des-cbc", "renew-request", "renewal-req")
    wait_until("both servers responding",
               lambda: set(_server_statuses(run).values()) == {"responding"})
    pki_cli(run, "show")


def step_enroll(run: Walkthrough, openxpki_challenge: str) -> None:
    _step(5, "Enrolling mycert1 (OpenXPKI) and mycert2 (NDES)")
    win = run.cas["win-srv"]
    ndes_challenge = scep_admin(win, "issue-challenge").strip()
    say("  (a one-time challenge password, never shown)")
    say("  ('password -' reads the challenge from standard input, out of the process list)")
    pki_cli(run, "cert", "enroll", "mycert1", "server", "xpki-srv",
            "password", "-", "dn", "CN=mycert1.co.uk, C=UK",
            "san", "192.168.100.101", "profile", "tls-server", stdin=openxpki_challenge + "\n")
    pki_cli(run, "cert", "enroll", "mycert2", "server", "win-srv",
            "password", "-", "dn", "CN=mycert2.co.uk, C=UK",
            "san", "192.168.100.102", "profile", "IPSECIntermediateOffline",
            stdin=ndes_challenge + "\n")


def step_approve(run: Walkthrough) -> None:
    _step(6, "The requests are PENDING at the CAs: approving them, then triggering the agent")
    for ca in run.cas.values():
        wait_until(f"a pending request at {ca.label}", partial(_has_pending, ca))
    pki_cli(run, "cert", "show")
    pki_cli(run, "cert", "show", "mycert2")
    for ca in run.cas.values():
        scep_admin(ca, "approve")
        say(f"  approved the request at {ca.label}")
    pki_cli(run, "trigger")


def step_show_issued(run: Walkthrough) -> None:
    _step(7, "Issued certificates, with the CA and RA rows")
    wait_until("mycert1 and mycert2 issued",
               lambda: _enrollment_states(run) == {"mycert1": "issued", "mycert2": "issued"})
    pki_cli(run, "cert", "show")
    pki_cli(run, "cert", "show", "mycert1")


NCCLIENT_EXAMPLE = """\
from ncclient import manager

# hostkey_b64 is the agent's SSH host key, read from its state directory.
with manager.connect(host={host!r}, port={port}, username={user!r},
                     key_filename={key!r}, hostkey_b64={host_key!r},
                     allow_agent=False, look_for_keys=False) as m:
    print(m.get(filter=("subtree", '<pki xmlns="urn:pki-agent:yang:pki-agent"/>')))
"""


def write_ncclient_example(run: Walkthrough) -> Path:
    """Write ``DIR/ncclient_example.py``, a get of the whole pki subtree."""
    path = run.demo_dir / "ncclient_example.py"
    path.write_text(NCCLIENT_EXAMPLE.format(host=HOST, port=run.agent_port, user=USER,
                                            key=str(run.key_path), host_key=run.host_key))
    return path


def print_closing(run: Walkthrough) -> None:
    elapsed = time.monotonic() - run.started_at
    env_file = run.demo_dir / "env"
    example = write_ncclient_example(run)
    stop = f"{REPO_ROOT / 'scripts/demo'} stop"
    if run.demo_dir != (REPO_ROOT / "demo-state").resolve():
        stop += f" --dir {shlex.quote(str(run.demo_dir))}"
    say()
    say(f"Done in {elapsed:.1f} s. The agent and the two CAs keep running on 127.0.0.1.")
    say()
    say("Connect with pki-cli:")
    say(f"  . {env_file}")
    say(f"  {REPO_ROOT / '.venv/bin/pki-cli'} cert show")
    say()
    say(f"Connect with ncclient ({example}):")
    say(f"  {REPO_ROOT / '.venv/bin/python'} {example}")
    say()
    say(f"Stop them: {stop}")


SETUP_LOG_VARIABLE = "PKI_DEMO_SETUP_LOG"
"""Environment variable with the file that contains what scripts/setup printed."""

# The line that scripts/setup prints before each action, and the step 1 text for it.
SETUP_ACTIONS = (
    ("setup: installing Debian packages: ", "installed the Debian packages {rest}"),
    ("setup: .venv was built on ", "deleted the .venv of another interpreter"),
    ("setup: .venv does not run", "deleted a broken .venv"),
    ("setup: creating .venv", "created .venv"),
    ("setup: installing Python packages", "installed the Python packages into .venv"),
)


def read_setup_log() -> str | None:
    """Return what scripts/setup printed in this run, or None when it did not run."""
    path = os.environ.get(SETUP_LOG_VARIABLE)
    if not path:
        return None
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return None


def describe_setup(log: str | None) -> str:
    """Return the title of step 1: what scripts/setup did, or that it did not run."""
    if log is None:
        return "Environment: .venv as it is (scripts/setup did not run)"
    done = []
    for line in log.splitlines():
        for prefix, text in SETUP_ACTIONS:
            if line.startswith(prefix):
                done.append(text.format(rest=line.removeprefix(prefix).strip()))
    if not done:
        return ("Environment ready: scripts/setup found the Debian packages and .venv "
                "in place and installed nothing")
    return f"Environment ready: scripts/setup {', '.join(done)}"


def run_start(demo_dir: Path) -> int:
    """Run the whole walkthrough. On failure, stop what it started and return 1."""
    stopped = stop_all(demo_dir)
    if stopped:
        say(f"Stopped the processes of the previous run: {', '.join(stopped)}")
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True)
    run = Walkthrough(demo_dir)
    openxpki_challenge = secrets.token_hex(8)
    say(f"pki-agent walkthrough: enroll two certificates from two local test CAs "
        f"(state in {demo_dir})")
    _step(1, describe_setup(read_setup_log()))
    try:
        step_start_cas(run, openxpki_challenge)
        step_start_agent(run)
        step_configure_servers(run)
        step_enroll(run, openxpki_challenge)
        step_approve(run)
        step_show_issued(run)
    except (WalkthroughError, ProcessError, AgentError) as exc:
        say()
        say(f"demo: FAILED: {exc}")
        say(f"demo: logs are in {demo_dir}. Stopping what this run started.")
        stop_all(demo_dir)
        return 1
    print_closing(run)
    return 0


def run_stop(demo_dir: Path) -> int:
    """Stop the processes that a walkthrough recorded in ``demo_dir``."""
    stopped = stop_all(demo_dir)
    say(f"Stopped: {', '.join(stopped)}" if stopped else f"Nothing running from {demo_dir}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scripts/demo``."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", choices=("start", "stop"), default="start")
    parser.add_argument("--dir", type=Path,
                        default=Path(os.environ.get("PKI_DEMO_DIR", REPO_ROOT / "demo-state")),
                        help="state and log directory (default: PKI_DEMO_DIR or demo-state)")
    arguments = parser.parse_args(argv)
    demo_dir = arguments.dir.resolve()
    if arguments.action == "stop":
        return run_stop(demo_dir)
    return run_start(demo_dir)


if __name__ == "__main__":
    raise SystemExit(main())
