"""The test CA's state directory: CA keys, issued certificates, requests, challenges.

Layout of DIR:

    config.json          personality, written on first start
    ca/ROLE.key.pem      private keys (0600), ROLE.cert.pem certificates
    issued/SERIAL.pem    every issued end-entity certificate
    requests/ID.json     one record per transactionID (pending, issued, rejected)
    challenges.json      outstanding one-time challenges (0600)
    faults.json          the active fault settings
    server.env           KEY=VALUE lines printed at start

Every write goes to a temporary file that is renamed over the old one.  The
server and the admin command may run at the same time, so each change of
requests, challenges or faults holds an exclusive flock on DIR/lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.files import write_atomic
from tools.scep_ca.errors import StateError
from tools.scep_ca.issuing import Credential

# Mode of the files that contain no key or challenge.
PUBLIC_MODE = 0o644

_thread_lock = threading.RLock()
_lock_depth = threading.local()


def request_file_name(transaction_id: str) -> str:
    """Name a request file by a hash, because a transactionID is free-form text."""
    return hashlib.sha256(transaction_id.encode()).hexdigest()[:40] + ".json"


class StateStore:
    """Files of one test CA instance under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self) -> None:
        for sub in ("ca", "issued", "requests"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "ca", 0o700)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory lock, against other threads and the admin command.

        The lock is reentrant within a thread: a nested call neither reopens nor
        re-locks the file, because a second flock from the same process would block.
        """
        with _thread_lock:
            depth = getattr(_lock_depth, "value", 0)
            _lock_depth.value = depth + 1
            try:
                if depth:
                    yield
                    return
                with open(self.root / "lock", "a") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                    try:
                        yield
                    finally:
                        fcntl.flock(handle, fcntl.LOCK_UN)
            finally:
                _lock_depth.value = depth

    # config.json

    def read_config(self) -> dict[str, Any] | None:
        path = self.root / "config.json"
        if not path.exists():
            return None
        return self._read_json(path)

    def write_config(self, config: dict[str, Any]) -> None:
        write_atomic(self.root / "config.json", _dump(config), PUBLIC_MODE)

    def require_config(self) -> dict[str, Any]:
        config = self.read_config()
        if config is None:
            raise StateError(str(self.root), "no config.json; start the CA once to create it")
        return config

    # CA credentials

    def load_credential(self, role: str) -> Credential | None:
        key_path = self.root / "ca" / f"{role}.key.pem"
        cert_path = self.root / "ca" / f"{role}.cert.pem"
        if not key_path.exists() or not cert_path.exists():
            return None
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise StateError(str(key_path), "the CA key is not an RSA key")
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return Credential(certificate, key)

    def save_credential(self, role: str, credential: Credential) -> None:
        key_pem = credential.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_atomic(self.root / "ca" / f"{role}.key.pem", key_pem, 0o600)
        cert_pem = credential.certificate.public_bytes(serialization.Encoding.PEM)
        write_atomic(self.root / "ca" / f"{role}.cert.pem", cert_pem, PUBLIC_MODE)

    def credential_path(self, role: str) -> Path:
        return self.root / "ca" / f"{role}.cert.pem"

    # issued certificates

    def save_issued(self, certificate: x509.Certificate) -> None:
        name = f"{certificate.serial_number:x}.pem"
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        write_atomic(self.root / "issued" / name, pem, PUBLIC_MODE)

    def load_issued(self, serial_number: int) -> x509.Certificate | None:
        path = self.root / "issued" / f"{serial_number:x}.pem"
        if not path.exists():
            return None
        return x509.load_pem_x509_certificate(path.read_bytes())

    # requests

    def read_request(self, transaction_id: str) -> dict[str, Any] | None:
        path = self.root / "requests" / request_file_name(transaction_id)
        if not path.exists():
            return None
        return self._read_json(path)

    def write_request(self, record: dict[str, Any]) -> None:
        name = request_file_name(record["transaction_id"])
        write_atomic(self.root / "requests" / name, _dump(record), PUBLIC_MODE)

    def list_requests(self) -> list[dict[str, Any]]:
        records = [self._read_json(path) for path in (self.root / "requests").glob("*.json")]
        return sorted(records, key=lambda record: record["created"])

    # challenges and faults

    def read_challenges(self) -> list[dict[str, Any]]:
        path = self.root / "challenges.json"
        if not path.exists():
            return []
        entries = self._read_json(path)
        return list(entries["challenges"])

    def write_challenges(self, entries: list[dict[str, Any]]) -> None:
        write_atomic(self.root / "challenges.json", _dump({"challenges": entries}), 0o600)

    def read_faults(self) -> dict[str, Any]:
        path = self.root / "faults.json"
        if not path.exists():
            return {}
        return self._read_json(path)

    def write_faults(self, settings: dict[str, Any]) -> None:
        write_atomic(self.root / "faults.json", _dump(settings), PUBLIC_MODE)

    def write_env(self, text: str) -> None:
        write_atomic(self.root / "server.env", text.encode(), PUBLIC_MODE)

    def _read_json(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StateError(str(path), f"unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise StateError(str(path), "expected a JSON object")
        return data


def _dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
