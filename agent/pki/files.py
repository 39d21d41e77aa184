"""Atomic file writes for the key and certificate store.

Each write goes to a temporary file in the target directory, is flushed with
fsync, and is renamed over the target.  The directory is then synced, so the
rename itself survives a crash.  A kill at any moment leaves the old file
or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def write_atomic(path: Path, data: bytes, mode: int = PUBLIC_MODE) -> None:
    """Replace `path` with `data`, creating the file with `mode` from the start."""
    temp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        # os.open applies the umask, so set the mode explicitly as well.
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def write_json_atomic(path: Path, value: Any, mode: int = PUBLIC_MODE) -> None:
    """Replace `path` with the JSON encoding of `value`."""
    data = json.dumps(value, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    write_atomic(path, data, mode)


def sync_directory(directory: Path) -> None:
    """Flush a directory entry change (create, rename, unlink) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_directory(directory: Path) -> None:
    """Create a directory readable only by its owner, with its parents."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)


def remove_files(paths: list[Path]) -> None:
    """Unlink files that may already be gone, then sync their directories."""
    directories: set[Path] = set()
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            directories.add(path.parent)
    for directory in directories:
        sync_directory(directory)


def remove_temp_files(directory: Path) -> None:
    """Delete temporary files that a crash during `write_atomic` left behind."""
    remove_files([path for path in directory.glob(f".*{TEMP_SUFFIX}") if path.is_file()])
