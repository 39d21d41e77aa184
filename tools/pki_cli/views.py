"""Render the device-style show views from RFC 7951 JSON state of the pki-agent module."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tools.pki_cli.grammar import MASK
from tools.pki_cli.state import JSONData, pki_body
from tools.pki_cli.text import (
    format_duration,
    format_relative,
    format_time,
    parse_time,
    render_box,
    render_fields,
    render_table,
)

# YANG defaults, shown when a get reply leaves a default value out
# (RFC 6243 "trim" and "explicit" modes). A test checks them against the module.
SERVER_DEFAULTS = {
    "enabled": True,
    "fingerprint-alg": "sha256",
    "protocol": "pki-agent:scep",
    "cipher": "aes128-cbc",
    "renew-request": "renewal-req",
}
ENROLLMENT_DEFAULTS = {"keysize": 2048, "renewal-threshold": 80}
TIMER_DEFAULTS = {"poll-interval": 120, "server-check-interval": 3600}

SERVER_STATUS_TEXT = {
    "not-checked": "Not checked",
    "disabled": "Disabled",
    "responding": "Responding",
    "server-not-reachable": "Server not reachable",
    "ca-not-downloaded": "CA not downloaded",
    "ca-fingerprint-mismatch": "CA fingerprint mismatch",
    "no-ra-cert-found": "No RA cert found",
    "ca-label-conflict": "CA label conflict",
}
CERTIFICATE_TYPE_TEXT = {"ca-local": "CA-local", "pub": "Pub", "key": "Key"}
DISTRIBUTION_TEXT = {"scep": "SCEP", "local": "Local"}
# Hash column of an enrollment that has no certificate yet. A failed
# request is retried, so it is still pending from the operator's view.
PLACEHOLDER_HASH = {"pending": "PENDING", "failed": "PENDING", "rejected": "REJECTED"}
TYPE_ORDER = {"ca-local": 0, "pub": 1, "key": 2}

MASKED_PASSWORD = MASK
MESSAGE_WIDTH = 60
"""Characters of a server's message in the Enroll Servers table; enroll-server show has it all."""
NAME_WIDTH = 64
"""Characters of a certificate's name in the cert show table.

RFC 5280 Appendix A.1 limits a CN, an OU and an O to 64 characters
(ub-common-name, ub-organizational-unit-name, ub-organization-name), so
only a name that is a whole subject is cut.
"""


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _servers(body: JSONData) -> list[JSONData]:
    return sorted(body.get("enroll-server", []), key=lambda server: server.get("id", 0))


def _enrollments(body: JSONData) -> list[JSONData]:
    enrollments = body.get("cert", {}).get("enroll", [])
    return sorted(enrollments, key=lambda enrollment: enrollment.get("name", ""))


def _rows(body: JSONData) -> list[JSONData]:
    return list(body.get("cert", {}).get("certificates", {}).get("certificate", []))


def _status_text(status: str | None) -> str:
    if not status:
        return ""
    return SERVER_STATUS_TEXT.get(status, status)


def _seconds(value: Any) -> str:
    return f"{value} s ({format_duration(int(value))})"


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def render_daemon(data: JSONData, now: datetime) -> str:
    """Render ``show``: the daemon's status and uptime, then the Enroll Servers table."""
    body = pki_body(data)
    daemon = body.get("daemon", {})
    uptime = daemon.get("uptime")
    if uptime is None and daemon.get("started"):
        uptime = int((now - parse_time(daemon["started"])).total_seconds())
    lines = render_fields(
        [
            ("PKI daemon", daemon.get("status", "unknown")),
            ("Started", format_time(daemon.get("started"))),
            ("Uptime", "" if uptime is None else format_duration(int(uptime))),
            ("Poll interval", _seconds(body.get("poll-interval", TIMER_DEFAULTS["poll-interval"]))),
            ("Server check", _seconds(body.get("server-check-interval",
                                               TIMER_DEFAULTS["server-check-interval"]))),
        ]
    )
    lines += ["", "Enroll Servers"]
    rows = []
    for server in _servers(body):
        state = server.get("state", {})
        rows.append(
            [
                str(server.get("id", "")),
                server.get("label", ""),
                _status_text(state.get("status")),
                format_time(state.get("last-check")),
                _shorten(state.get("message", ""), MESSAGE_WIDTH),
            ]
        )
    lines += render_table(["ID", "LABEL", "STATUS", "TIME", "Message"], rows)
    return "\n".join(lines) + "\n"


def certificate_rows(body: JSONData) -> list[JSONData]:
    """Return the certificate table's rows, with a PENDING or REJECTED row added
    for each enrollment that has no Pub row yet, sorted CA-local first."""
    rows = _rows(body)
    labelled = {(row.get("label"), row.get("type")) for row in rows}
    for enrollment in _enrollments(body):
        state = enrollment.get("state", {}).get("state")
        name = enrollment.get("name")
        if state in PLACEHOLDER_HASH and (name, "pub") not in labelled:
            rows.append({"label": name, "type": "pub", "subject-hash": PLACEHOLDER_HASH[state]})
    return sorted(
        rows,
        key=lambda row: (
            row.get("type") != "ca-local",
            row.get("label", ""),
            TYPE_ORDER.get(row.get("type", ""), 9),
        ),
    )


def _expiry(row: JSONData) -> str:
    return format_time(row.get("expires") or row.get("not-after"))[:16]


def render_certificates(data: JSONData) -> str:
    """Render ``cert show``: TYPE HASH EXPIRES NAME DIST LABEL, one row per certificate or key."""
    rows = [
        [
            CERTIFICATE_TYPE_TEXT.get(row.get("type", ""), row.get("type", "")),
            row.get("subject-hash", ""),
            _expiry(row),
            _shorten(row.get("name", ""), NAME_WIDTH),
            DISTRIBUTION_TEXT.get(row.get("distribution", ""), row.get("distribution", "")),
            row.get("label", ""),
        ]
        for row in certificate_rows(pki_body(data))
    ]
    headers = ["TYPE", "HASH", "EXPIRES", "NAME", "DIST", "LABEL"]
    return "\n".join(render_table(headers, rows)) + "\n"


def _san_text(san: JSONData) -> str:
    prefixes = (("ip-address", "IP"), ("dns-name", "DNS"), ("email", "email"), ("uri", "URI"))
    entries = [f"{prefix}:{value}" for key, prefix in prefixes for value in san.get(key, [])]
    return ", ".join(entries)


def password_text(warnings: Sequence[str]) -> str:
    """Return the masked password, or '(not set)' when a warning reports it missing.

    The agent never returns the password itself (nacm:default-deny-all), so
    the warning is the only sign that none is configured.
    """
    missing = any("password" in warning.lower() for warning in warnings)
    return "(not set)" if missing else MASKED_PASSWORD


def _enrollment_fields(enrollment: JSONData, now: datetime) -> list[tuple[str, str]]:
    state = enrollment.get("state", {})
    config = {**ENROLLMENT_DEFAULTS, **enrollment}
    renewing = state.get("renewing")
    return [
        ("Name", enrollment.get("name", "")),
        ("Server", config.get("server", "")),
        ("Password", password_text(state.get("warning", []))),
        ("DN", config.get("dn", "")),
        ("SAN", _san_text(config.get("san", {}))),
        ("Profile", config.get("profile", "")),
        ("Key size", f"{config['keysize']} bits"),
        ("Renewal threshold", f"{config['renewal-threshold']} %"),
        ("State", str(state.get("state", "")).upper()),
        ("Reason", state.get("reason", "")),
        ("Fail info", state.get("fail-info", "")),
        ("HRESULT", state.get("hresult", "")),
        ("Transaction ID", state.get("transaction-id", "")),
        ("Attempts", str(state.get("attempts", ""))),
        ("Last attempt", format_relative(state.get("last-attempt"), now, past=True)),
        ("Next attempt", format_relative(state.get("next-attempt"), now)),
        ("Next renewal", format_relative(state.get("next-renewal"), now)),
        ("Renewing", "" if renewing is None else _yes_no(renewing)),
    ]


def _certificate_fields(row: JSONData) -> list[tuple[str, str]]:
    return [
        ("Subject", row.get("subject", "")),
        ("Issuer", row.get("issuer", "")),
        ("Serial", row.get("serial", "")),
        ("Not before", format_time(row.get("not-before"))),
        ("Not after", format_time(row.get("not-after"))),
        ("SHA-256", row.get("sha256-fingerprint", "")),
    ]


def render_enrollment(data: JSONData, name: str, now: datetime) -> str:
    """Render ``cert show NAME``: configuration (password masked), state, reason and times,
    then the issued certificate's details and its rows in the certificate table."""
    body = pki_body(data)
    matches = [item for item in _enrollments(body) if item.get("name") == name]
    if not matches:
        return f"No enrollment named {name!r} is configured.\n"
    enrollment = matches[0]
    fields = _enrollment_fields(enrollment, now)
    lines = render_fields(fields)
    rows = [row for row in _rows(body) if row.get("label") == name]
    issued = [row for row in rows if row.get("type") == "pub" and row.get("serial")]
    if issued:
        width = max(len(name) for name, value in fields if value != "")
        lines += ["", *render_fields(_certificate_fields(issued[0]), width)]
    if rows:
        lines += ["", *render_certificates({"pki-agent:pki": {"cert": {"certificates": {
            "certificate": rows}}}}).splitlines()]
    warnings = collect_warnings({"pki-agent:pki": {"cert": {"enroll": [enrollment]}}})
    if warnings:
        lines += ["", *render_box(f"Configuration Warnings: {len(warnings)}", warnings)]
    return "\n".join(lines) + "\n"


def _server_fields(server: JSONData, now: datetime) -> list[tuple[str, str]]:
    state = server.get("state", {})
    config = {**SERVER_DEFAULTS, **server}
    protocol = str(config["protocol"]).partition(":")[2] or str(config["protocol"])
    return [
        ("Server #", str(server.get("id", ""))),
        ("Label", config.get("label", "")),
        ("Description", config.get("description", "")),
        ("Enabled", _yes_no(config["enabled"])),
        ("Status", _status_text(state.get("status"))),
        ("Message", state.get("message", "")),
        ("URL", config.get("url", "")),
        ("Fingerprint", config.get("fingerprint", "")),
        ("Fingerprint-alg", config["fingerprint-alg"]),
        ("Protocol", protocol.upper()),
        ("Cipher", config["cipher"]),
        ("Renew-request", config["renew-request"]),
        ("Last check", format_relative(state.get("last-check"), now, past=True)),
        ("Next check", format_relative(state.get("next-check"), now)),
        ("Capabilities", " ".join(state.get("capability", []))),
        ("Encryption cert", state.get("encryption-certificate", "")),
        ("Signer cert", state.get("signer-certificate", "")),
    ]


def has_enrollment(data: JSONData, name: str) -> bool:
    """Return whether the reply has the enrollment ``name``."""
    return any(item.get("name") == name for item in _enrollments(pki_body(data)))


def has_server(data: JSONData, server_id: int) -> bool:
    """Return whether the reply has the enroll-server ``server_id``."""
    return any(item.get("id") == server_id for item in _servers(pki_body(data)))


def render_server(data: JSONData, server_id: int, now: datetime) -> str:
    """Render ``enroll-server show ID``: configuration and the result of the last check."""
    matches = [item for item in _servers(pki_body(data)) if item.get("id") == server_id]
    if not matches:
        return f"No enroll-server with ID {server_id} is configured.\n"
    return "\n".join(render_fields(_server_fields(matches[0], now))) + "\n"


def render_errors(errors: Sequence[str], title: str = "Configuration Errors") -> str:
    """Render the "Configuration Errors: N" box, or another title such as "RPC Errors"."""
    return "\n".join(render_box(f"{title}: {len(errors)}", errors)) + "\n"


def render_warnings(warnings: Sequence[str]) -> str:
    """Render the "Configuration Warnings: N" box."""
    return "\n".join(render_box(f"Configuration Warnings: {len(warnings)}", warnings)) + "\n"


def collect_warnings(data: JSONData) -> list[str]:
    """Return the configuration warnings of the enrollments in ``data`` as
    'cert enroll NAME: warning'."""
    return [
        f"cert enroll {enrollment.get('name', '')}: {warning}"
        for enrollment in _enrollments(pki_body(data))
        for warning in enrollment.get("state", {}).get("warning", [])
    ]
