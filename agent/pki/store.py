"""The key and certificate store in the state directory.

Layout under the store directory:

    enrollments/NAME/lineage.json   files in use for enrollment NAME
    enrollments/NAME/key-V.pem      private keys (0600)
    enrollments/NAME/cert-V.pem     issued certificate and chain
    enrollments/NAME/pending-V.json pending SCEP transaction (0600)
    ca/LABEL.json                   one CA-local row of the certificate table

Every write is atomic (see `agent.files`).  A lock guards the in-memory
index, so worker threads can write while the event loop reads snapshots.
Callers must not run two writes for the same enrollment at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.files import sync_directory
from agent.pki import lineage as lineage_files
from agent.pki.errors import (
    CACertificateNotFoundError,
    CALabelConflictError,
    InvalidLabelError,
    LineageNotFoundError,
    StoreCorruptError,
)
from agent.pki.files import (
    make_private_directory,
    remove_files,
    remove_temp_files,
    write_json_atomic,
)
from agent.pki.lineage import Lineage
from agent.pki.subject_hash import subject_hash

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SAFE_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-+.]{0,127}")
_CA_FORMAT = 1


class CARole(StrEnum):
    """Role of a CA-local certificate downloaded from an enrollment server."""

    ROOT = "root"
    RA = "ra"
    INTERMEDIATE = "intermediate"


@dataclass(frozen=True, slots=True)
class CACertificate:
    """One CA-local row: a root, RA or intermediate certificate of a server."""

    label: str
    server: str
    role: CARole
    certificate: x509.Certificate
    sha256: str
    subject_hash: str


def check_label(label: str) -> str:
    """Return `label` if it is safe as a file name, else raise InvalidLabelError."""
    if not _SAFE_LABEL.fullmatch(label):
        raise InvalidLabelError(label)
    return label


def certificate_sha256(certificate: x509.Certificate) -> str:
    """Return the SHA-256 fingerprint of a certificate's DER, in lower-case hex."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


class PKIStore:
    """Keys, certificates, pending transactions and CA-local rows on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._enrollments_dir = directory / "enrollments"
        self._ca_dir = directory / "ca"
        self._lock = threading.Lock()
        self._lineages: dict[str, Lineage] = {}
        self._ca: dict[str, CACertificate] = {}
        self._version = 0

    @property
    def version(self) -> int:
        """A counter that increases on every change of the lineages or CA-local rows."""
        with self._lock:
            return self._version

    def load(self) -> None:
        """Read the store, creating its directories and deleting crash leftovers.

        An unreadable lineage or CA row is logged and skipped, so one damaged
        file does not stop the agent.  Its files stay on disk until the
        enrollment starts over or the server's CA is downloaded again.
        """
        make_private_directory(self._enrollments_dir)
        make_private_directory(self._ca_dir)
        lineages: dict[str, Lineage] = {}
        for path in sorted(self._enrollments_dir.iterdir()):
            if path.is_dir():
                loaded = _skip_corrupt(lineage_files.read_lineage, path)
                if loaded is not None:
                    lineages[loaded.name] = loaded
        remove_temp_files(self._ca_dir)
        ca: dict[str, CACertificate] = {}
        for path in sorted(self._ca_dir.glob("*.json")):
            row = _skip_corrupt(_read_ca_row, path)
            if row is not None:
                ca[row.label] = row
        with self._lock:
            self._lineages = lineages
            self._ca = ca
            self._version += 1
        logger.info("loaded PKI store %s: %d enrollments, %d CA certificates",
                    self.directory, len(lineages), len(ca))

    # Enrollment lineages

    def lineage(self, name: str) -> Lineage | None:
        """Return the stored state of one enrollment, if any."""
        with self._lock:
            return self._lineages.get(name)

    def lineages(self) -> dict[str, Lineage]:
        """Return a snapshot of every enrollment's stored state."""
        with self._lock:
            return dict(self._lineages)

    def start_lineage(self, name: str, server: str, request_digest: str) -> Lineage:
        """Replace whatever is stored for `name` with an empty lineage."""
        self.delete_lineage(name)
        fresh = Lineage(name=check_label(name), server=server, request_digest=request_digest)
        return self._commit(fresh)

    def start_request(self, name: str, server: str, request_digest: str,
                      key: rsa.RSAPrivateKey) -> Lineage:
        """Replace whatever is stored for `name` with a new lineage whose request uses `key`.

        This is `start_lineage` followed by `begin_request`, with one pointer
        write instead of two.  The key file (0600) and the pointer are on disk
        when this returns, so the request may be sent.
        """
        self.delete_lineage(name)
        fresh = Lineage(name=check_label(name), server=server, request_digest=request_digest)
        with self._lock:
            self._lineages[name] = fresh
            self._version += 1
        return self.begin_request(name, key, renewal=False)

    def begin_request(self, name: str, key: rsa.RSAPrivateKey, renewal: bool) -> Lineage:
        """Store the key of a new request before the request is sent."""
        current = self._require(name)
        version = current.version + 1
        file_name = f"key-{version}.pem"
        lineage_files.write_key(self._path(name), file_name, key)
        return self._commit(replace(current, version=version, next_key_file=file_name,
                                    next_key_size=key.key_size, pending_file=None,
                                    transaction_id=None, renewal=renewal, rejection=None))

    def save_pending(self, name: str, transaction: dict[str, Any]) -> Lineage:
        """Store the pending transaction of the outstanding request."""
        current = self._require(name)
        version = current.version + 1
        file_name = f"pending-{version}.json"
        lineage_files.write_pending(self._path(name), file_name, transaction)
        transaction_id = transaction.get("transaction_id")
        return self._commit(replace(
            current, version=version, pending_file=file_name,
            transaction_id=None if transaction_id is None else str(transaction_id)))

    def save_issued(self, name: str, certificate: x509.Certificate,
                    chain: tuple[x509.Certificate, ...] = ()) -> Lineage:
        """Store an issued certificate; its request key becomes the current key."""
        current = self._require(name)
        if current.next_key_file is None:
            raise StoreCorruptError(self._path(name), "certificate issued without a request key")
        version = current.version + 1
        file_name = f"cert-{version}.pem"
        lineage_files.write_certificates(self._path(name), file_name, certificate, chain)
        return self._commit(replace(
            current, version=version, key_file=current.next_key_file,
            key_size=current.next_key_size, certificate_file=file_name,
            certificate=certificate, chain=chain, next_key_file=None, next_key_size=None,
            pending_file=None, transaction_id=None, renewal=False, rejection=None))

    def save_rejected(self, name: str, details: dict[str, str]) -> Lineage:
        """Record the CA's final rejection of a first request and drop its key.

        `details` contains display strings (failInfo, HRESULT, reason), never a
        password.  The record keeps a restart from sending a new request
        silently.  A new commit or re-enroll starts over.
        """
        current = self._require(name)
        return self._commit(replace(current, version=current.version + 1, next_key_file=None,
                                    next_key_size=None, pending_file=None, transaction_id=None,
                                    renewal=False, rejection=dict(details)))

    def abandon_request(self, name: str) -> Lineage:
        """Drop the outstanding request's key and transaction, keeping the certificate."""
        current = self._require(name)
        return self._commit(replace(current, version=current.version + 1, next_key_file=None,
                                    next_key_size=None, pending_file=None, transaction_id=None,
                                    renewal=False))

    def delete_lineage(self, name: str) -> None:
        """Delete every key, certificate and transaction of an enrollment."""
        path = self._path(name)
        with self._lock:
            self._lineages.pop(name, None)
            self._version += 1
        if path.exists():
            # Remove the pointer first, so a crash during rmtree leaves no lineage.
            remove_files([path / lineage_files.POINTER])
            shutil.rmtree(path, ignore_errors=True)
            sync_directory(self._enrollments_dir)

    def private_key(self, name: str, file_name: str) -> rsa.RSAPrivateKey:
        """Load one of the enrollment's private keys."""
        return lineage_files.read_key(self._path(name), file_name)

    def pending_transaction(self, name: str) -> dict[str, Any] | None:
        """Load the enrollment's pending transaction, if it has one."""
        current = self._require(name)
        if current.pending_file is None:
            return None
        return lineage_files.read_pending(self._path(name), current.pending_file)

    # CA-local rows

    def ca_certificates(self) -> tuple[CACertificate, ...]:
        """Return every CA-local row, ordered by label."""
        with self._lock:
            return tuple(self._ca[label] for label in sorted(self._ca))

    def ca_certificate(self, label: str) -> CACertificate | None:
        """Return one CA-local row, if it exists."""
        with self._lock:
            return self._ca.get(label)

    def store_ca_certificate(self, label: str, server: str, role: CARole,
                             certificate: x509.Certificate) -> CACertificate:
        """Add a CA-local row; an identical row is kept, a different one raises."""
        row = CACertificate(label=check_label(label), server=server, role=role,
                            certificate=certificate, sha256=certificate_sha256(certificate),
                            subject_hash=subject_hash(certificate))
        existing = self.ca_certificate(label)
        if existing is not None:
            if existing.sha256 != row.sha256:
                raise CALabelConflictError(label, existing.sha256, row.sha256)
            if existing.server == server and existing.role == role:
                return existing
        write_json_atomic(self._ca_dir / f"{label}.json", _ca_row_json(row))
        with self._lock:
            self._ca[label] = row
            self._version += 1
        return row

    def store_ca_certificates(
        self, server: str, rows: Sequence[tuple[str, CARole, x509.Certificate]]
    ) -> None:
        """Add the CA-local rows of one server, writing none of them if any label conflicts."""
        for label, _, certificate in rows:
            existing = self.ca_certificate(label)
            if existing is not None and existing.certificate != certificate:
                raise CALabelConflictError(label, existing.sha256,
                                           certificate_sha256(certificate))
        for label, role, certificate in rows:
            self.store_ca_certificate(label, server, role, certificate)

    def remove_ca_certificate(self, label: str) -> CACertificate:
        """Delete one CA-local row by label and return it."""
        with self._lock:
            row = self._ca.pop(label, None)
            self._version += 1
        if row is None:
            raise CACertificateNotFoundError(label)
        remove_files([self._ca_dir / f"{check_label(label)}.json"])
        return row

    def _path(self, name: str) -> Path:
        return self._enrollments_dir / check_label(name)

    def _require(self, name: str) -> Lineage:
        with self._lock:
            current = self._lineages.get(name)
        if current is None:
            raise LineageNotFoundError(name)
        return current

    def _commit(self, updated: Lineage) -> Lineage:
        lineage_files.write_lineage(self._path(updated.name), updated)
        with self._lock:
            self._lineages[updated.name] = updated
            self._version += 1
        return updated


def _skip_corrupt(read: Callable[[Path], T | None], path: Path) -> T | None:
    try:
        return read(path)
    except StoreCorruptError as exc:
        logger.error("skipping %s: %s; it is replaced when its enrollment or server is "
                     "processed again", path, exc.detail)
        return None


def _ca_row_json(row: CACertificate) -> dict[str, Any]:
    return {
        "format": _CA_FORMAT,
        "label": row.label,
        "server": row.server,
        "role": str(row.role),
        "certificate": row.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    }


def _read_ca_row(path: Path) -> CACertificate:
    try:
        raw = json.loads(path.read_bytes())
        if raw.get("format") != _CA_FORMAT:
            raise ValueError(f"unsupported format {raw.get('format')!r}")
        certificate = x509.load_pem_x509_certificate(raw["certificate"].encode("ascii"))
        return CACertificate(label=str(raw["label"]), server=str(raw["server"]),
                             role=CARole(raw["role"]), certificate=certificate,
                             sha256=certificate_sha256(certificate),
                             subject_hash=subject_hash(certificate))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, x509.InvalidVersion) as exc:
        raise StoreCorruptError(path, str(exc)) from exc
