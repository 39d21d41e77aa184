"""Checks of ``pki-agent scep`` option values, with standard-library modules only.

`agent.scep.cli` runs them while it parses, before the SCEP stack is imported,
so a bad value is a usage error (exit code 2) and nothing is sent.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

MAX_TIMEOUT = 86400.0
"""Maximum --connect-timeout and --read-timeout, in seconds.

Python's socket timeouts overflow above about 9.2e9 seconds, and no SCEP
exchange needs to wait longer than a day.
"""


class TimeoutAction(argparse.Action):
    """Store a timeout option as seconds greater than 0 and at most `MAX_TIMEOUT`."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        text = str(values)
        name = option_string or self.dest
        try:
            seconds = float(text)
        except ValueError:
            parser.error(f"{name} must be a number of seconds, got {text!r}")
        if not math.isfinite(seconds):
            parser.error(f"{name} must be a finite number of seconds, got {text!r}")
        if seconds <= 0:
            parser.error(f"{name} must be greater than 0, got {text}")
        if seconds > MAX_TIMEOUT:
            parser.error(f"{name} must be at most {MAX_TIMEOUT:.0f} seconds, got {text}")
        setattr(namespace, self.dest, seconds)
