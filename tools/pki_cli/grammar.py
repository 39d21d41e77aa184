"""Parse the device-style command words of pki-cli into command values.

The words follow the device CLI: a command path such as ``cert enroll NAME``
and then keyword-value pairs named after the YANG leaves, for example
``server xpki-srv dn "CN=mycert1.co.uk, C=UK" san 192.168.100.101``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from agent.errors import AgentError

SECRET_KEYWORDS = frozenset({"password"})
MASK = "********"
READ_FROM_INPUT = "-"
"""A secret given as '-' is read from the terminal or standard input instead."""


def mask_secrets(words: Sequence[str]) -> list[str]:
    """Return the words with the value after each secret keyword replaced by a mask."""
    masked = []
    for index, word in enumerate(words):
        secret = index > 0 and words[index - 1] in SECRET_KEYWORDS and word != READ_FROM_INPUT
        masked.append(MASK if secret else word)
    return masked


class UsageError(AgentError):
    """The command words are invalid."""

    def __init__(self, words: Sequence[str], problem: str) -> None:
        self.words = tuple(words)
        self.problem = problem
        super().__init__(f"invalid command 'pki-cli {' '.join(mask_secrets(words))}': {problem}")


class SANType(StrEnum):
    """Leaf-list of the YANG ``san`` container that an entry goes to."""

    IP_ADDRESS = "ip-address"
    DNS_NAME = "dns-name"
    EMAIL = "email"
    URI = "uri"


@dataclass(frozen=True, slots=True)
class SANEntry:
    """One SubjectAltName entry with its inferred type."""

    type: SANType
    value: str


@dataclass(frozen=True, slots=True)
class ShowDaemon:
    """``show``: the daemon and the Enroll Servers table."""


@dataclass(frozen=True, slots=True)
class ShowCertificates:
    """``cert show``: the certificate table."""


@dataclass(frozen=True, slots=True)
class ShowEnrollment:
    """``cert show NAME``: one enrollment request."""

    name: str


@dataclass(frozen=True, slots=True)
class ShowServer:
    """``enroll-server show ID``: one enrollment server."""

    server_id: int


@dataclass(frozen=True, slots=True)
class SetServer:
    """``enroll-server ID KEY VALUE ...``: create or change a server."""

    server_id: int
    leaves: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SetEnrollment:
    """``cert enroll NAME KEY VALUE ...``: create or change an enrollment.

    ``san`` is None when the command does not set it, so the configured
    entries stay; a tuple replaces them all.
    """

    name: str
    leaves: tuple[tuple[str, str], ...]
    san: tuple[SANEntry, ...] | None


@dataclass(frozen=True, slots=True)
class SetTimers:
    """``pki poll-interval N server-check-interval N``: the daemon's intervals."""

    leaves: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class DeleteTimers:
    """``no pki KEY ...``: reset the daemon's intervals to their defaults."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeleteServer:
    """``no enroll-server ID [KEY ...]``: delete a server, or some of its leaves."""

    server_id: int
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeleteEnrollment:
    """``no cert enroll NAME [KEY ...]``: delete an enrollment, or some of its leaves."""

    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Trigger:
    """``trigger``: the trigger RPC."""


@dataclass(frozen=True, slots=True)
class ModuleRPC:
    """A module RPC with one input leaf: ``cert renew NAME`` (renew-now),
    ``cert re-enroll NAME`` (re-enroll) and ``cert remove-ca LABEL``
    (remove-ca-certificate)."""

    rpc: str
    leaf: str
    value: str


Command = (
    ShowDaemon
    | ShowCertificates
    | ShowEnrollment
    | ShowServer
    | SetServer
    | SetEnrollment
    | SetTimers
    | DeleteTimers
    | DeleteServer
    | DeleteEnrollment
    | Trigger
    | ModuleRPC
)

SHOW_COMMANDS = (ShowDaemon, ShowCertificates, ShowEnrollment, ShowServer)

# Keywords of `enroll-server ID ...`, each the name of a leaf of
# /pki/enroll-server; mandatory leaves cannot be removed with `no`.
SERVER_KEYS = (
    "label",
    "description",
    "enabled",
    "url",
    "fingerprint",
    "fingerprint-alg",
    "protocol",
    "cipher",
    "renew-request",
)
SERVER_REMOVABLE_KEYS = (
    "description",
    "enabled",
    "fingerprint-alg",
    "protocol",
    "cipher",
    "renew-request",
)

# Keywords of `cert enroll NAME ...`; `san` may repeat and also takes a
# comma-separated list. The module's must statements require server and dn.
ENROLLMENT_KEYS = (
    "server",
    "password",
    "dn",
    "san",
    "profile",
    "keysize",
    "renewal-threshold",
)
# Keywords of `pki ...`: the leaves directly under /pki, in seconds.
TIMER_KEYS = ("poll-interval", "server-check-interval")

ENROLLMENT_REMOVABLE_KEYS = ("password", "san", "profile", "keysize", "renewal-threshold")

_SAN_PREFIXES = {
    "ip": SANType.IP_ADDRESS,
    "dns": SANType.DNS_NAME,
    "email": SANType.EMAIL,
    "uri": SANType.URI,
}
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def infer_san(text: str) -> SANEntry:
    """Return the SAN entry for what an operator typed.

    An OpenSSL-style prefix (``IP:``, ``DNS:``, ``email:``, ``URI:``) sets the
    type. Otherwise an IPv4 or IPv6 address is an ip-address, a value with a
    URI scheme is a uri, a value with ``@`` is an email, and anything else is
    a dns-name.
    """
    value = text.strip()
    prefix, colon, rest = value.partition(":")
    if colon and prefix.lower() in _SAN_PREFIXES:
        return SANEntry(_SAN_PREFIXES[prefix.lower()], rest)
    try:
        return SANEntry(SANType.IP_ADDRESS, str(ipaddress.ip_address(value)))
    except ValueError:
        pass
    if _URI_SCHEME.match(value):
        return SANEntry(SANType.URI, value)
    if "@" in value:
        return SANEntry(SANType.EMAIL, value)
    return SANEntry(SANType.DNS_NAME, value)


def _parse_server_id(words: Sequence[str], text: str) -> int:
    if not text.isdigit() or int(text) < 1 or int(text) > 0xFFFFFFFF:
        raise UsageError(words, f"server ID {text!r} is not a number from 1 to 4294967295")
    return int(text)


def _pairs(words: Sequence[str], rest: Sequence[str], keys: Sequence[str]) -> list[tuple[str, str]]:
    if not rest:
        raise UsageError(words, f"expected KEY VALUE pairs, with KEY one of: {', '.join(keys)}")
    if len(rest) % 2:
        raise UsageError(words, f"keyword {rest[-1]!r} has no value")
    pairs = []
    for index in range(0, len(rest), 2):
        key, value = rest[index], rest[index + 1]
        if key not in keys:
            raise UsageError(words, f"unknown keyword {key!r}, expected one of: {', '.join(keys)}")
        pairs.append((key, value))
    return pairs


def _check_removable(words: Sequence[str], keys: Sequence[str], allowed: Sequence[str]) -> None:
    for key in keys:
        if key not in allowed:
            raise UsageError(words, f"cannot remove {key!r}, removable: {', '.join(allowed)}")


def _parse_show(words: Sequence[str], rest: Sequence[str]) -> Command:
    if rest:
        raise UsageError(words, "'show' takes no arguments")
    return ShowDaemon()


def _parse_trigger(words: Sequence[str], rest: Sequence[str]) -> Command:
    if rest:
        raise UsageError(words, "'trigger' takes no arguments")
    return Trigger()


def _parse_server(words: Sequence[str], rest: Sequence[str]) -> Command:
    if not rest:
        raise UsageError(
            words, "expected 'enroll-server show ID' or 'enroll-server ID KEY VALUE ...'"
        )
    if rest[0] == "show":
        if len(rest) != 2:
            raise UsageError(words, "expected 'enroll-server show ID'")
        return ShowServer(_parse_server_id(words, rest[1]))
    server_id = _parse_server_id(words, rest[0])
    return SetServer(server_id, tuple(_pairs(words, rest[1:], SERVER_KEYS)))


def _parse_enrollment(words: Sequence[str], name: str, rest: Sequence[str]) -> Command:
    leaves: list[tuple[str, str]] = []
    san: list[SANEntry] | None = None
    for key, value in _pairs(words, rest, ENROLLMENT_KEYS):
        if key != "san":
            leaves.append((key, value))
            continue
        san = san if san is not None else []
        san.extend(infer_san(part) for part in value.split(",") if part.strip())
    return SetEnrollment(name, tuple(leaves), None if san is None else tuple(san))


def _parse_cert(words: Sequence[str], rest: Sequence[str]) -> Command:
    match list(rest):
        case ["show"]:
            return ShowCertificates()
        case ["show", name]:
            return ShowEnrollment(name)
        case ["enroll", name, *pairs]:
            return _parse_enrollment(words, name, pairs)
        case ["renew", name]:
            return ModuleRPC("renew-now", "name", name)
        case ["re-enroll", name]:
            return ModuleRPC("re-enroll", "name", name)
        case ["remove-ca", label]:
            return ModuleRPC("remove-ca-certificate", "label", label)
    raise UsageError(
        words,
        "expected 'cert show [NAME]', 'cert enroll NAME KEY VALUE ...', "
        "'cert renew NAME', 'cert re-enroll NAME' or 'cert remove-ca LABEL'",
    )


def _parse_timers(words: Sequence[str], rest: Sequence[str]) -> Command:
    return SetTimers(tuple(_pairs(words, rest, TIMER_KEYS)))


def _parse_no(words: Sequence[str], rest: Sequence[str]) -> Command:
    match list(rest):
        case ["enroll-server", server_id, *keys]:
            _check_removable(words, keys, SERVER_REMOVABLE_KEYS)
            return DeleteServer(_parse_server_id(words, server_id), tuple(keys))
        case ["cert", "enroll", name, *keys]:
            _check_removable(words, keys, ENROLLMENT_REMOVABLE_KEYS)
            return DeleteEnrollment(name, tuple(keys))
        case ["pki", *keys] if keys:
            _check_removable(words, keys, TIMER_KEYS)
            return DeleteTimers(tuple(keys))
    raise UsageError(
        words, "expected 'no enroll-server ID [KEY ...]', 'no cert enroll NAME [KEY ...]' "
        "or 'no pki KEY ...'"
    )


_PARSERS: dict[str, Callable[[Sequence[str], Sequence[str]], Command]] = {
    "show": _parse_show,
    "trigger": _parse_trigger,
    "enroll-server": _parse_server,
    "cert": _parse_cert,
    "no": _parse_no,
    "pki": _parse_timers,
}


def parse_words(words: Sequence[str]) -> Command:
    """Parse the command words (without options) into a command.

    Raises:
        UsageError: names the words and what is wrong with them.
    """
    if not words:
        raise UsageError(words, f"expected a command: {', '.join(_PARSERS)}")
    parser = _PARSERS.get(words[0])
    if parser is None:
        expected = ", ".join(_PARSERS)
        raise UsageError(words, f"unknown command {words[0]!r}, expected one of: {expected}")
    return parser(words, words[1:])
