"""Saving the files of ``pki-agent scep enroll`` and ``poll`` while SIGINT arrives."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from agent.scep import output_directory
from agent.scep.output_directory import (
    CERT_FILE,
    CHAIN_FILE,
    KEY_FILE,
    PENDING_FILE,
    STATE_FILE,
    save_issued,
    save_pending,
)

STATE = {"url": "http://127.0.0.1:1/scep", "fingerprint": "00", "fingerprint_alg": "sha256"}


@pytest.fixture
def sigint_after_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the process send itself SIGINT right after key.pem is written."""
    write_file = output_directory.write_file

    def write_then_interrupt(directory: Path, name: str, data: bytes, mode: int) -> None:
        write_file(directory, name, data, mode)
        if name == KEY_FILE:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(output_directory, "write_file", write_then_interrupt)


@pytest.mark.usefixtures("sigint_after_key")
def test_sigint_during_save_issued(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        save_issued(tmp_path, b"key", b"cert", b"chain", STATE)

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [KEY_FILE, CERT_FILE, CHAIN_FILE, STATE_FILE])
    assert (tmp_path / CERT_FILE).read_bytes() == b"cert"


@pytest.mark.usefixtures("sigint_after_key")
def test_sigint_during_save_pending(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        save_pending(tmp_path, b"key", '{"transaction_id": "1"}', STATE)

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [KEY_FILE, STATE_FILE, PENDING_FILE])


def test_save_restores_sigint_handler(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)

    save_issued(tmp_path, b"key", b"cert", None, STATE)

    assert signal.getsignal(signal.SIGINT) is before
