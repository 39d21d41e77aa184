"""The ``pki-agent`` command line: ``serve`` runs the agent, ``scep`` troubleshoots SCEP."""

from __future__ import annotations

import argparse
import errno
import gc
import importlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn, TextIO

from agent import __version__
from agent.errors import AgentError
from agent.settings import (
    DEFAULT_HELLO_TIMEOUT,
    DEFAULT_LISTEN,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_MAX_SESSIONS,
    DEFAULT_PORT,
    DEFAULT_USER,
    Settings,
)
from agent.stdout import StdoutError, install_stdout, write_interrupted

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130
"""128 + SIGINT: the status that a shell reports for a command that Ctrl-C ended."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: the status that a shell reports for a writer whose reader went away."""

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def configure_logging(verbosity: int) -> None:
    """Log to stderr as ``TIME LEVEL logger: message``, with UTC times."""
    formatter = logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT)
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbosity else logging.INFO)
    # asyncssh logs every channel and packet event at INFO; show it only at -vv.
    logging.getLogger("asyncssh").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
    # urllib3 logs every request line at DEBUG, a GET PKIOperation with its whole
    # message; agent.scep.transport logs one line per exchange instead.
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


def add_serve_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pki-agent serve``."""
    parser = subparsers.add_parser(
        "serve",
        help="run the NETCONF agent",
        description="Run the NETCONF server over SSH until SIGTERM or SIGINT.",
    )
    parser.add_argument(
        "--state-dir", type=Path, required=True, metavar="DIR",
        help="directory for the host key, the datastores and the PKI files (created if missing)",
    )
    _add_login_options(parser)
    _add_limit_options(parser)
    parser.add_argument(
        "--no-daemon", action="store_true",
        help="do not run the enrollment daemon: no SCEP traffic, state shows it not running",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log debug messages; twice adds asyncssh's own messages",
    )
    parser.set_defaults(func=run_serve)


def _add_login_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen", default=DEFAULT_LISTEN, metavar="ADDR",
        help="address to listen on; use 0.0.0.0 or :: to accept remote clients "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, metavar="N",
        help="TCP port; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--authorized-keys", type=Path, default=None, metavar="FILE",
        help="OpenSSH authorized_keys file for public-key login, read at each login "
        "(default: DIR/authorized_keys)",
    )
    parser.add_argument(
        "--user", default=DEFAULT_USER, metavar="NAME",
        help="the SSH user name that may log in (default: %(default)s)",
    )
    parser.add_argument(
        "--password-file", type=Path, default=None, metavar="FILE",
        help="file of USER:HASH lines from 'pki-agent hash-password'; "
        "password login is off without it (default: off)",
    )


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS, metavar="N",
        help="maximum number of concurrent NETCONF sessions (default: %(default)s)",
    )
    parser.add_argument(
        "--hello-timeout", type=float, default=DEFAULT_HELLO_TIMEOUT, metavar="S",
        help="seconds a client has to send its hello before the session is closed "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-message-size", type=int, default=DEFAULT_MAX_MESSAGE_SIZE, metavar="BYTES",
        help="maximum size of one received NETCONF message, in bytes (default: %(default)s)",
    )


def add_hash_password_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``pki-agent hash-password``."""
    parser = subparsers.add_parser(
        "hash-password",
        help="print a password file line",
        description="Read a password from standard input and print a USER:HASH line "
        "(PBKDF2-HMAC-SHA256) for --password-file.",
    )
    parser.add_argument(
        "--user", default=DEFAULT_USER, metavar="NAME",
        help="the SSH user name (default: %(default)s)",
    )
    parser.set_defaults(func=run_hash_password)


def add_scep_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pki-agent scep`` when `agent.scep.cli` exists and provides ``add_parser``."""
    try:
        scep_cli = importlib.import_module("agent.scep.cli")
    except ModuleNotFoundError as exc:
        if exc.name != "agent.scep.cli":
            raise
        return
    add_parser = getattr(scep_cli, "add_parser", None)
    if add_parser is not None:
        add_parser(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="pki-agent", description="NETCONF/YANG agent that enrolls certificates over SCEP."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_serve_parser(subparsers)
    add_hash_password_parser(subparsers)
    add_scep_parser(subparsers)
    return parser


def run_serve(args: argparse.Namespace) -> int:
    """Run the agent until SIGTERM or SIGINT."""
    import asyncio  # imported here so that 'pki-agent scep' starts faster

    configure_logging(args.verbose)
    settings = Settings(
        state_dir=args.state_dir,
        listen=args.listen,
        port=args.port,
        authorized_keys=args.authorized_keys,
        user=args.user,
        password_file=args.password_file,
        max_sessions=args.max_sessions,
        hello_timeout=args.hello_timeout,
        max_message_size=args.max_message_size,
        daemon=not args.no_daemon,
    )
    asyncio.run(_serve_until_signal(settings))
    return 0


async def _serve_until_signal(settings: Settings) -> None:
    import asyncio

    from agent import app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _make_stopper(stop, signum))
    await app.run(settings, stop)


def _make_stopper(stop: asyncio.Event, signum: int) -> Callable[[], None]:
    def stopper() -> None:
        logger.info("received %s", signal.Signals(signum).name)
        stop.set()

    return stopper


def run_hash_password(args: argparse.Namespace) -> int:
    """Print ``USER:HASH`` for the password on standard input."""
    import getpass

    from agent.netconf.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("pki-agent: the password is empty", file=sys.stderr)
        return 2
    print(f"{args.user}:{hash_password(password)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AgentError as exc:
        print(f"pki-agent: {exc}", file=sys.stderr)
        return 1


def console() -> None:
    """Run the ``pki-agent`` program: `main` on the process arguments, then exit.

    Every command but ``serve`` is one-shot: it allocates a few megabytes and
    exits within seconds, so the cyclic garbage collector only costs time,
    and it is off for them.  A one-shot command has closed every file it
    wrote when `main` returns.  It therefore ends with `os._exit` once the
    standard streams and the log handlers are flushed, because the
    interpreter's teardown, which frees every module and object one by one,
    would only add time.

    SIGINT ends a command with one line and status 130, and the output in
    the standard output buffer is written out.  When SIGINT ended a write to
    standard output, part of it may have been sent already, so the buffer is
    dropped instead.  The output then ends early but never repeats a part.
    Once ``serve`` runs its event loop, it handles SIGINT itself and stops
    cleanly with status 0.
    A closed standard output (EPIPE) ends a command silently with status 141,
    and any other write error on it prints one line and gives status 1.  A
    standard input, output or error that is not open at all, as after
    ``<&-``, ``>&-`` or ``2>&-``, is replaced by /dev/null, and the status
    is unchanged.

    NOTE: a SIGINT that arrives before this function runs, while Python
    starts and imports this module, still ends with Python's traceback.
    """
    argv = sys.argv[1:]
    one_shot = argv[:1] != ["serve"]
    if one_shot:
        gc.disable()
    _replace_closed_streams()
    try:
        install_stdout()
        status = _run_and_flush(argv)
    except KeyboardInterrupt:
        status = _exit_interrupted()
    except StdoutError as exc:
        status = _exit_stdout_failed(exc)
    if one_shot:
        _exit_without_teardown(status, flush_stdout=not write_interrupted())
    # The final collection at exit then skips every object that is still alive.
    gc.freeze()
    sys.exit(status)


def _run_and_flush(argv: list[str]) -> int | str | None:
    try:
        status: int | str | None = main(argv)
    except SystemExit as exc:
        # argparse raises SystemExit after --help or a usage error, whose output
        # still needs the flush below.
        status = exc.code
    # Flushing here, not at interpreter exit, lets console() catch a failed write.
    sys.stdout.flush()
    return status


def _replace_closed_streams() -> None:
    # Python sets sys.stdin, sys.stdout or sys.stderr to None when descriptor
    # 0, 1 or 2 is closed.  /dev/null then takes that descriptor, so that no
    # file the command opens later gets it and receives output by mistake.
    if sys.stdin is None:
        sys.stdin = _open_devnull(0, "r")
    if sys.stdout is None:
        sys.stdout = _open_devnull(1, "w")
    if sys.stderr is None:
        sys.stderr = _open_devnull(2, "w")


def _open_devnull(descriptor: int, mode: Literal["r", "w"]) -> TextIO:
    devnull = os.open(os.devnull, os.O_RDONLY if mode == "r" else os.O_WRONLY)
    if devnull != descriptor:
        os.dup2(devnull, descriptor)
        os.close(devnull)
    return open(descriptor, mode, closefd=False)


def _exit_without_teardown(status: int | str | None, flush_stdout: bool) -> NoReturn:
    if flush_stdout:
        try:
            sys.stdout.flush()
        except StdoutError as exc:
            status = _exit_stdout_failed(exc)
    if status is None:
        code = 0
    elif isinstance(status, int):
        code = status
    else:
        # What sys.exit does with a message.
        print(status, file=sys.stderr)
        code = 1
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)


def _exit_interrupted() -> int:
    # A second Ctrl-C while the process exits must not print a traceback either.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("pki-agent: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _exit_stdout_failed(exc: StdoutError) -> int:
    # The output that the failed write left in the buffer goes to /dev/null,
    # so the flush at interpreter exit does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    if exc.errno == errno.EPIPE:
        # A reader that stopped reading, as in 'pki-agent ... | head -1', is
        # no error to report, as for Unix tools that SIGPIPE ends.
        return EXIT_BROKEN_PIPE
    print(f"pki-agent: cannot write to standard output: {exc.strerror}", file=sys.stderr)
    return 1
