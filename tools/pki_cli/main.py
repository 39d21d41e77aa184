"""The pki-cli command line: options, dispatch and exit codes."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from lxml import etree

from tools.pki_cli import editxml
from tools.pki_cli.checks import InvalidValueError, check_command
from tools.pki_cli.client import (
    COMMAND_TICK,
    WATCH_TICK,
    ConfigError,
    ConnectError,
    ConnectionSettings,
    RequestError,
    Session,
)
from tools.pki_cli.explain import Configured, explain, is_enrollment_command, needs_context
from tools.pki_cli.grammar import (
    READ_FROM_INPUT,
    SECRET_KEYWORDS,
    SHOW_COMMANDS,
    Command,
    DeleteEnrollment,
    DeleteServer,
    DeleteTimers,
    ModuleRPC,
    SetEnrollment,
    SetServer,
    SetTimers,
    ShowCertificates,
    ShowDaemon,
    ShowEnrollment,
    ShowServer,
    Trigger,
    UsageError,
    parse_words,
)
from tools.pki_cli.state import JSONData
from tools.pki_cli.text import parse_time
from tools.pki_cli.views import (
    collect_warnings,
    has_enrollment,
    has_server,
    render_certificates,
    render_daemon,
    render_enrollment,
    render_errors,
    render_server,
    render_warnings,
)
from tools.pki_cli.watch import collect_burst, read_agreeing

EXIT_OK = 0
EXIT_CONFIG_ERROR = 1
EXIT_USAGE = 2
EXIT_CONNECT = 3
EXIT_NOT_FOUND = 4

RPC_DONE = {
    "trigger": "trigger sent: the daemon checks the servers and polls pending requests "
               "now; see 'pki-cli show' and 'pki-cli cert show'",
    "renew-now": "renewal of {value} started; see 'pki-cli cert show {value}'",
    "re-enroll": "re-enrollment of {value} with a new key started; "
                 "see 'pki-cli cert show {value}'",
    "remove-ca-certificate": "CA certificate {value} removed; see 'pki-cli cert show'",
}
"""The line that a successful RPC prints, by RPC name."""

COMMANDS_HELP = """\
commands:
  show                                   PKI daemon status and the Enroll Servers table
  cert show                              the certificate table
  cert show NAME                         one enrollment request: configuration and state
  enroll-server show ID                  one enrollment server
  enroll-server ID KEY VALUE ...         create or change a server; KEY is label,
                                         description, enabled, url, fingerprint,
                                         fingerprint-alg, protocol, cipher, renew-request
  cert enroll NAME KEY VALUE ...         create or change an enrollment; KEY is server,
                                         password, dn, san, profile, keysize,
                                         renewal-threshold (san may repeat;
                                         'password -' reads it from the terminal
                                         or standard input)
  no enroll-server ID [KEY ...]          delete a server, or only the given leaves
  no cert enroll NAME [KEY ...]          delete an enrollment, or only the given leaves
  pki KEY SECONDS ...                    set the daemon's poll-interval or
                                         server-check-interval
  no pki KEY ...                         reset them to their defaults (120 s, 3600 s)
  cert renew NAME                        start renewal now (renew-now RPC)
  cert re-enroll NAME                    enroll again with a new key (re-enroll RPC)
  cert remove-ca LABEL                   delete a CA-local certificate
                                         (remove-ca-certificate RPC)
  trigger                                check servers and poll pending requests now

Options may come before or after the command words. Put "--" before the
command words when a value starts with "-".

Values of keysize, renewal-threshold, poll-interval, server-check-interval,
labels and san are checked before anything is sent.

Times are shown in UTC. Exit codes:
  0  success
  1  configuration or RPC errors, found by pki-cli or reported by the agent
  2  invalid command
  3  no NETCONF session
  4  'cert show NAME' or 'enroll-server show ID' found no such object

environment:
  PKI_CLI_HOST, PKI_CLI_PORT, PKI_CLI_USER, PKI_CLI_KEY, PKI_CLI_HOST_KEY
                 defaults for --host, --port, --user, --key and --host-key
  PKI_CLI_NOW    default for --now
"""


@dataclass(frozen=True, slots=True)
class Options:
    """Parsed options and command of one pki-cli run."""

    settings: ConnectionSettings
    output_format: str
    watch: bool
    watch_limit: int | None
    now: datetime | None
    command: Command


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="pki-cli",
        description="Operator CLI for pki-agent: device-style show views and "
        "configuration commands over NETCONF.",
        epilog=COMMANDS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=env.get("PKI_CLI_HOST", "127.0.0.1"),
                        help="agent address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=int(env.get("PKI_CLI_PORT", "830")),
                        help="agent SSH port (default: %(default)s)")
    parser.add_argument("--user", default=env.get("PKI_CLI_USER", "admin"),
                        help="SSH user name (default: %(default)s)")
    parser.add_argument("--key", default=env.get("PKI_CLI_KEY"),
                        help="SSH private key file (default: the SSH agent and ~/.ssh keys)")
    parser.add_argument("--host-key", default=env.get("PKI_CLI_HOST_KEY"),
                        help="the agent's SSH host public key, base64 as in known_hosts; "
                        "without it the host key is not checked")

    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for the agent's reply (default: %(default)s)")
    parser.add_argument("--format", dest="output_format", choices=("text", "json"),
                        default="text", help="show output as device-style text or "
                        "RFC 7951 JSON (default: %(default)s)")
    parser.add_argument("--watch", action="store_true",
                        help="redraw a show view on each notification of the agent")
    parser.add_argument("--watch-limit", type=int, default=None, metavar="N",
                        help="with --watch, stop after N redraws after the first view")
    parser.add_argument("--now", default=env.get("PKI_CLI_NOW"),
                        help="the time that relative times are computed from, in RFC 3339 "
                        "(default: the clock); for reproducible output")

    parser.add_argument("words", nargs="*", metavar="COMMAND",
                        help="command words, see below")
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    """Parse the command line.

    Raises:
        UsageError: the command words or an option value are invalid.
        InvalidValueError: a value is outside what the YANG module allows.
    """
    argv = list(argv)
    if "--" in argv:
        # Everything after "--" is command words, even values that start with "-".
        split = argv.index("--")
        arguments = _parser().parse_intermixed_args(argv[:split])
        arguments.words = [*arguments.words, *argv[split + 1:]]
    else:
        arguments = _parser().parse_intermixed_args(argv)
    command = parse_words(arguments.words)
    check_command(arguments.words, command)
    if arguments.watch and not isinstance(command, SHOW_COMMANDS):
        raise UsageError(arguments.words, "--watch works only with the show commands")
    try:
        now = parse_time(arguments.now) if arguments.now else None
    except ValueError as exc:
        raise UsageError(arguments.words, f"--now {arguments.now!r} is not RFC 3339") from exc
    settings = ConnectionSettings(
        host=arguments.host,
        port=arguments.port,
        user=arguments.user,
        key=arguments.key,
        host_key=arguments.host_key,
        timeout=arguments.timeout,
    )
    return Options(settings, arguments.output_format, arguments.watch, arguments.watch_limit,
                   now, command)


def read_secret_input(command: Command, stdin: TextIO) -> Command:
    """Replace ``password -`` with a password read from the terminal or ``stdin``.

    A password on the command line is visible to other local users in the
    process list, so scripts and careful operators pass it this way.

    Raises:
        UsageError: the password read is empty.
    """
    if not isinstance(command, SetEnrollment):
        return command
    leaves = []
    for key, value in command.leaves:
        if key in SECRET_KEYWORDS and value == READ_FROM_INPUT:
            value = _read_secret(command.name, key, stdin)
        leaves.append((key, value))
    return dataclasses.replace(command, leaves=tuple(leaves))


def _read_secret(name: str, key: str, stdin: TextIO) -> str:
    if stdin.isatty():
        value = getpass.getpass(f"Challenge {key}: ")
    else:
        value = stdin.readline().rstrip("\r\n")
    if not value:
        raise UsageError(["cert", "enroll", name, key, READ_FROM_INPUT],
                         f"the {key} read from standard input is empty")
    return value


def _view(command: Command, data: JSONData, now: datetime) -> str:
    if isinstance(command, ShowDaemon):
        return render_daemon(data, now)
    if isinstance(command, ShowCertificates):
        return render_certificates(data)
    if isinstance(command, ShowEnrollment):
        return render_enrollment(data, command.name, now)
    assert isinstance(command, ShowServer)
    return render_server(data, command.server_id, now)


def _show_filter(command: Command) -> etree._Element:
    match command:
        case ShowEnrollment(name=name):
            return editxml.filter_enrollment(name)
        case ShowServer(server_id=server_id):
            return editxml.filter_server(server_id)
        case ShowCertificates():
            return editxml.filter_certificates()
    return editxml.filter_daemon_and_servers()


def _read(session: Session, command: Command) -> JSONData:
    return session.get(_show_filter(command))


def _write(data: JSONData, options: Options, out: TextIO) -> None:
    if options.output_format == "json":
        out.write(json.dumps(data, indent=2) + "\n")
        return
    out.write(_view(options.command, data, options.now or datetime.now(UTC)))


def _found(command: Command, data: JSONData) -> bool:
    if isinstance(command, ShowEnrollment):
        return has_enrollment(data, command.name)
    if isinstance(command, ShowServer):
        return has_server(data, command.server_id)
    return True


def _show(session: Session, options: Options, out: TextIO) -> int:
    data = _read(session, options.command)
    _write(data, options, out)
    return EXIT_OK if _found(options.command, data) else EXIT_NOT_FOUND


def _watch(session: Session, options: Options, out: TextIO) -> int:
    errors = session.subscribe()
    if errors:
        out.write(render_errors([error.describe() for error in errors]))
        return EXIT_CONFIG_ERROR
    _write(_read(session, options.command), options, out)
    redraws = 0
    while options.watch_limit is None or redraws < options.watch_limit:
        # A bounded wait, so that a closed session is noticed within a second.
        notification = session.next_notification(timeout=1.0)
        if notification is None:
            continue
        burst = collect_burst(session, notification)
        data = read_agreeing(lambda: _read(session, options.command), burst)
        if out.isatty():
            out.write("\x1b[H\x1b[2J")
        for item in burst:
            out.write(f"\n--- {item.describe()}\n")
        _write(data, options, out)
        out.flush()
        redraws += 1
    return EXIT_OK


def _show_errors(session: Session, command: Command, errors: list[ConfigError],
                 title: str, out: TextIO) -> None:
    if needs_context(errors):
        # The candidate was discarded, so running is what the command met.
        configured = Configured.from_data(session.get(editxml.filter_configured()))
        errors = explain(errors, command, configured)
    out.write(render_errors([error.describe() for error in errors], title))


def _show_warnings(session: Session, command: Command, out: TextIO) -> None:
    # Warnings belong to one enrollment, so only a command that changed an
    # enrollment shows them, and only that enrollment's.
    if not is_enrollment_command(command):
        return
    assert isinstance(command, SetEnrollment | DeleteEnrollment)
    warnings = collect_warnings(session.get(editxml.filter_warnings(command.name)))
    if warnings:
        out.write(render_warnings(warnings))


def _configure(session: Session, command: Command, out: TextIO) -> int:
    assert isinstance(command, SetServer | SetEnrollment | SetTimers | DeleteServer
                      | DeleteEnrollment | DeleteTimers)
    errors = session.apply(editxml.build_config(command))
    if errors:
        _show_errors(session, command, errors, "Configuration Errors", out)
        return EXIT_CONFIG_ERROR
    _show_warnings(session, command, out)
    return EXIT_OK


def _call(session: Session, command: Command, out: TextIO) -> int:
    rpc = command if isinstance(command, ModuleRPC) else None
    errors: list[ConfigError] = session.call(editxml.build_rpc(rpc))
    if errors:
        _show_errors(session, command, errors, "RPC Errors", out)
        return EXIT_CONFIG_ERROR
    name = rpc.rpc if rpc else "trigger"
    out.write(RPC_DONE[name].format(value=rpc.value if rpc else "") + "\n")
    return EXIT_OK


def run(options: Options, out: TextIO) -> int:
    """Run one parsed command against the agent and return the exit code."""
    tick = WATCH_TICK if options.watch else COMMAND_TICK
    with Session(options.settings, tick) as session:
        if options.watch:
            return _watch(session, options, out)
        if isinstance(options.command, SHOW_COMMANDS):
            return _show(session, options, out)
        if isinstance(options.command, Trigger | ModuleRPC):
            return _call(session, options.command, out)
        return _configure(session, options.command, out)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pki-cli`` console script."""
    try:
        options = parse_options(sys.argv[1:] if argv is None else argv)
        options = dataclasses.replace(options, command=read_secret_input(options.command,
                                                                         sys.stdin))
    except InvalidValueError as exc:
        # Shown like the agent's errors, because it is one that the agent would report.
        print(render_errors([exc.problem]), end="")
        return EXIT_CONFIG_ERROR
    except UsageError as exc:
        print(f"pki-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return run(options, sys.stdout)
    except ConnectError as exc:
        print(f"pki-cli: {exc}", file=sys.stderr)
        return EXIT_CONNECT
    except RequestError as exc:
        print(render_errors([error.describe() for error in exc.errors]), end="")
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        return EXIT_OK
