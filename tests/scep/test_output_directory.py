"""Saving the files of ``pki-agent scep enroll`` and ``poll`` while a signal arrives."""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from agent.scep import output_directory
from agent.scep.output_directory import (
    CERT_FILE,
    CHAIN_FILE,
    KEY_FILE,
    PENDING_FILE,
    STATE_FILE,
    OutputDirectoryError,
    save_issued,
    save_pending,
)

STATE = {"url": "http://127.0.0.1:1/scep", "fingerprint": "00", "fingerprint_alg": "sha256"}


class Delivered(Exception):
    """Raised by the test's handler when a held-back signal arrives."""


@pytest.fixture
def raising_handlers() -> Iterator[None]:
    """Make SIGTERM and SIGHUP raise `Delivered` instead of ending pytest."""

    def deliver(number: int, frame: object) -> None:
        raise Delivered(signal.Signals(number).name)

    numbers = (signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.signal(number, deliver) for number in numbers}
    yield
    for number, handler in previous.items():
        signal.signal(number, handler)


def interrupt_after_key(
    monkeypatch: pytest.MonkeyPatch, number: int, fail_on: str | None = None
) -> None:
    """Make the process send itself `number` right after key.pem is written.

    The write of `fail_on` then fails with ENOSPC.
    """
    write_file = output_directory.write_file

    def write(directory: Path, name: str, data: bytes, mode: int) -> None:
        if name == fail_on:
            reason = f"cannot write {name}: {os.strerror(errno.ENOSPC)}"
            raise OutputDirectoryError(directory, reason)
        write_file(directory, name, data, mode)
        if name == KEY_FILE:
            signal.raise_signal(number)

    monkeypatch.setattr(output_directory, "write_file", write)


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


@pytest.mark.usefixtures("raising_handlers")
@pytest.mark.parametrize(
    ("number", "expected"),
    [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Delivered), (signal.SIGHUP, Delivered)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_signal_during_save_issued(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, number: int, expected: type[BaseException]
) -> None:
    interrupt_after_key(monkeypatch, number)

    with pytest.raises(expected):
        save_issued(tmp_path, b"key", b"cert", b"chain", STATE)

    assert names(tmp_path) == sorted([KEY_FILE, CERT_FILE, CHAIN_FILE, STATE_FILE])
    assert (tmp_path / CERT_FILE).read_bytes() == b"cert"


def test_sigint_during_save_pending(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    interrupt_after_key(monkeypatch, signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        save_pending(tmp_path, b"key", '{"transaction_id": "1"}', STATE)

    assert names(tmp_path) == sorted([KEY_FILE, STATE_FILE, PENDING_FILE])


def test_failed_save_reports_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    interrupt_after_key(monkeypatch, signal.SIGINT, fail_on=CERT_FILE)

    with pytest.raises(OutputDirectoryError, match=r"cannot write cert\.pem"):
        save_issued(tmp_path, b"key", b"cert", None, STATE)


def test_ignored_sigint_stays_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    interrupt_after_key(monkeypatch, signal.SIGINT)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        save_issued(tmp_path, b"key", b"cert", None, STATE)
        handler = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)

    assert handler == signal.SIG_IGN
    assert names(tmp_path) == sorted([KEY_FILE, CERT_FILE, STATE_FILE])


def test_sigint_then_sigterm_both_delivered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    delivered: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: delivered.append(number))
    write_file = output_directory.write_file

    def write(directory: Path, name: str, data: bytes, mode: int) -> None:
        write_file(directory, name, data, mode)
        if name == KEY_FILE:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(output_directory, "write_file", write)
    try:
        with pytest.raises(KeyboardInterrupt):
            save_issued(tmp_path, b"key", b"cert", None, STATE)
        # Python runs the handler of a signal still pending at its next check.
        signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert delivered == [signal.SIGTERM]


def test_save_restores_signal_mask(tmp_path: Path) -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])

    save_issued(tmp_path, b"key", b"cert", None, STATE)

    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before


def test_interrupt_while_blocking_restores_mask(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # pthread_sigmask runs the handler of a signal that arrived just before
    # it, so KeyboardInterrupt can come right after the signals are blocked.
    real_sigmask = signal.pthread_sigmask

    def block_then_interrupt(how: int, mask: Iterable[int]) -> set[signal.Signals]:
        mask = list(mask)
        previous = real_sigmask(how, mask)
        if how == signal.SIG_BLOCK and mask:
            raise KeyboardInterrupt
        return previous

    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    monkeypatch.setattr(signal, "pthread_sigmask", block_then_interrupt)

    with pytest.raises(KeyboardInterrupt):
        save_issued(tmp_path, b"key", b"cert", None, STATE)

    assert real_sigmask(signal.SIG_BLOCK, []) == before

