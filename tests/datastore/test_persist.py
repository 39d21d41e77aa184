"""Atomic persistence of datastore files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.datastore.persist import write_atomic


def test_write_creates_file_with_mode(tmp_path: Path) -> None:
    target = tmp_path / "datastore" / "running.xml"
    write_atomic(target, b"<new/>")

    assert target.read_bytes() == b"<new/>"
    assert target.stat().st_mode & 0o777 == 0o600


def test_failed_rename_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "running.xml"
    target.write_bytes(b"<old/>")

    def crash(source: str, destination: Path) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        write_atomic(target, b"<new/>" * 1000)

    assert target.read_bytes() == b"<old/>"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["running.xml"]


def test_failed_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "running.xml"
    target.write_bytes(b"<old/>")

    def crash(fd: int) -> None:
        raise OSError("simulated disk error at fsync")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="simulated disk error"):
        write_atomic(target, b"<new/>")

    assert target.read_bytes() == b"<old/>"
    assert [path.name for path in tmp_path.iterdir()] == ["running.xml"]
