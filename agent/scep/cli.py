"""``pki-agent scep``: caps, cacert, enroll and poll against a SCEP server, like sscep.

Exit codes: 0 issued (or success), 1 error, 2 usage, 3 pending, 4 rejected.
An invalid option value is a usage error whether the parser or the subcommand
finds it, as long as it is found before anything is sent.

This module only builds the parser.  Each subcommand imports `agent.scep.commands`,
and with it requests, cryptography and asn1crypto, when it runs, so that
``pki-agent serve`` and ``--help`` do not pay for them.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.scep.algorithms import (
    CONNECT_TIMEOUT,
    FINGERPRINT_ALGORITHM_NAMES,
    KEY_SIZES,
    READ_TIMEOUT,
    ContentCipher,
)
from agent.scep.options import MAX_TIMEOUT, TimeoutAction, scep_url

CHALLENGE_ENV = "PKI_AGENT_SCEP_CHALLENGE"

_EPILOG = (
    "exit codes: 0 issued or success, 1 error (a failed write to standard output "
    "included), 2 usage, 3 pending (continue with 'pki-agent scep poll --out DIR'), "
    "4 rejected by the CA, 130 interrupted by SIGINT, 141 standard output closed by "
    "its reader, as in '| head -1', which ends the command without a message. An "
    "invalid option or argument, such as --dn, --san, --fingerprint or the URL, is a "
    "usage error, and nothing is sent."
)
_CIPHERS = [ContentCipher.AES128_CBC, ContentCipher.AES256_CBC, ContentCipher.TRIPLE_DES_CBC]


def _deferred(name: str) -> Callable[[argparse.Namespace], int]:
    """Return a subcommand function that imports `agent.scep.commands` when it runs."""

    def run(args: argparse.Namespace) -> int:
        commands = importlib.import_module("agent.scep.commands")
        function: Callable[[argparse.Namespace], int] = getattr(commands, name)
        return function(args)

    run.__name__ = name
    return run


def _run_enroll(args: argparse.Namespace) -> int:
    """Start the key, then import `agent.scep.commands` and enroll while OpenSSL works.

    Importing requests, asn1crypto and the rest of cryptography usually takes
    longer than generating a 2048-bit key, and the key thread does not hold the GIL.
    """
    from agent.scep.keys import generate_key_in_background

    key = generate_key_in_background(args.keysize)
    commands = importlib.import_module("agent.scep.commands")
    status: int = commands.run_enroll(args, key)
    return status


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    limit = f"greater than 0 and at most {MAX_TIMEOUT:.0f}"
    parser.add_argument(
        "--connect-timeout",
        action=TimeoutAction,
        default=CONNECT_TIMEOUT,
        metavar="SECONDS",
        help=f"seconds to wait for the TCP connection, {limit}",
    )
    parser.add_argument(
        "--read-timeout",
        action=TimeoutAction,
        default=READ_TIMEOUT,
        metavar="SECONDS",
        help=f"seconds to wait for each read of a reply, {limit}",
    )


def _add_url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        type=scep_url,
        help="SCEP URL: http:// or https://, a host, an optional port and a path, "
        "such as http://ca.example.com:8080/scep",
    )


def _add_fingerprint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fingerprint",
        help="hash of the Root CA certificate in hex, colons and spaces allowed; without it "
        "the root CA is trusted as received and its fingerprint printed",
    )
    parser.add_argument(
        "--fingerprint-alg",
        default="sha256",
        choices=sorted(FINGERPRINT_ALGORITHM_NAMES),
        help="hash algorithm of --fingerprint",
    )


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults only for options that have a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, [], argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def _subcommand(
    subparsers: Any, name: str, summary: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        description=summary + ".",
        epilog=_EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.set_defaults(func=func)
    _add_connection_options(parser)
    return parser


def _add_enroll_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dn", required=True, help="subject, most significant last: 'CN=host, C=UK'"
    )
    parser.add_argument(
        "--san",
        action="append",
        default=[],
        help="subjectAltName as dns:NAME, ip:ADDR, email:ADDR or uri:URI; repeatable. "
        "Without a prefix the type is guessed: an IP address, a URI if the value contains "
        "'://', an email address if it contains '@', else a DNS name",
    )
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--challenge", help="challenge password (visible in shell history)")
    secret.add_argument(
        "--challenge-file", type=Path, help="file whose first line is the challenge"
    )
    parser.add_argument(
        "--challenge-env",
        default=CHALLENGE_ENV,
        help="environment variable read for the challenge when no other source is given",
    )
    parser.add_argument(
        "--cipher",
        type=ContentCipher,
        choices=_CIPHERS,
        default=ContentCipher.AES128_CBC,
        help="preferred content encryption; 3des-cbc is used when AES is not advertised",
    )
    parser.add_argument("--profile", help="certificate template name (OID 1.3.6.1.4.1.311.20.2)")
    parser.add_argument(
        "--keysize", type=int, choices=KEY_SIZES, default=2048, help="RSA key size in bits"
    )
    parser.add_argument(
        "--method",
        choices=("auto", "post", "get"),
        default="auto",
        help="HTTP method of PKIOperation; auto follows GetCACaps",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory for key.pem, cert.pem, chain.pem and state.json, and pending.json "
        "while the request is pending. key.pem, pending.json and state.json are mode 0600. "
        "state.json keeps the SCEP URL, with any user:password in it, for scep poll. "
        "chain.pem contains the issuing CA and any intermediate CAs above it, issuer first, "
        "and the root CA only if it issued the certificate itself. It is not written when "
        "neither the CA's reply nor GetCACert contains the certificate's issuer",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="use --out even if it already contains key.pem or cert.pem; they are replaced "
        "only when the CA issues the certificate or keeps the request pending, and a "
        "pending request removes the old cert.pem",
    )


def add_parser(subparsers: Any) -> None:
    """Add ``scep`` with the subcommands caps, cacert, enroll and poll."""
    scep = subparsers.add_parser(
        "scep",
        help="troubleshoot a SCEP server",
        description="Talk to a SCEP server (RFC 8894).",
        epilog=_EPILOG,
    )
    commands = scep.add_subparsers(dest="scep_command", required=True)
    caps = _subcommand(
        commands, "caps", "print the GetCACaps capabilities", _deferred("run_caps")
    )
    _add_url_argument(caps)
    cacert = _subcommand(
        commands, "cacert", "print the CA certificates and their roles", _deferred("run_cacert")
    )
    _add_url_argument(cacert)
    cacert.add_argument("--out", type=Path, help="directory to write ca-N.pem files to")
    _add_fingerprint_options(cacert)
    enroll = _subcommand(
        commands, "enroll", "enroll a new key and certificate", _run_enroll
    )
    _add_url_argument(enroll)
    _add_fingerprint_options(enroll)
    _add_enroll_options(enroll)
    poll = _subcommand(
        commands, "poll", "poll the CA for a pending request", _deferred("run_poll")
    )
    poll.add_argument("--out", type=Path, required=True, help="directory of the pending enrollment")
