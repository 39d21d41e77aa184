"""`python -m tools.scep_ca admin --state DIR COMMAND`: operate on a CA's state directory.

The command works whether or not the server runs, because both lock DIR for
every change.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.scep_ca.admin_http import FAIL_INFO_BY_LABEL, parse_fail_info, status_of
from tools.scep_ca.authority import CertificateAuthority, open_authority
from tools.scep_ca.faults import FaultSettings, parse_faults
from tools.scep_ca.store import StateStore


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.scep_ca admin",
        description="Approve, reject and list pending requests, issue challenge passwords "
        "and set faults of a SCEP test CA.",
    )
    parser.add_argument("--state", required=True, type=Path, help="the CA's state directory")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="print the personality and Root CA fingerprints")
    commands.add_parser("pending", help="list pending requests as JSON")
    approve = commands.add_parser("approve", help="issue the certificate of a pending request")
    approve.add_argument("transaction_id", nargs="?",
                         help="transactionID (default: the only pending request)")
    reject = commands.add_parser("reject", help="reject a pending request")
    reject.add_argument("transaction_id", nargs="?",
                        help="transactionID (default: the only pending request)")
    reject.add_argument("--fail-info", default="badRequest",
                        choices=sorted(FAIL_INFO_BY_LABEL), help="failInfo of the FAILURE reply")
    commands.add_parser("issue-challenge",
                        help="print a new one-time challenge password (valid 60 minutes)")
    faults = commands.add_parser("faults", help="print or change the fault settings")
    faults.add_argument("--set", metavar="JSON",
                        help='settings as JSON, e.g. \'{"reply": "http-500", "count": 1}\'')
    faults.add_argument("--clear", action="store_true", help="clear every fault")
    return parser


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def _faults(authority: CertificateAuthority, args: argparse.Namespace) -> None:
    if args.clear:
        authority.set_faults(FaultSettings())
    elif args.set is not None:
        authority.set_faults(parse_faults(json.loads(args.set)))
    _print_json(authority.faults().to_json())


def _issue_challenge(authority: CertificateAuthority, args: argparse.Namespace) -> None:
    value, expires = authority.issue_challenge()
    print(value)
    print(f"valid until {expires.isoformat()}, single use", file=sys.stderr)


_COMMANDS = {
    "status": lambda authority, args: _print_json(status_of(authority)),
    "pending": lambda authority, args: _print_json(authority.pending()),
    "approve": lambda authority, args: _print_json(authority.approve(args.transaction_id)),
    "reject": lambda authority, args: _print_json(
        authority.reject(args.transaction_id, parse_fail_info(args.fail_info))
    ),
    "issue-challenge": _issue_challenge,
    "faults": _faults,
}


def run_admin(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    authority = open_authority(StateStore(args.state))
    _COMMANDS[args.command](authority, args)
    return 0
