"""The --out directory of ``pki-agent scep enroll`` and ``poll`` and the files in it.

The files are written in an order that never leaves a key.pem next to a
cert.pem for another key: cert.pem is removed before key.pem is replaced.
A Ctrl-C, SIGTERM or SIGHUP while they are written takes effect once all
of them are written.
"""

from __future__ import annotations

import argparse
import json
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.files import write_atomic
from agent.scep.options import scep_url

KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
CHAIN_FILE = "chain.pem"
STATE_FILE = "state.json"
PENDING_FILE = "pending.json"

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


# The signals that end a command, held back while the files are written.
_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# The keys of state.json that scep poll reads; "method" is optional.
_STATE_KEYS = ("url", "fingerprint", "fingerprint_alg")


class OutputDirectoryError(AgentError):
    """The --out directory cannot be created, written or read, or already contains an enrollment."""

    def __init__(self, directory: Path, reason: str) -> None:
        self.directory = directory
        self.reason = reason
        super().__init__(f"cannot use --out {directory}: {reason}")


def create_directory(directory: Path) -> None:
    """Create `directory` and its parents if needed, and check that files can be written in it.

    The check runs before any request, so that an issued certificate is not
    lost because --out is a file or on a read-only file system.

    Raises:
        OutputDirectoryError: names the directory and the cause.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OutputDirectoryError(directory, "it exists and is not a directory") from exc
    except NotADirectoryError as exc:
        raise OutputDirectoryError(directory, "a part of its path is not a directory") from exc
    except OSError as exc:
        raise OutputDirectoryError(directory, f"cannot create it: {exc.strerror}") from exc
    try:
        # An unnamed temporary file (O_TMPFILE on Linux) leaves nothing behind.
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise OutputDirectoryError(directory, f"cannot write in it: {exc.strerror}") from exc


def write_file(directory: Path, name: str, data: bytes, mode: int) -> None:
    """Replace `name` in `directory` atomically; raise OutputDirectoryError if that fails."""
    try:
        write_atomic(directory / name, data, mode)
    except OSError as exc:
        raise OutputDirectoryError(directory, f"cannot write {name}: {exc.strerror}") from exc


def _remove_file(directory: Path, name: str) -> None:
    try:
        (directory / name).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputDirectoryError(directory, f"cannot remove {name}: {exc.strerror}") from exc


def prepare_directory(directory: Path, force: bool) -> None:
    """Create `directory` if needed; reject one with a key or certificate unless `force`.

    Raises:
        OutputDirectoryError: the directory cannot be used, or key.pem or
            cert.pem exists and `force` is false.
    """
    create_directory(directory)
    if force:
        return
    existing = [name for name in (KEY_FILE, CERT_FILE) if (directory / name).exists()]
    if existing:
        raise OutputDirectoryError(
            directory,
            f"it already contains {' and '.join(existing)}; choose an empty directory, "
            "remove the files, or give --force to replace them",
        )


def save_issued(
    directory: Path,
    key_pem: bytes | None,
    certificate_pem: bytes,
    chain_pem: bytes | None,
    state: dict[str, Any] | None,
) -> None:
    """Write the issued certificate, with its new key when `key_pem` is given.

    A poll passes no key and no state, because the files of the pending
    request are already there.  Without `chain_pem`, an older chain.pem is
    removed.
    """
    with _signals_deferred():
        if key_pem is not None:
            _remove_file(directory, CERT_FILE)
            write_file(directory, KEY_FILE, key_pem, PRIVATE_MODE)
        write_file(directory, CERT_FILE, certificate_pem, PUBLIC_MODE)
        if chain_pem is None:
            _remove_file(directory, CHAIN_FILE)
        else:
            write_file(directory, CHAIN_FILE, chain_pem, PUBLIC_MODE)
        if state is not None:
            _save_state(directory, state)
        _remove_file(directory, PENDING_FILE)


def save_pending(
    directory: Path, key_pem: bytes | None, pending_json: str, state: dict[str, Any] | None
) -> None:
    """Write what ``scep poll`` needs: the key, the state and the pending transaction.

    A certificate and chain of an earlier enrollment are removed first,
    because they do not match the new key.
    """
    with _signals_deferred():
        if key_pem is not None:
            _remove_file(directory, CERT_FILE)
            _remove_file(directory, CHAIN_FILE)
            write_file(directory, KEY_FILE, key_pem, PRIVATE_MODE)
        if state is not None:
            _save_state(directory, state)
        write_file(directory, PENDING_FILE, pending_json.encode(), PRIVATE_MODE)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Block SIGINT, SIGTERM and SIGHUP until the block ends, then let them through.

    The CA has issued the certificate or stored the request by the time the
    files are written, so a signal in between would leave a key without its
    certificate, or a pending request that ``scep poll`` cannot continue.
    The kernel keeps the signals pending and delivers all of them when the
    mask is restored.  When the block raises, they are discarded instead, so
    that the caller reports the failed write rather than the signal.

    A signal mask belongs to one thread, and the kernel gives a signal to
    any thread that does not block it.  The CLI saves in its main thread,
    and its only other thread, the key generator, blocks all signals.  A
    save in another thread is not protected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Read the mask apart from changing it.  A handler of a signal that arrived
    # just before may raise when pthread_sigmask returns, and the try block
    # must already be in force then to restore the mask.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
        yield
    except BaseException:
        blocked_here = set(_DEFERRED_SIGNALS) - previous
        while blocked_here and signal.sigtimedwait(blocked_here, 0) is not None:
            pass
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _save_state(directory: Path, state: dict[str, Any]) -> None:
    # Private, because the URL keeps any user name and password, which poll needs.
    write_file(directory, STATE_FILE, json.dumps(state, indent=2).encode(), PRIVATE_MODE)


def load_pending(directory: Path) -> tuple[dict[str, Any], str]:
    """Return the state and the pending transaction's JSON text that enroll saved.

    Raises:
        OutputDirectoryError: a file is missing or unreadable, or state.json
            is not a JSON object with the URL, fingerprint and fingerprint_alg.
    """
    state_text = _read_text(directory, STATE_FILE)
    pending_text = _read_text(directory, PENDING_FILE)
    try:
        state = json.loads(state_text)
    except json.JSONDecodeError as exc:
        raise OutputDirectoryError(directory, f"{STATE_FILE} is not valid JSON: {exc}") from exc
    if not isinstance(state, dict):
        raise OutputDirectoryError(directory, f"{STATE_FILE} does not contain a JSON object")
    for key in _STATE_KEYS:
        if not isinstance(state.get(key), str):
            raise OutputDirectoryError(
                directory, f"{STATE_FILE} has no {key!r} string; enroll again"
            )
    try:
        scep_url(state["url"])
    except argparse.ArgumentTypeError as exc:
        raise OutputDirectoryError(directory, f"{STATE_FILE} contains an {exc}") from exc
    return state, pending_text


def _read_text(directory: Path, name: str) -> str:
    try:
        return (directory / name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise OutputDirectoryError(directory, f"{name} not found: nothing is pending") from exc
    except UnicodeDecodeError as exc:
        raise OutputDirectoryError(directory, f"{name} is not UTF-8 text: {exc.reason}") from exc
    except OSError as exc:
        raise OutputDirectoryError(directory, f"cannot read {name}: {exc.strerror}") from exc
