"""Standard output whose write errors raise `StdoutError`, apart from every other OSError."""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class StdoutError(OSError):
    """Writing to standard output failed, for example on a closed pipe (EPIPE) or a full disk."""


_write_interrupted = False


def write_interrupted() -> bool:
    """Tell whether KeyboardInterrupt ended a write to standard output.

    The kernel may have taken part of that write already, but BufferedWriter
    never learns how much, so it still contains those bytes, and flushing it
    would send them a second time.
    """
    return _write_interrupted


class _StdoutFile(io.FileIO):
    """The file descriptor of standard output, whose failed writes raise `StdoutError`."""

    def write(self, data: ReadableBuffer, /) -> int:
        global _write_interrupted
        try:
            return super().write(data)
        except BlockingIOError:
            # BufferedWriter needs it unchanged to report a partial write on a
            # non-blocking descriptor.
            raise
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from exc
        except KeyboardInterrupt:
            # Python raises it after the system call returns, so the count of
            # bytes written, if any, is lost.
            _write_interrupted = True
            raise


def install_stdout() -> None:
    """Replace `sys.stdout` by a stream that raises `StdoutError` when a write fails.

    The new stream keeps the encoding, error handler and buffering of the old
    one.  Nothing changes when `sys.stdout` has no file descriptor, as under
    a test harness that captures output.
    """
    old = sys.stdout
    try:
        descriptor = old.fileno()
    except (AttributeError, ValueError, OSError):
        return
    old.flush()
    raw = _StdoutFile(descriptor, "w", closefd=False)
    # python -u and PYTHONUNBUFFERED leave standard output without a buffer.
    unbuffered = isinstance(getattr(old, "buffer", None), io.RawIOBase)
    sys.stdout = io.TextIOWrapper(
        raw if unbuffered else io.BufferedWriter(raw),
        encoding=old.encoding,
        errors=old.errors,
        line_buffering=bool(old.line_buffering),
        write_through=unbuffered,
    )
