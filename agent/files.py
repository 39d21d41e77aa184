"""Atomic file writes shared by the datastore, the SSH host key and the key store."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file.

    The data goes to a new temporary file in the same directory, which is
    created with `mode` (so a private key is never readable by others, not
    even for a moment), written in full and fsynced. os.replace() then renames
    it over `path`, and an fsync of the directory makes the rename durable, so
    a file survives a power loss once this function has returned. The
    directory must exist. On any error the temporary file is removed and the
    old file is left as it was.
    """
    temp_path = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp_path, _TEMP_FLAGS, mode)
    try:
        try:
            # os.open() applies the umask, so set the exact mode explicitly.
            os.fchmod(fd, mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp_path, path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Flush a change of directory entries (create, rename, unlink) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    # os.write() may write fewer bytes than requested, for example on a
    # full disk just before it fails, so write the rest until all is written.
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
