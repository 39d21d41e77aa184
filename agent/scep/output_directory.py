"""The --out directory of ``pki-agent scep enroll`` and ``poll`` and the files in it.

The files are written in an order that never leaves a key.pem next to a
cert.pem for another key: cert.pem is removed before key.pem is replaced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.files import write_atomic

KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
CHAIN_FILE = "chain.pem"
STATE_FILE = "state.json"
PENDING_FILE = "pending.json"

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


class OutputDirectoryError(AgentError):
    """The --out directory cannot be used, because it already contains an enrollment."""

    def __init__(self, directory: Path, reason: str) -> None:
        self.directory = directory
        self.reason = reason
        super().__init__(f"cannot use --out {directory}: {reason}")


def prepare_directory(directory: Path, force: bool) -> None:
    """Create `directory` if needed; reject one with a key or certificate unless `force`.

    Raises:
        OutputDirectoryError: key.pem or cert.pem exists and `force` is false.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if force:
        return
    existing = [name for name in (KEY_FILE, CERT_FILE) if (directory / name).exists()]
    if existing:
        raise OutputDirectoryError(
            directory,
            f"it already contains {' and '.join(existing)}; choose an empty directory, "
            "remove the files, or give --force to replace them",
        )


def save_issued(
    directory: Path,
    key_pem: bytes | None,
    certificate_pem: bytes,
    chain_pem: bytes,
    state: dict[str, Any] | None,
) -> None:
    """Write the issued certificate, with its new key when `key_pem` is given.

    A poll passes no key and no state, because the files of the pending
    request are already there.
    """
    if key_pem is not None:
        (directory / CERT_FILE).unlink(missing_ok=True)
        write_atomic(directory / KEY_FILE, key_pem, PRIVATE_MODE)
    write_atomic(directory / CERT_FILE, certificate_pem, PUBLIC_MODE)
    write_atomic(directory / CHAIN_FILE, chain_pem, PUBLIC_MODE)
    if state is not None:
        _save_state(directory, state)
    (directory / PENDING_FILE).unlink(missing_ok=True)


def save_pending(
    directory: Path, key_pem: bytes | None, pending_json: str, state: dict[str, Any] | None
) -> None:
    """Write what ``scep poll`` needs: the key, the state and the pending transaction.

    A certificate and chain of an earlier enrollment are removed first,
    because they do not match the new key.
    """
    if key_pem is not None:
        (directory / CERT_FILE).unlink(missing_ok=True)
        (directory / CHAIN_FILE).unlink(missing_ok=True)
        write_atomic(directory / KEY_FILE, key_pem, PRIVATE_MODE)
    if state is not None:
        _save_state(directory, state)
    write_atomic(directory / PENDING_FILE, pending_json.encode(), PRIVATE_MODE)


def _save_state(directory: Path, state: dict[str, Any]) -> None:
    write_atomic(directory / STATE_FILE, json.dumps(state, indent=2).encode(), PUBLIC_MODE)
