"""The daemon's view of the configuration, parsed from RFC 7951 JSON of `pki-agent`.

The commit subscriber receives running with defaults filled in.  The parser
still applies the YANG defaults itself, so a partial document (from a test or
an older core) means the same thing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from agent.errors import AgentError
from agent.scep.algorithms import RenewRequest

MODULE = "pki-agent"
TOP = f"{MODULE}:pki"
DEFAULT_POLL_INTERVAL = 120
DEFAULT_SERVER_CHECK_INTERVAL = 3600


class ConfigError(AgentError):
    """The configuration handed to the daemon cannot be parsed."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"invalid configuration at {path}: {detail}")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One `/pki/enroll-server` entry."""

    id: int
    label: str
    url: str
    fingerprint: str
    fingerprint_alg: str = "sha256"
    enabled: bool = True
    description: str = ""
    protocol: str = f"{MODULE}:scep"
    cipher: str = "aes128-cbc"
    renew_request: RenewRequest = RenewRequest.RENEWAL_REQ

    def discovery_key(self) -> tuple[str, str, str, bool]:
        """Return the fields whose change requires a new discovery of the CA."""
        return (self.url, self.fingerprint, self.fingerprint_alg, self.enabled)


@dataclass(frozen=True, slots=True)
class SubjectAltNames:
    """SubjectAltName entries of an enrollment."""

    ip_address: tuple[str, ...] = ()
    dns_name: tuple[str, ...] = ()
    email: tuple[str, ...] = ()
    uri: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """Tell whether no entry of any type is configured."""
        return not (self.ip_address or self.dns_name or self.email or self.uri)


@dataclass(frozen=True, slots=True)
class EnrollConfig:
    """One `/pki/cert/enroll` entry.  `password` is the challenge password."""

    name: str
    server: str
    dn: str
    password: str | None = field(default=None, repr=False)
    renewal_threshold: int = 80
    san: SubjectAltNames = SubjectAltNames()
    keysize: int = 2048
    profile: str | None = None

    def request_digest(self) -> str:
        """Return a digest of the request's content, without the challenge password.

        The store keeps this digest to tell after a restart whether a stored
        request still matches the configuration.  The password is left out so
        that nothing derived from it reaches the disk.
        """
        content = {
            "server": self.server, "dn": self.dn, "keysize": self.keysize,
            "profile": self.profile, "san": [list(self.san.ip_address), list(self.san.dns_name),
                                             list(self.san.email), list(self.san.uri)],
        }
        encoded = json.dumps(content, sort_keys=True).encode("utf-8")
        return hashlib.sha256(encoded).hexdigest()

    def warnings(self) -> tuple[str, ...]:
        """Return the configuration warnings that do not block a commit."""
        found = []
        if self.password is None:
            found.append("challenge password missing")
        if self.san.is_empty():
            found.append("SubjectAlternativeName missing")
        return tuple(found)


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """Everything the daemon reads from running."""

    poll_interval: int = DEFAULT_POLL_INTERVAL
    server_check_interval: int = DEFAULT_SERVER_CHECK_INTERVAL
    servers: dict[str, ServerConfig] = field(default_factory=dict)
    enrollments: dict[str, EnrollConfig] = field(default_factory=dict)

    def server_by_label(self, label: str) -> ServerConfig | None:
        """Return the server an enrollment names, if configured."""
        return self.servers.get(label)


def parse_config(document: dict[str, Any]) -> DaemonConfig:
    """Build a `DaemonConfig` from running in RFC 7951 JSON; raise ConfigError."""
    pki = document.get(TOP) or {}
    if not isinstance(pki, dict):
        raise ConfigError(f"/{TOP}", "not a JSON object")
    servers = [_parse_server(entry) for entry in _list(pki, "enroll-server", f"/{TOP}")]
    cert = pki.get("cert") or {}
    enrollments = [_parse_enroll(entry) for entry in _list(cert, "enroll", f"/{TOP}/cert")]
    return DaemonConfig(
        poll_interval=int(pki.get("poll-interval", DEFAULT_POLL_INTERVAL)),
        server_check_interval=int(pki.get("server-check-interval",
                                          DEFAULT_SERVER_CHECK_INTERVAL)),
        servers={server.label: server for server in servers},
        enrollments={enroll.name: enroll for enroll in enrollments},
    )


def _list(container: dict[str, Any], name: str, path: str) -> list[dict[str, Any]]:
    entries = container.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}/{name}", "not a list of JSON objects")
    return entries


def _parse_server(entry: dict[str, Any]) -> ServerConfig:
    path = f"/{TOP}/enroll-server"
    try:
        return ServerConfig(
            id=int(entry["id"]),
            label=str(entry["label"]),
            url=str(entry["url"]),
            fingerprint=normalize_fingerprint(str(entry["fingerprint"])),
            fingerprint_alg=str(entry.get("fingerprint-alg", "sha256")),
            enabled=bool(entry.get("enabled", True)),
            description=str(entry.get("description", "")),
            protocol=str(entry.get("protocol", f"{MODULE}:scep")),
            cipher=str(entry.get("cipher", "aes128-cbc")),
            renew_request=RenewRequest(entry.get("renew-request", "renewal-req")),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}[id={entry.get('id')}]", f"{type(exc).__name__}: {exc}") from exc


def _parse_enroll(entry: dict[str, Any]) -> EnrollConfig:
    path = f"/{TOP}/cert/enroll[name={entry.get('name')}]"
    try:
        san = entry.get("san") or {}
        password = entry.get("password")
        return EnrollConfig(
            name=str(entry["name"]),
            server=str(entry.get("server", "")),
            dn=str(entry.get("dn", "")),
            password=None if password is None else str(password),
            renewal_threshold=int(entry.get("renewal-threshold", 80)),
            san=SubjectAltNames(
                ip_address=tuple(map(str, san.get("ip-address", []))),
                dns_name=tuple(map(str, san.get("dns-name", []))),
                email=tuple(map(str, san.get("email", []))),
                uri=tuple(map(str, san.get("uri", []))),
            ),
            keysize=int(entry.get("keysize", 2048)),
            profile=None if entry.get("profile") is None else str(entry["profile"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(path, f"{type(exc).__name__}: {exc}") from exc


def normalize_fingerprint(text: str) -> str:
    """Return a fingerprint as lower-case hex without colons or spaces."""
    return "".join(ch for ch in text if ch not in ": ").lower()
