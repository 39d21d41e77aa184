"""Checks of ``pki-agent scep`` option values, with standard-library modules only.

`agent.scep.cli` runs them while it parses, before the SCEP stack is imported,
so a bad value is a usage error (exit code 2) and nothing is sent.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import SplitResult, urlsplit

from agent.scep.urls import display_url, redact_userinfo

MAX_TIMEOUT = 86400.0
"""Maximum --connect-timeout and --read-timeout, in seconds.

Python's socket timeouts overflow above about 9.2e9 seconds, and no SCEP
exchange needs to wait longer than a day.
"""


URL_FORM = (
    "expected http:// or https://, a host, an optional port and a path, "
    "such as http://ca.example.com:8080/scep"
)


def scep_url(text: str) -> str:
    """Return `text` if it is an http or https URL with a host; raise ArgumentTypeError if not.

    requests reports other URLs with messages that name neither the URL as
    typed nor the expected form.
    """
    redacted = display_url(text)
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # such as a malformed [IPv6] host
        # The text of an NFKC failure quotes the whole host part.
        reason = redact_userinfo(str(exc), text)
        raise argparse.ArgumentTypeError(
            f"invalid SCEP URL {redacted!r}: {reason}; {URL_FORM}") from exc
    problem = _url_problem(text, parts)
    if problem is not None:
        message = f"invalid SCEP URL {redacted!r}: {problem}; {URL_FORM}"
        raise argparse.ArgumentTypeError(message)
    return text


def _url_problem(text: str, parts: SplitResult) -> str | None:
    if any(char.isspace() or not char.isprintable() for char in text):
        # urlsplit drops tabs and line breaks, so a pasted URL could differ
        # from what is sent without any sign of it.
        return "it contains a space or control character"
    if "://" not in text or not parts.scheme:
        return "the scheme is missing"
    if parts.scheme.lower() not in ("http", "https"):
        return f"the scheme {parts.scheme}:// is not supported"
    if not parts.hostname:
        return "the host is missing"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "the port is not a number from 1 to 65535"
    return None


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
