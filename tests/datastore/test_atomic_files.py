"""The shared atomic write helper in agent.files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.files import write_atomic


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640])
def test_write_sets_exact_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "file.bin"
    old_umask = os.umask(0o077)
    try:
        write_atomic(target, b"data", mode)
    finally:
        os.umask(old_umask)

    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_temp_file_created_with_final_mode(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    created_modes: list[int] = []
    real_open = os.open

    def record_open(path: str | Path, flags: int, mode: int = 0o777) -> int:
        if flags & os.O_CREAT:
            created_modes.append(mode)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", record_open)
    write_atomic(tmp_path / "key.pem", b"secret", 0o600)

    assert created_modes == [0o600]


def test_write_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "running.xml"
    target.write_bytes(b"<old/>")

    write_atomic(target, b"<new/>", 0o600)

    assert target.read_bytes() == b"<new/>"
    assert [path.name for path in tmp_path.iterdir()] == ["running.xml"]


def test_failed_rename_removes_temp_file(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "running.xml"
    target.write_bytes(b"<old/>")

    def crash(source: str, destination: Path) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        write_atomic(target, b"<new/>", 0o600)

    assert target.read_bytes() == b"<old/>"
    assert [path.name for path in tmp_path.iterdir()] == ["running.xml"]


def test_directory_synced_after_rename(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def record_fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record_fsync)
    write_atomic(tmp_path / "running.xml", b"<new/>", 0o600)

    assert synced == [False, True]


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "absent" / "file", b"x", 0o600)
