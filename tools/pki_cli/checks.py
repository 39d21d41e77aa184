"""Check command values against the YANG module's types before anything is sent.

The agent rejects the same values, but with libyang's text, which names
neither the keyword typed nor the allowed values. The ranges and patterns
below copy ``yang/pki-agent.yang`` and ietf-inet-types (RFC 6991); a test
checks the ranges against the module.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from tools.pki_cli.grammar import (
    Command,
    SANEntry,
    SANType,
    SetEnrollment,
    SetServer,
    SetTimers,
    UsageError,
)

KEYSIZES = (2048, 3072, 4096)
"""Values of the keysize leaf, in bits."""

INTEGER_RANGES = {
    "renewal-threshold": (1, 99, "percent"),
    "poll-interval": (1, 86400, "seconds"),
    "server-check-interval": (10, 604800, "seconds"),
}
"""Inclusive ranges and units of the integer leaves that commands set."""

# inet:domain-name (RFC 6991): labels of letters, digits, '-' and '_',
# each at most 63 characters, separated by dots, with an optional final dot.
_DOMAIN_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_\-]{0,61}[A-Za-z0-9])?"
_DOMAIN_NAME = re.compile(rf"({_DOMAIN_LABEL}\.)*{_DOMAIN_LABEL}\.?")
_DIGITS_AND_DOTS = re.compile(r"[0-9.]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
DOMAIN_NAME_MAX = 253
# The module's label type: 1 to 64 characters. '+' and '.' are left out on
# purpose, because the agent derives labels with them ('LABEL+ra',
# 'LABEL-1.SUBJECTHASH'), so a configured label cannot collide with those.
_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,63}")
LABEL_ALLOWED = ("1 to 64 letters, digits, '_' and '-', not starting with '-'; "
                 "'+' and '.' are kept for the labels that the agent derives")


class InvalidValueError(UsageError):
    """A keyword's value is outside what the YANG module allows.

    pki-cli shows it in the "Configuration Errors" box, like an error of the
    agent, and nothing is sent.
    """

    def __init__(self, words: Sequence[str], keyword: str, value: str, allowed: str) -> None:
        self.keyword = keyword
        self.value = value
        self.allowed = allowed
        super().__init__(words, f"{keyword} {value!r} is invalid: {allowed}")


def _integer_problem(keyword: str, value: str) -> str | None:
    if keyword == "keysize":
        if value.isdigit() and int(value) in KEYSIZES:
            return None
        return f"allowed key sizes are {', '.join(str(size) for size in KEYSIZES)} bits"
    low, high, unit = INTEGER_RANGES[keyword]
    if value.isdigit() and low <= int(value) <= high:
        return None
    return f"expected a whole number from {low} to {high} ({unit})"


def check_leaves(words: Sequence[str], leaves: Sequence[tuple[str, str]]) -> None:
    """Check keysize, renewal-threshold and the daemon's intervals.

    Raises:
        InvalidValueError: names the first invalid keyword, its value and the allowed values.
    """
    for keyword, value in leaves:
        if keyword != "keysize" and keyword not in INTEGER_RANGES:
            continue
        problem = _integer_problem(keyword, value)
        if problem is not None:
            raise InvalidValueError(words, keyword, value, problem)


def _san_problem(entry: SANEntry) -> str | None:
    value = entry.value
    if entry.type is SANType.IP_ADDRESS:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return ("not an IPv4 or IPv6 address; an IPv4 address is four numbers "
                    "from 0 to 255, such as 192.168.100.101")
        return "a zone index (%) is not allowed" if "%" in value else None
    if entry.type is SANType.DNS_NAME:
        if _DIGITS_AND_DOTS.fullmatch(value):
            # Digits and dots are a mistyped IPv4 address, never a host name
            # that an operator means.
            return ("not a valid IPv4 address: expected four numbers from 0 to 255, "
                    "such as 192.168.100.101")
        if len(value) > DOMAIN_NAME_MAX or not _DOMAIN_NAME.fullmatch(value):
            return ("not a valid DNS name: expected labels of letters, digits, '-' and '_' "
                    "separated by dots, such as mycert1.co.uk, or an IP address, "
                    "an email address or a URI")
        return None
    if entry.type is SANType.EMAIL:
        return None if _EMAIL.fullmatch(value) else "not an email address such as ops@example.com"
    return None if _URI.fullmatch(value) else "not a URI with a scheme, such as https://host/path"


def check_san(words: Sequence[str], entries: Sequence[SANEntry]) -> None:
    """Check each SAN entry against the type of its leaf-list.

    Raises:
        InvalidValueError: names the first invalid entry and what its type allows.
    """
    for entry in entries:
        problem = _san_problem(entry)
        if problem is not None:
            raise InvalidValueError(words, "san", entry.value, problem)


def check_command(words: Sequence[str], command: Command) -> None:
    """Check the values of a configuration command; other commands pass.

    Raises:
        InvalidValueError: a value is outside what the YANG module allows.
    """
    if isinstance(command, SetEnrollment) and not _LABEL.fullmatch(command.name):
        raise InvalidValueError(words, "cert enroll", command.name, LABEL_ALLOWED)
    if isinstance(command, SetServer):
        for keyword, value in command.leaves:
            if keyword == "label" and not _LABEL.fullmatch(value):
                raise InvalidValueError(words, keyword, value, LABEL_ALLOWED)
    if isinstance(command, SetEnrollment | SetTimers):
        check_leaves(words, command.leaves)
    if isinstance(command, SetEnrollment) and command.san is not None:
        check_san(words, command.san)
