"""The ``pki-agent`` command line: help, logging, signals, hash-password and installation."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.cli import build_parser
from agent.netconf.auth import PasswordHash
from tests.fixtures.agent import REPO_ROOT, AgentFactory, RunningAgent
from tests.netconf.log_wait import log_contains

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARNING|ERROR) [\w.]+: \S")


def run_agent_command(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize(
    "expected",
    [
        "--state-dir",
        "(default: 830)",
        "(default: 127.0.0.1)",
        "(default: admin)",
        "(default: 10)",
        "in bytes (default: 16777216)",
        "seconds a client has to send its hello",
        "--password-file",
        "--authorized-keys",
    ],
)
def test_serve_help_lists_defaults(expected: str) -> None:
    result = run_agent_command("serve", "--help")
    assert result.returncode == 0
    assert expected in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-sessions", "0", "max sessions must be at least 1"),
        ("--hello-timeout", "0", "hello timeout must be positive"),
        ("--port", "70000", "port must be 0-65535"),
        ("--max-message-size", "10", "max message size must be at least 1024 bytes"),
    ],
)
def test_serve_rejects_invalid_setting(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    result = run_agent_command("serve", "--state-dir", str(tmp_path), option, value)
    assert result.returncode == 1
    assert message in result.stderr


def test_serve_busy_port_fails_in_one_line(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        result = run_agent_command("serve", "--state-dir", str(state_dir), "--port", str(port))

    assert result.returncode == 1
    # One line and nothing else: no traceback, and no log line of a started daemon.
    assert result.stderr == (
        f"pki-agent: cannot listen on 127.0.0.1 port {port}: address already in use; "
        "choose another --port\n"
    )
    assert not (state_dir / "ssh_host_key").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(agent: RunningAgent, signum: signal.Signals) -> None:
    session = agent.connect()
    assert agent.proc is not None
    agent.proc.send_signal(signum)
    assert agent.proc.wait(30) == 0
    log = agent.log()
    assert f"received {signum.name}" in log
    assert "NETCONF server stopped" in log
    assert "session closed" in log
    deadline = time.monotonic() + 10
    while session.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session.connected


def test_log_lines_use_house_format(agent: RunningAgent) -> None:
    with agent.connect():
        pass
    agent.stop()
    lines = [line for line in agent.log().splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert LOG_LINE.match(line), line
    assert any("[session=1 user=admin] session opened from 127.0.0.1" in line for line in lines)


def test_hash_password_prints_line() -> None:
    result = run_agent_command("hash-password", "--user", "operator", stdin="s3cret\n")
    assert result.returncode == 0
    username, _, hashed = result.stdout.strip().partition(":")
    assert username == "operator"
    assert PasswordHash.parse(hashed).verify("s3cret")
    assert not PasswordHash.parse(hashed).verify("other")
    assert "s3cret" not in result.stdout


def test_hash_password_rejects_empty() -> None:
    result = run_agent_command("hash-password", stdin="\n")
    assert result.returncode == 2
    assert "empty" in result.stderr


def test_parser_mounts_scep_when_present() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"serve", "hash-password"} <= set(commands)
    has_scep_cli = importlib.util.find_spec("agent.scep.cli") is not None and hasattr(
        importlib.import_module("agent.scep.cli"), "add_parser"
    )
    assert ("scep" in commands) == has_scep_cli


def test_listen_default_is_loopback(agent_factory: AgentFactory) -> None:
    agent = agent_factory()
    assert log_contains(agent, f"listening on 127.0.0.1 port {agent.port}")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # Port 1 on loopback refuses, so the command fails at once.
        (["scep", "caps", "http://127.0.0.1:1/scep", "--connect-timeout", "1"], [False, False, 1]),
        (["hash-password"], [False, False, 2]),
        (["serve", "--port", "-5", "--state-dir", "unused"], [True, True, 1]),
    ],
)
def test_console_exit_per_command(argv: list[str], expected: list[object]) -> None:
    # How the process ends: collector enabled?, interpreter teardown (atexit)?, status.
    script = (
        "import atexit, gc, json, os, sys\n"
        "from agent import cli\n"
        "def report(teardown, status):\n"
        "    print(json.dumps([gc.isenabled(), teardown, status]), flush=True)\n"
        "real_exit = os._exit\n"
        "def exit_without_teardown(code):\n"
        "    report(False, code)\n"
        "    real_exit(code)\n"
        "os._exit = exit_without_teardown\n"
        "atexit.register(lambda: report(True, sys.last_status))\n"
        "def main(argv):\n"
        "    try:\n"
        "        status = real_main(argv)\n"
        "    except SystemExit as exc:\n"
        "        status = exc.code\n"
        "    sys.last_status = status\n"
        "    return status\n"
        "real_main, cli.main = cli.main, main\n"
        f"sys.argv = ['pki-agent', *{argv!r}]\n"
        "cli.console()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, input="",
                            capture_output=True, text=True, timeout=60, check=False)

    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
    assert result.returncode == expected[2]


def restore_default_sigint() -> None:
    # A background job of a non-interactive shell starts with SIGINT ignored,
    # and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def silent_scep_url() -> Iterator[tuple[str, socket.socket]]:
    """Return the URL of a server on 127.0.0.1 that accepts and never replies, and its socket."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(60)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/scep", listener


@contextmanager
def started(args: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """Start `args` in the checkout with SIGINT at its default; kill it on the way out."""
    proc = subprocess.Popen(
        args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=restore_default_sigint,
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_sigint_while_waiting_for_server(silent_scep_url: tuple[str, socket.socket]) -> None:
    url, listener = silent_scep_url
    command = [sys.executable, "-m", "agent", "scep", "caps", url, "--read-timeout", "60"]
    with started(command) as proc:
        connection, _ = listener.accept()
        with connection:
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130
    assert stderr == "pki-agent: interrupted\n"
    assert stdout == ""


def test_sigint_during_import(silent_scep_url: tuple[str, socket.socket]) -> None:
    url, _ = silent_scep_url
    # The process sends itself SIGINT when it starts to import the SCEP
    # commands, so KeyboardInterrupt is raised inside importlib.
    script = (
        "import os, signal, sys\n"
        "class InterruptOnImport:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'agent.scep.commands':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, InterruptOnImport())\n"
        f"sys.argv = ['pki-agent', 'scep', 'caps', {url!r}]\n"
        "from agent.cli import console\n"
        "console()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=60, check=False, preexec_fn=restore_default_sigint,
    )

    assert result.returncode == 130
    assert result.stderr == "pki-agent: interrupted\n"


def close_descriptor(descriptor: int) -> Callable[[], None]:
    # The same as '<&-', '>&-' or '2>&-' in a shell: Python then starts with
    # sys.stdin, sys.stdout or sys.stderr set to None.
    return lambda: os.close(descriptor)


@pytest.mark.parametrize(
    ("argv", "stdin", "expected_status"),
    [(["--version"], "", 0), (["hash-password"], "s3cret\n", 0), (["hash-password"], "\n", 2)],
)
def test_closed_stderr_keeps_status(argv: list[str], stdin: str, expected_status: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent", *argv], cwd=REPO_ROOT, input=stdin,
        stdout=subprocess.PIPE, text=True, timeout=60, check=False,
        preexec_fn=close_descriptor(2),
    )

    assert result.returncode == expected_status
    assert result.stdout.startswith("pki-agent" if argv == ["--version"] else "")


def test_closed_stdout_discards_output() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent", "--version"], cwd=REPO_ROOT,
        stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        preexec_fn=close_descriptor(1),
    )

    assert result.returncode == 0
    assert result.stderr == ""


def test_closed_stdin_reads_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent", "hash-password"], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=60, check=False,
        preexec_fn=close_descriptor(0),
    )

    assert result.returncode == 2
    assert result.stderr == "pki-agent: the password is empty\n"


LINE_COUNT = 40
LINE_LENGTH = 5000

# The command prints more than a pipe holds (64 KiB on Linux), so the write
# that fills the pipe blocks, and SIGINT cuts it short after a partial write.
PRINTING_COMMAND = (
    "import sys\n"
    "from agent import cli\n"
    "def main(argv):\n"
    f"    for number in range({LINE_COUNT}):\n"
    f"        print(f'{{number:04d}}' + 'x' * {LINE_LENGTH - 4})\n"
    "    return 0\n"
    "cli.main = main\n"
    "sys.argv = ['pki-agent', 'scep', 'caps']\n"
    "cli.console()\n"
)


def wait_until_blocked_on_pipe(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    wchan = ""
    while time.monotonic() < deadline:
        wchan = Path(f"/proc/{pid}/wchan").read_text()
        if "pipe" in wchan:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never blocked on the pipe (wchan {wchan!r})")


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_sigint_in_blocked_write_keeps_prefix(unbuffered: str) -> None:
    # The bytes of a write that SIGINT cut short reach the pipe, but the
    # buffer above it still contains them, so flushing it would repeat them.
    expected = "".join(
        f"{number:04d}" + "x" * (LINE_LENGTH - 4) + "\n" for number in range(LINE_COUNT)
    )
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    with started([sys.executable, "-c", PRINTING_COMMAND], env) as proc:
        wait_until_blocked_on_pipe(proc.pid)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130
    assert stderr == "pki-agent: interrupted\n"
    assert expected.startswith(stdout), f"{len(stdout)} bytes, not a prefix of the output"


# Two lines stay in the buffer of the pipe while the command waits for SIGINT.
WAITING_COMMAND = (
    "import sys, time\n"
    "from agent import cli\n"
    "def main(argv):\n"
    "    print('first')\n"
    "    print('second')\n"
    "    print('ready', file=sys.stderr, flush=True)\n"
    "    time.sleep(60)\n"
    "    return 0\n"
    "cli.main = main\n"
    "sys.argv = ['pki-agent', 'scep', 'caps']\n"
    "cli.console()\n"
)


def test_sigint_between_writes_keeps_output() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": ""}
    with started([sys.executable, "-c", WAITING_COMMAND], env) as proc:
        assert proc.stderr is not None
        assert proc.stderr.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130
    assert stderr == "pki-agent: interrupted\n"
    assert stdout == "first\nsecond\n"


# hash-password writes its line after main returns, and --help before argparse exits.
STDOUT_COMMANDS = [["hash-password"], ["scep", "--help"]]


@pytest.mark.parametrize("argv", STDOUT_COMMANDS)
@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_closed_stdout_exits_silently(argv: list[str], unbuffered: str) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "agent", *argv], cwd=REPO_ROOT, input="s3cret\n",
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
            env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
        )
    finally:
        os.close(write_end)

    assert result.returncode == 141
    assert result.stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("argv", STDOUT_COMMANDS)
@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_full_stdout_fails_in_one_line(argv: list[str], unbuffered: str) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "agent", *argv], cwd=REPO_ROOT, input="s3cret\n",
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
            env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
        )

    assert result.returncode == 1
    assert result.stderr == "pki-agent: cannot write to standard output: No space left on device\n"


@pytest.mark.slow
def test_pip_install_in_fresh_venv(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(
        REPO_ROOT, source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "*.egg-info", "build", "__pycache__", ".*_cache", "state"
        ),
    )

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(source)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert pip.returncode == 0, pip.stderr

    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    help_result = subprocess.run(
        [str(venv / "bin" / "pki-agent"), "serve", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert help_result.returncode == 0, help_result.stderr
    assert "--state-dir" in help_result.stdout

    installed_module = venv / "share" / "pki-agent" / "yang" / "pki-agent.yang"
    assert installed_module.is_file()
    schema_result = subprocess.run(
        [
            str(venv / "bin" / "python"), "-c",
            "from agent.schema import Schema; print(Schema.load().module.name())",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert schema_result.returncode == 0, schema_result.stderr
    assert schema_result.stdout.strip() == "pki-agent"
