"""Helpers for running pki-cli in-process against a running agent."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.fixtures.agent import RunningAgent
from tools.pki_cli import main

NOW = "2026-12-04T21:00:00Z"


@dataclass(frozen=True, slots=True)
class Result:
    """Exit code and output of one pki-cli run."""

    code: int
    out: str
    err: str


CLI = Callable[..., Result]


def make_cli(agent: RunningAgent, capsys: pytest.CaptureFixture[str]) -> CLI:
    """Return a function that runs ``pki-cli WORDS...`` against ``agent``."""

    def run(*words: str) -> Result:
        options = ["--host", agent.host, "--port", str(agent.port), "--user", agent.username,
                   "--key", str(agent.key_path), "--now", NOW]
        code = main([*options, *words])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?")
_RELATIVE = re.compile(r"\((in [0-9dhms ]+|[0-9dhms ]+ ago)\)")
_UPTIME = re.compile(r"^(Uptime +: ).*$", re.MULTILINE)
_SERIAL = re.compile(r"^(Serial +: )[0-9a-f]+$", re.MULTILINE)
_LONG_HEX = re.compile(r"\b[0-9A-Fa-f]{16,}\b")
_PORT = re.compile(r"127\.0\.0\.1:\d+")


def normalise(text: str) -> str:
    """Replace what changes from run to run with placeholders, for golden files.

    Times that the agent or the CA set (timestamps, relative times, the
    uptime) become placeholders of the same width, so tables keep their
    alignment. Serial numbers, whose length varies with their leading
    zeros, become SERIAL. Hex strings of 16 or more digits (fingerprints,
    transactionIDs) become X of the same length, and 127.0.0.1 ports
    become PORT. Subject hashes, names and labels stay, because the test
    CA's subjects are fixed.
    """
    text = _TIMESTAMP.sub(lambda match: "YYYY-MM-DD hh:mm:ss"[: len(match.group())], text)
    text = _RELATIVE.sub("(RELATIVE)", text)
    text = _UPTIME.sub(r"\1UPTIME", text)
    text = _SERIAL.sub(r"\1SERIAL", text)
    text = _LONG_HEX.sub(lambda match: "X" * len(match.group()), text)
    return _PORT.sub("127.0.0.1:PORT", text)


def box_text(output: str) -> str:
    """Return the text inside the boxes of ``output`` as one line, so that wrapped
    descriptions can be matched whole."""
    inside = [line[2:-2].strip() for line in output.splitlines()
              if line.startswith("| ") and line.endswith(" |")]
    return " ".join(inside)
