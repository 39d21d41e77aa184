"""Per-enrollment keys, certificates and pending transactions (a lineage).

Each enrollment owns one directory.  Keys, certificates and pending
transactions are written once under a versioned file name, and
`lineage.json`, rewritten atomically, names the files in use.  A crash
between two steps leaves files that the pointer does not name; `load` deletes
them, so the store always shows the last completed step.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.files import sync_directory, write_atomic
from agent.pki.errors import StoreCorruptError
from agent.pki.files import (
    PRIVATE_MODE,
    PUBLIC_MODE,
    make_private_directory,
    remove_files,
    remove_temp_files,
    write_json_atomic,
)

POINTER = "lineage.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Lineage:
    """The stored files of one enrollment, as named by its `lineage.json`."""

    name: str
    server: str
    request_digest: str
    version: int = 0
    key_file: str | None = None
    certificate_file: str | None = None
    next_key_file: str | None = None
    pending_file: str | None = None
    transaction_id: str | None = None
    """transactionID of the pending transaction, shown in the state before it is read."""
    renewal: bool = False
    rejection: dict[str, str] | None = None
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    key_size: int | None = None
    next_key_size: int | None = None

    def referenced_files(self) -> set[str]:
        """Return the names of the files that this version uses."""
        names = {self.key_file, self.certificate_file, self.next_key_file, self.pending_file}
        return {name for name in names if name is not None}

    def to_json(self) -> dict[str, Any]:
        """Encode the pointer file, without the loaded objects."""
        return {
            "format": FORMAT,
            "name": self.name,
            "server": self.server,
            "request-digest": self.request_digest,
            "version": self.version,
            "key": self.key_file,
            "certificate": self.certificate_file,
            "next-key": self.next_key_file,
            "pending": self.pending_file,
            "transaction-id": self.transaction_id,
            "renewal": self.renewal,
            "rejection": self.rejection,
        }


def write_lineage(directory: Path, lineage: Lineage) -> None:
    """Atomically point the enrollment's directory at `lineage`, then drop stale files."""
    make_private_directory(directory)
    write_json_atomic(directory / POINTER, lineage.to_json())
    keep = lineage.referenced_files() | {POINTER}
    remove_files([path for path in directory.iterdir() if path.name not in keep])


def write_key(directory: Path, file_name: str, key: rsa.RSAPrivateKey) -> None:
    """Store a private key in PKCS#8 PEM with mode 0600."""
    make_private_directory(directory)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(directory / file_name, pem, PRIVATE_MODE)


def write_certificates(
    directory: Path, file_name: str, certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
) -> None:
    """Store a certificate followed by its chain in one PEM file."""
    make_private_directory(directory)
    pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in (certificate, *chain))
    write_atomic(directory / file_name, pem, PUBLIC_MODE)


def write_pending(directory: Path, file_name: str, transaction: dict[str, Any]) -> None:
    """Store a pending transaction with mode 0600, because it contains secrets.

    The transaction contains the signer's private key and the PKCS#10 request
    as sent, whose challengePassword attribute contains the challenge password.
    It is the only file of the store that contains the password.
    A request sent without a reply from the CA has no transaction, so it is
    rebuilt from the stored request key with the same transactionID.
    """
    make_private_directory(directory)
    data = json.dumps(transaction, sort_keys=True).encode("utf-8")
    write_atomic(directory / file_name, data, PRIVATE_MODE)


def read_key(directory: Path, file_name: str) -> rsa.RSAPrivateKey:
    """Load a private key that `write_key` stored."""
    path = directory / file_name
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise StoreCorruptError(path, str(exc)) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise StoreCorruptError(path, "not an RSA private key")
    return key


def read_pending(directory: Path, file_name: str) -> dict[str, Any]:
    """Load a pending transaction that `write_pending` stored."""
    path = directory / file_name
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise StoreCorruptError(path, str(exc)) from exc
    if not isinstance(value, dict):
        raise StoreCorruptError(path, "pending transaction is not a JSON object")
    return value


def read_lineage(directory: Path) -> Lineage | None:
    """Load an enrollment's directory; return None when it has no pointer file."""
    remove_temp_files(directory)
    pointer = directory / POINTER
    if not pointer.exists():
        shutil.rmtree(directory, ignore_errors=True)
        sync_directory(directory.parent)
        return None
    lineage = _parse_pointer(pointer)
    lineage = _attach_objects(directory, lineage)
    stale = [p for p in directory.iterdir() if p.name not in lineage.referenced_files() | {POINTER}]
    remove_files(stale)
    return lineage


def _parse_pointer(pointer: Path) -> Lineage:
    try:
        raw = json.loads(pointer.read_bytes())
        if raw.get("format") != FORMAT:
            raise ValueError(f"unsupported format {raw.get('format')!r}")
        return Lineage(
            name=str(raw["name"]),
            server=str(raw["server"]),
            request_digest=str(raw["request-digest"]),
            version=int(raw["version"]),
            key_file=raw.get("key"),
            certificate_file=raw.get("certificate"),
            next_key_file=raw.get("next-key"),
            pending_file=raw.get("pending"),
            transaction_id=_optional_text(raw.get("transaction-id")),
            renewal=bool(raw.get("renewal", False)),
            rejection=_parse_rejection(raw.get("rejection")),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreCorruptError(pointer, str(exc)) from exc


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _parse_rejection(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("rejection is not a JSON object")
    return {str(key): str(item) for key, item in value.items()}


def _attach_objects(directory: Path, lineage: Lineage) -> Lineage:
    certificate = None
    chain: tuple[x509.Certificate, ...] = ()
    if lineage.certificate_file is not None:
        path = directory / lineage.certificate_file
        try:
            certificates = x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError, x509.InvalidVersion) as exc:
            raise StoreCorruptError(path, str(exc)) from exc
        certificate, chain = certificates[0], tuple(certificates[1:])
    key_size = _key_size(directory, lineage.key_file)
    next_key_size = _key_size(directory, lineage.next_key_file)
    return replace(lineage, certificate=certificate, chain=chain, key_size=key_size,
                   next_key_size=next_key_size)


def _key_size(directory: Path, file_name: str | None) -> int | None:
    if file_name is None:
        return None
    return read_key(directory, file_name).key_size
