"""SSH credentials: the host key in the state directory, authorized keys and password hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from agent.errors import SettingsError
from agent.files import write_atomic

logger = logging.getLogger(__name__)

HOST_KEY_NAME = "ssh_host_key"
HOST_KEY_ALGORITHM = "ssh-ed25519"

PBKDF2_SCHEME = "pbkdf2-sha256"
PBKDF2_ITERATIONS = 600_000
"""The minimum for PBKDF2-HMAC-SHA256 in the OWASP Password Storage Cheat Sheet (2023)."""


def load_or_create_host_key(state_dir: Path) -> asyncssh.SSHKey:
    """Load the host key from the state directory, creating it (mode 0600) on first start."""
    path = state_dir / HOST_KEY_NAME
    if path.exists():
        if path.stat().st_mode & 0o077:
            logger.warning("host key %s is readable by group or others; run chmod 600", path)
        try:
            return asyncssh.read_private_key(path)
        except (OSError, asyncssh.KeyImportError) as exc:
            raise SettingsError(f"cannot read the SSH host key {path}: {exc}") from exc
    key = asyncssh.generate_private_key(HOST_KEY_ALGORITHM)
    write_atomic(path, key.export_private_key("openssh"), 0o600)
    logger.info("created SSH host key %s (%s)", path, key.get_fingerprint())
    return key


def read_authorized_keys(path: Path) -> asyncssh.SSHAuthorizedKeys | None:
    """Read an OpenSSH authorized_keys file; return None when it is missing or empty."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        return None
    try:
        return asyncssh.import_authorized_keys(text)
    except (ValueError, asyncssh.KeyImportError) as exc:
        raise SettingsError(f"invalid authorized_keys file {path}: {exc}") from exc


def hash_password(password: str, iterations: int = PBKDF2_ITERATIONS) -> str:
    """Hash a password as ``$pbkdf2-sha256$ITERATIONS$SALT$HASH`` (base64 salt and hash)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    encode = base64.b64encode
    return f"${PBKDF2_SCHEME}${iterations}${encode(salt).decode()}${encode(digest).decode()}"


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """One parsed PBKDF2-HMAC-SHA256 hash from a password file."""

    iterations: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """Parse ``$pbkdf2-sha256$ITERATIONS$SALT$HASH``; raise ValueError if it is not one."""
        fields = text.split("$")
        if len(fields) != 5 or fields[0] or fields[1] != PBKDF2_SCHEME:
            raise ValueError(f"expected ${PBKDF2_SCHEME}$ITERATIONS$SALT$HASH")
        iterations = int(fields[2])
        if iterations < 1:
            raise ValueError(f"iterations must be positive, got {iterations}")
        return cls(iterations, base64.b64decode(fields[3]), base64.b64decode(fields[4]))

    def verify(self, password: str) -> bool:
        """Check a password, comparing digests in constant time."""
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.iterations)
        return hmac.compare_digest(digest, self.digest)


def read_password_file(path: Path) -> dict[str, PasswordHash]:
    """Read ``USER:HASH`` lines, as `hash_password` writes them; ``#`` starts a comment."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise SettingsError(f"cannot read the password file {path}: {exc}") from exc
    hashes: dict[str, PasswordHash] = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        username, separator, hashed = line.partition(":")
        try:
            if not separator or not username:
                raise ValueError("expected USER:HASH")
            hashes[username] = PasswordHash.parse(hashed)
        except ValueError as exc:
            raise SettingsError(f"invalid password file {path} line {number}: {exc}") from exc
    return hashes
