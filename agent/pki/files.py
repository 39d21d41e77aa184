"""Store helpers: JSON writes, private directories and cleanup after a crash.

Every file is written with `agent.files.write_atomic`, so a kill at any
moment leaves the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from agent.files import sync_directory, write_atomic

# agent.files.write_atomic names its temporary files ".NAME.RANDOM.tmp".
TEMP_SUFFIX = ".tmp"
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def write_json_atomic(path: Path, value: Any, mode: int = PUBLIC_MODE) -> None:
    """Replace `path` with the JSON encoding of `value`."""
    data = json.dumps(value, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    write_atomic(path, data, mode)


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
