"""Immutable views of the daemon's state and their RFC 7951 rendering.

The daemon replaces these values as a whole on every change, so the state
provider can render them on the event loop without waiting for any worker.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from agent.enrollment.config import TOP
from agent.enrollment.timing import format_time
from agent.pki import CACertificate, Lineage, subject_hash

_NAME_ATTRIBUTES = (
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.ORGANIZATION_NAME,
)
"""The attribute types that name a certificate in the table, in order of preference."""


class EnrollmentState(StrEnum):
    """YANG `enrollment-state`."""

    PENDING = "pending"
    ISSUED = "issued"
    REJECTED = "rejected"
    FAILED = "failed"


class ServerStatus(StrEnum):
    """YANG `server-status`."""

    NOT_CHECKED = "not-checked"
    DISABLED = "disabled"
    RESPONDING = "responding"
    SERVER_NOT_REACHABLE = "server-not-reachable"
    CA_NOT_DOWNLOADED = "ca-not-downloaded"
    CA_FINGERPRINT_MISMATCH = "ca-fingerprint-mismatch"
    NO_RA_CERT_FOUND = "no-ra-cert-found"
    CA_LABEL_CONFLICT = "ca-label-conflict"


@dataclass(frozen=True, slots=True)
class ServerView:
    """State of one enrollment server (`enroll-server/state`)."""

    id: int
    label: str
    status: ServerStatus = ServerStatus.NOT_CHECKED
    message: str | None = None
    last_check: datetime.datetime | None = None
    next_check: datetime.datetime | None = None
    capabilities: tuple[str, ...] = ()
    encryption_certificate: str | None = None
    signer_certificate: str | None = None


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    """State of one enrollment (`cert/enroll/state`)."""

    name: str
    server: str
    dn: str
    state: EnrollmentState = EnrollmentState.PENDING
    reason: str | None = None
    fail_info: str | None = None
    hresult: str | None = None
    transaction_id: str | None = None
    attempts: int = 0
    last_attempt: datetime.datetime | None = None
    next_attempt: datetime.datetime | None = None
    next_renewal: datetime.datetime | None = None
    renewing: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the versioned state provider renders, taken at one moment.

    It contains no clock reading, so equal snapshots render equal JSON.
    """

    servers: tuple[ServerView, ...]
    enrollments: tuple[EnrollmentView, ...]
    ca_certificates: tuple[CACertificate, ...]
    lineages: Mapping[str, Lineage]


def render_daemon_state(started: datetime.datetime | None,
                        now: datetime.datetime) -> dict[str, Any]:
    """Return the `pki-agent:pki/daemon` container, whose uptime changes every second."""
    return {TOP: {"daemon": _render_daemon(started, now)}}


def render_state(snapshot: Snapshot) -> dict[str, Any]:
    """Return the config-false nodes under `pki-agent:pki`, except the daemon container.

    The result is ``{}`` when there is nothing to show.
    """
    pki: dict[str, Any] = {}
    if snapshot.servers:
        pki["enroll-server"] = [
            {"id": view.id, "state": _render_server(view)} for view in snapshot.servers
        ]
    cert: dict[str, Any] = {}
    if snapshot.enrollments:
        cert["enroll"] = [
            {"name": view.name, "state": _render_enrollment(view)}
            for view in snapshot.enrollments
        ]
    rows = list(_ca_rows(snapshot.ca_certificates))
    for view in snapshot.enrollments:
        rows.extend(_enrollment_rows(view, snapshot.lineages.get(view.name)))
    if rows:
        cert["certificates"] = {"certificate": rows}
    if cert:
        pki["cert"] = cert
    return {TOP: pki} if pki else {}


def _render_daemon(started: datetime.datetime | None, now: datetime.datetime) -> dict[str, Any]:
    if started is None:
        return {"status": "not-running"}
    uptime = max(int((now - started).total_seconds()), 0)
    # RFC 7951 §6.1: uint64 values are JSON strings.
    return {"status": "running", "started": format_time(started), "uptime": str(uptime)}


def _render_server(view: ServerView) -> dict[str, Any]:
    state = {
        "status": str(view.status),
        "message": view.message,
        "last-check": format_time(view.last_check),
        "next-check": format_time(view.next_check),
        "capability": list(view.capabilities) or None,
        "encryption-certificate": view.encryption_certificate,
        "signer-certificate": view.signer_certificate,
    }
    return _drop_none(state)


def _render_enrollment(view: EnrollmentView) -> dict[str, Any]:
    state = {
        "state": str(view.state),
        "reason": view.reason,
        "fail-info": view.fail_info,
        "hresult": view.hresult,
        "transaction-id": view.transaction_id,
        "attempts": view.attempts,
        "last-attempt": format_time(view.last_attempt),
        "next-attempt": format_time(view.next_attempt),
        "next-renewal": format_time(view.next_renewal),
        "renewing": view.renewing,
        "warning": list(view.warnings) or None,
    }
    return _drop_none(state)


def _ca_rows(rows: Iterable[CACertificate]) -> Iterable[dict[str, Any]]:
    for row in rows:
        entry = {"label": row.label, "type": "ca-local", "distribution": "scep",
                 "server": row.server}
        entry.update(_certificate_fields(row.certificate))
        yield _drop_none(entry)


def _enrollment_rows(view: EnrollmentView, lineage: Lineage | None) -> Iterable[dict[str, Any]]:
    certificate = lineage.certificate if lineage is not None else None
    if certificate is None:
        marker = "REJECTED" if view.state is EnrollmentState.REJECTED else "PENDING"
        yield _drop_none({"label": view.name, "type": "pub", "subject-hash": marker,
                          "name": name_of_dn(view.dn), "distribution": "scep",
                          "server": view.server})
        if lineage is not None and lineage.next_key_size is not None:
            yield {"label": view.name, "type": "key", "subject-hash": marker,
                   "distribution": "local", "key-size": lineage.next_key_size}
        return
    fields = _certificate_fields(certificate)
    pub = {"label": view.name, "type": "pub", "distribution": "scep", "server": view.server}
    pub.update(fields)
    yield _drop_none(pub)
    yield _drop_none({"label": view.name, "type": "key", "subject-hash": fields["subject-hash"],
                      "expires": fields["expires"], "name": fields["name"],
                      "distribution": "local",
                      "key-size": lineage.key_size if lineage is not None else None})


def _certificate_fields(certificate: x509.Certificate) -> dict[str, Any]:
    return dict(_certificate_facts(certificate))


# Every get renders every certificate, so the derived values are computed once
# per certificate; the cache is bounded and keyed by the immutable certificate.
@functools.lru_cache(maxsize=4096)
def _certificate_facts(certificate: x509.Certificate) -> tuple[tuple[str, Any], ...]:
    der = certificate.public_bytes(serialization.Encoding.DER)
    public_key = certificate.public_key()
    key_size = public_key.key_size if isinstance(public_key, rsa.RSAPublicKey) else None
    return tuple({
        "subject-hash": subject_hash(certificate),
        "expires": format_time(certificate.not_valid_after_utc),
        "name": name_of_subject(certificate.subject),
        "key-size": key_size,
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "serial": f"{certificate.serial_number:x}",
        "not-before": format_time(certificate.not_valid_before_utc),
        "not-after": format_time(certificate.not_valid_after_utc),
        "sha1-fingerprint": _digest(der, hashes.SHA1()),
        "sha256-fingerprint": _digest(der, hashes.SHA256()),
    }.items())


def _digest(data: bytes, algorithm: hashes.HashAlgorithm) -> str:
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize().hex()


def name_of_subject(subject: x509.Name) -> str | None:
    """Return the certificate table's name of `subject`, or None when the subject is empty.

    The name is the CN, else the OU, else the O.  The last attribute of a type
    is the most specific one, because a Name lists its RDNs from the root
    down.  A subject with none of these types, such as ``DC=example,DC=com``,
    is named by its whole RFC 4514 string.
    """
    for oid in _NAME_ATTRIBUTES:
        attributes = subject.get_attributes_for_oid(oid)
        if attributes:
            value = attributes[-1].value
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return subject.rfc4514_string() or None


def name_of_dn(dn: str) -> str | None:
    """Return the certificate table's name of a DN as operators type it, or None if invalid."""
    # Imported here because agent.scep loads asn1crypto, which the daemon
    # defers until it enrolls, and only an enrollment has a DN.
    from agent.scep.csr import parse_dn
    from agent.scep.errors import InvalidInput

    try:
        return name_of_subject(parse_dn(dn))
    except InvalidInput:
        return None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
