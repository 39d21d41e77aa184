"""The configuration, state and RPC bodies that the benchmarks send to both servers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.processes import LOOPBACK

PKI_NS = "urn:pki-agent:yang:pki-agent"
SERVER_LABEL = "bench-ca"
# The benchmark server is disabled, so neither server's daemon contacts it; the
# URL still names only the loopback address (port 9 is the discard service).
SERVER_URL = f"http://{LOOPBACK}:9/scep"
CHALLENGE = "bench-challenge"
"""Challenge password of every benchmark enrollment; micromdm is started with it."""
SERVER_FINGERPRINT = hashlib.sha256(b"pki-agent benchmark CA").hexdigest()

GET_CONFIG = "<get-config><source><running/></source></get-config>"
GET_PKI = f'<get><filter type="subtree"><pki xmlns="{PKI_NS}"/></filter></get>'
COMMIT = "<commit/>"


def enrollment_name(index: int) -> str:
    """Return the name of the benchmark enrollment number ``index``."""
    return f"device-{index:04d}"


def server_xml(enabled: bool = False, url: str = SERVER_URL, fingerprint: str = "") -> str:
    """Return the enroll-server entry that every benchmark enrollment uses."""
    return (
        f"<enroll-server><id>1</id><label>{SERVER_LABEL}</label>"
        f"<enabled>{str(enabled).lower()}</enabled><url>{url}</url>"
        f"<fingerprint>{fingerprint or SERVER_FINGERPRINT}</fingerprint></enroll-server>"
    )


def enrollment_xml(index: int, dn_suffix: str = "") -> str:
    """Return one enrollment entry with a DN in the form that operators type."""
    name = enrollment_name(index)
    return (
        f"<enroll><name>{name}</name><server>{SERVER_LABEL}</server>"
        f"<password>{CHALLENGE}</password>"
        f"<dn>CN={name}.bench.example{dn_suffix}, O=pki-agent bench, C=DE</dn>"
        f"<san><dns-name>{name}.bench.example</dns-name></san></enroll>"
    )


def pki_config(enrollments: int, server: str | None = None) -> str:
    """Return a ``<pki>`` configuration with one server and ``enrollments`` enrollments."""
    entries = "".join(enrollment_xml(i) for i in range(enrollments))
    return f'<pki xmlns="{PKI_NS}">{server or server_xml()}<cert>{entries}</cert></pki>'


def replace_config(config: str) -> str:
    """Return an edit-config that replaces the candidate's content with ``config``."""
    return (
        "<edit-config><target><candidate/></target>"
        f"<default-operation>replace</default-operation><config>{config}</config></edit-config>"
    )


def one_entry_edit(index: int, iteration: int) -> str:
    """Return an edit-config that changes the DN of one enrollment on the candidate."""
    entry = enrollment_xml(index, dn_suffix=f", OU=edit {iteration}")
    return (
        "<edit-config><target><candidate/></target>"
        f'<config><pki xmlns="{PKI_NS}"><cert>{entry}</cert></pki></config></edit-config>'
    )


def filtered_get(index: int) -> str:
    """Return a get with a subtree filter that selects one enrollment with its state."""
    return (
        f'<get><filter type="subtree"><pki xmlns="{PKI_NS}"><cert><enroll>'
        f"<name>{enrollment_name(index)}</name></enroll></cert></pki></filter></get>"
    )


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def recorded_state(enrollments: int, now: datetime | None = None) -> dict[str, Any]:
    """Return RFC 7951 state for ``enrollments`` issued certificates and their CA rows.

    The values have the shape that the daemon publishes after an enrollment:
    one issued ``pub`` row and one ``key`` row per enrollment, and the CA row
    of the server.  Serials and fingerprints are derived from the name.
    """
    now = now or datetime(2026, 12, 4, tzinfo=UTC)
    not_after = now + timedelta(days=365)
    ca_subject = "CN=pki-agent bench CA,O=pki-agent bench"
    rows: list[dict[str, Any]] = [
        _certificate_row(SERVER_LABEL, "ca-local", ca_subject, ca_subject, now, not_after)
    ]
    enroll_states = []
    for index in range(enrollments):
        name = enrollment_name(index)
        subject = f"C=DE,O=pki-agent bench,CN={name}.bench.example"
        rows.append(_certificate_row(name, "pub", subject, ca_subject, now, not_after))
        rows.append(_certificate_row(name, "key", subject, "", now, not_after))
        enroll_states.append(
            {
                "name": name,
                "state": {
                    "state": "issued",
                    "reason": "certificate issued",
                    "transaction-id": hashlib.sha256(name.encode()).hexdigest(),
                    "attempts": 1,
                    "last-attempt": _timestamp(now),
                    "next-renewal": _timestamp(now + timedelta(days=292)),
                    "renewing": False,
                },
            }
        )
    return {
        "pki-agent:pki": {
            "daemon": {"status": "running", "started": _timestamp(now), "uptime": "60"},
            "enroll-server": [
                {
                    "id": 1,
                    "state": {
                        "status": "responding",
                        "last-check": _timestamp(now),
                        "next-check": _timestamp(now + timedelta(hours=1)),
                        "capability": ["POSTPKIOperation", "SHA-256", "AES", "SCEPStandard"],
                    },
                }
            ],
            "cert": {"enroll": enroll_states, "certificates": {"certificate": rows}},
        }
    }


def _certificate_row(
    label: str, row_type: str, subject: str, issuer: str, start: datetime, end: datetime
) -> dict[str, Any]:
    digest = hashlib.sha256(f"{label}/{row_type}".encode())
    row: dict[str, Any] = {
        "label": label,
        "type": row_type,
        "subject-hash": digest.hexdigest()[:8],
        "expires": _timestamp(end),
        "name": subject.rpartition("CN=")[2],
        "distribution": "local" if row_type == "key" else "scep",
        "key-size": 2048,
    }
    if row_type == "key":
        return row
    row.update(
        {
            "server": SERVER_LABEL,
            "subject": subject,
            "issuer": issuer,
            "serial": digest.hexdigest()[:16],
            "not-before": _timestamp(start),
            "not-after": _timestamp(end),
            "sha1-fingerprint": hashlib.sha1(digest.digest()).hexdigest(),
            "sha256-fingerprint": digest.hexdigest(),
        }
    )
    return row
