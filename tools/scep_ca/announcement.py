"""The KEY=VALUE lines that the test CA prints on start-up and writes to ``server.env``.

The values are shell-quoted, so ``. STATE/server.env`` in a shell sets
them too. This module imports nothing heavy, so pki-cli, the benchmarks
and the test fixtures can parse the lines without loading the CA.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping


def format_announcement(values: Mapping[str, str]) -> str:
    """Render ``values`` as one ``KEY=VALUE`` line each, with shell-quoted values."""
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())


def parse_announcement(text: str) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines from ``format_announcement`` back into a dict.

    A line without ``=`` becomes a key with an empty value.
    """
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        values[key] = shlex.split(value)[0] if value else ""
    return values
