"""Atomic persistence of datastore files."""

from __future__ import annotations

from pathlib import Path

from agent import files

DATASTORE_FILE_MODE = 0o600


def write_atomic(path: Path, data: bytes, mode: int = DATASTORE_FILE_MODE) -> None:
    """Replace a datastore file so that a crash leaves the old or the new file.

    The directory fsync in `agent.files.write_atomic` is kept because the
    <ok/> reply to a commit promises that running has changed. On the shared
    ext4 disk of the benchmark machine, timed step by step over 300 writes,
    it took a median of 0.13 ms of the 0.64 ms that a 3 KB write took.
    Dropping it would not remove the cost of durability.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, data, mode)


def remove_file(path: Path) -> None:
    """Delete a datastore file, treating a missing file as already deleted."""
    path.unlink(missing_ok=True)
