"""The store, the scep command and the test CA write through agent.files.write_atomic.

A file planted where an older writer put its temporary file, such as a
symlink to a file outside the directory, must not receive the data.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.pki import PKIStore
from agent.scep import output_directory
from tests.pki.factory import rsa_key
from tools.scep_ca.store import StateStore

Writer = Callable[[Path, Path], Path]
"""Writes one file under a directory, after planting symlinks to a victim file, and returns it."""


def plant_symlinks(target: Path, victim: Path) -> None:
    """Put symlinks to `victim` at the temporary names that older writers used."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for name in (f".{target.name}.tmp", f".{target.name}.{os.getpid()}.tmp"):
        (target.parent / name).symlink_to(victim)


def write_request_key(directory: Path, victim: Path) -> Path:
    store = PKIStore(directory)
    store.load()
    store.start_lineage("mycert1", "xpki-srv", "digest")
    target = directory / "enrollments" / "mycert1" / "key-1.pem"
    plant_symlinks(target, victim)
    lineage = store.begin_request("mycert1", rsa_key(1), renewal=False)
    assert lineage.next_key_file == target.name
    return target


def write_pending_file(directory: Path, victim: Path) -> Path:
    target = directory / output_directory.PENDING_FILE
    plant_symlinks(target, victim)
    output_directory.save_pending(directory, None, '{"secret": 1}', None)
    return target


def write_challenges(directory: Path, victim: Path) -> Path:
    store = StateStore(directory)
    store.create()
    target = directory / "challenges.json"
    plant_symlinks(target, victim)
    store.write_challenges([{"challenge": "0123456789abcdef"}])
    return target


@pytest.mark.parametrize("writer", [write_request_key, write_pending_file, write_challenges],
                         ids=["pki-key", "scep-pending", "scep-ca-challenges"])
def test_write_ignores_planted_temp_symlink(tmp_path: Path, writer: Writer) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"unchanged")
    victim.chmod(0o644)

    written = writer(tmp_path / "state", victim)

    assert written.read_bytes() != b"unchanged"
    assert victim.read_bytes() == b"unchanged"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not written.is_symlink()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
