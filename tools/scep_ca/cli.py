"""Command line: `python -m tools.scep_ca [serve options]` and `... admin --state DIR CMD`."""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from agent.scep.envelope import ContentCipher, KeyTransport
from tools.scep_ca.admin_cli import run_admin
from tools.scep_ca.announcement import format_announcement
from tools.scep_ca.authority import CAOptions, CertificateAuthority, open_authority
from tools.scep_ca.errors import SCEPCAError, StateError
from tools.scep_ca.faults import FaultSettings, ReplyFault, parse_duration, parse_faults
from tools.scep_ca.issuing import fingerprint_hex, ndes_thumbprint
from tools.scep_ca.personality import PERSONALITIES, Approval
from tools.scep_ca.server import AdminHandler, SCEPHandler, SCEPServer
from tools.scep_ca.store import StateStore

logger = logging.getLogger("tools.scep_ca")


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.scep_ca",
        description="SCEP test CA on 127.0.0.1 (RFC 8894) that behaves like OpenXPKI, "
        "Windows NDES or a plain RFC 8894 server.  Use 'admin --help' for the admin command.",
    )
    parser.add_argument("--personality", choices=sorted(PERSONALITIES),
                        help="CA behaviour; required on the first start of a state directory")
    parser.add_argument("--state", required=True, type=Path,
                        help="state directory for CA keys, certificates and requests")
    parser.add_argument("--port", type=int, default=0, help="SCEP port (default: a free port)")
    parser.add_argument("--admin-port", type=int, default=0,
                        help="admin port (default: a free port)")
    parser.add_argument("--challenge", help="static challenge password accepted by openxpki "
                        "and plain, in addition to one-time challenges from the admin endpoint")
    parser.add_argument("--no-challenge", action="store_true",
                        help="accept requests without a valid challenge password")
    parser.add_argument("--approval", choices=[a.value for a in Approval], default="auto",
                        help="manual leaves every new request PENDING for an operator")
    parser.add_argument("--renewal-window", default="60d",
                        help="openxpki: renewal is accepted this long before notAfter "
                        "(seconds, or with s, m, h or d; default 60d)")
    parser.add_argument("--reply-cipher", choices=[c.value for c in ContentCipher],
                        help="CertRep content cipher (default: ndes 3des-cbc, others the "
                        "request's cipher)")
    parser.add_argument("--key-transport", choices=[k.value for k in KeyTransport],
                        help="CertRep key transport (default rsaes-pkcs1-v1_5)")
    parser.add_argument("--max-query-length", type=int,
                        help="longest GET query string in bytes, 0 for no limit (default: "
                        "ndes 2048 as IIS, others no limit)")
    _add_fault_flags(parser)
    parser.add_argument("--log-level", default="INFO", help="logging level on stderr")
    return parser


def _add_fault_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("faults (also settable on the admin endpoint)")
    group.add_argument("--fault", choices=[f.value for f in ReplyFault], default="none",
                       help="break replies this way")
    group.add_argument("--fault-count", type=int,
                       help="break only this many replies (default: all)")
    group.add_argument("--fault-operations", default="PKIOperation",
                       help="comma-separated SCEP operations the fault and delay apply to")
    group.add_argument("--delay", type=float, default=0.0,
                       help="seconds to wait before each affected reply")
    group.add_argument("--cert-lifetime",
                       help="lifetime of issued certificates, such as 90s or 10m (default 365d)")


def _faults_from(args: argparse.Namespace) -> FaultSettings:
    data: dict[str, Any] = {
        "reply": args.fault,
        "delay": args.delay,
        "operations": [op.strip() for op in args.fault_operations.split(",") if op.strip()],
    }
    if args.fault_count is not None:
        data["count"] = args.fault_count
    if args.cert_lifetime is not None:
        data["cert_lifetime"] = args.cert_lifetime
    return parse_faults(data)


def _prepare_state(store: StateStore, personality: str | None) -> str:
    store.root.mkdir(parents=True, exist_ok=True)
    store.create()
    config = store.read_config()
    if config is None:
        if personality is None:
            raise StateError(str(store.root), "new state directory: --personality is required")
        store.write_config({"personality": personality})
        return personality
    stored = str(config["personality"])
    if personality is not None and personality != stored:
        raise StateError(
            str(store.root), f"it holds a {stored} CA; use another directory for {personality}"
        )
    return stored


def _options_from(args: argparse.Namespace) -> CAOptions:
    return CAOptions(
        approval=Approval(args.approval),
        renewal_window=datetime.timedelta(
            seconds=parse_duration(args.renewal_window, "--renewal-window")
        ),
        static_challenge=args.challenge,
        challenge_required=not args.no_challenge,
        reply_cipher=ContentCipher(args.reply_cipher) if args.reply_cipher else None,
        key_transport=KeyTransport(args.key_transport) if args.key_transport else None,
        max_query_length=args.max_query_length,
    )


def _announce(authority: CertificateAuthority, scep: SCEPServer, admin: SCEPServer) -> None:
    root = authority.hierarchy.root.certificate
    scep_url = f"http://127.0.0.1:{scep.port}{authority.personality.scep_path}"
    values = {
        "SCEP_URL": scep_url,
        "SCEP_CA_SHA256": fingerprint_hex(root, "sha256"),
        "SCEP_CA_MD5": fingerprint_hex(root, "md5"),
        "SCEP_ADMIN_URL": f"http://127.0.0.1:{admin.port}/",
        "SCEP_CA_PEM": str(authority.store.credential_path("root").resolve()),
        "SCEP_PERSONALITY": authority.personality.name,
        "SCEP_PID": str(os.getpid()),
    }
    text = format_announcement(values)
    authority.store.write_env(text)
    sys.stdout.write(text)
    sys.stdout.flush()
    print(f"SCEP test CA ({authority.personality.name}) at {scep_url}", file=sys.stderr)
    print(f"  Root CA {root.subject.rfc4514_string()}", file=sys.stderr)
    print(f"  SHA-256 {values['SCEP_CA_SHA256']}", file=sys.stderr)
    print(f"  MD5     {ndes_thumbprint(root)}", file=sys.stderr)
    print(f"  admin   {values['SCEP_ADMIN_URL']} (python -m tools.scep_ca admin "
          f"--state {authority.store.root} --help)", file=sys.stderr)


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave serve_forever."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def serve(argv: Sequence[str]) -> int:
    args = _serve_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    store = StateStore(args.state)
    _prepare_state(store, args.personality)
    authority = open_authority(store, _options_from(args))
    authority.set_faults(_faults_from(args))
    scep = SCEPServer(args.port, SCEPHandler, authority)
    admin = SCEPServer(args.admin_port, AdminHandler, authority)
    threading.Thread(target=admin.serve_forever, name="admin", daemon=True).start()
    signal.signal(signal.SIGTERM, _raise_stop)
    _announce(authority, scep, admin)
    logger.info("started %s CA, pid %d", authority.personality.name, os.getpid())
    try:
        scep.serve_forever()
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        admin.shutdown()
        admin.server_close()
        scep.server_close()
        logger.info("stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server, or the admin command when the first argument is `admin`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:1] == ["admin"]:
            return run_admin(arguments[1:])
        return serve(arguments)
    except SCEPCAError as exc:
        print(f"scep_ca: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"scep_ca: error: {exc}", file=sys.stderr)
        return 2
