"""Texts of the walkthrough that depend on the machine: what setup did, and the port."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.pki_cli.walkthrough import describe_setup, port_note


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        (None, "Environment: .venv as it is (scripts/setup did not run)"),
        ("", "Environment ready: scripts/setup found the Debian packages and .venv in place "
             "and installed nothing"),
        ("setup: installing Debian packages: scep socat\nGet:1 http://deb.debian.org ...\n"
         "setup: creating .venv\n"
         "setup: installing Python packages into .venv (log: .venv/pip.log)\n",
         "Environment ready: scripts/setup installed the Debian packages scep socat, "
         "created .venv, installed the Python packages into .venv"),
        ("setup: installing Python packages into .venv (log: .venv/pip.log)\n",
         "Environment ready: scripts/setup installed the Python packages into .venv"),
        ("setup: .venv was built on /opt/py/bin/python3.11, not /usr/bin/python3.11: "
         "rebuilding it (PYTHON=/opt/py/bin/python3.11 keeps it)\n"
         "setup: creating .venv on /usr/bin/python3.11\n"
         "setup: installing Python packages into .venv (log: .venv/pip.log)\n",
         "Environment ready: scripts/setup deleted the .venv of another interpreter, "
         "created .venv, installed the Python packages into .venv"),
    ],
)
def test_describe_setup(log: str | None, expected: str) -> None:
    assert describe_setup(log) == expected


def test_port_note_when_taken() -> None:
    note = port_note(8830, 44843, Path("/demo/env"))
    assert note == "  port 8830 is taken, so the agent listens on port 44843 (/demo/env has it)"


@pytest.mark.parametrize(("preferred", "chosen"), [(8830, 8830), (0, 44843)])
def test_port_note_silent(preferred: int, chosen: int) -> None:
    assert port_note(preferred, chosen, Path("/demo/env")) is None
