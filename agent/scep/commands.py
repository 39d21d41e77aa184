"""The work of ``pki-agent scep`` caps, cacert, enroll and poll; `agent.scep.cli` parses.

Exit codes: 0 issued (or success), 1 error, 2 usage, 3 pending, 4 rejected.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep.algorithms import ContentCipher
from agent.scep.cacerts import (
    FINGERPRINT_ALGORITHMS,
    CACertificates,
    TrustedCA,
    fingerprint,
    issuer_chain,
    normalize_fingerprint,
)
from agent.scep.capabilities import Capabilities
from agent.scep.client import (
    Issued,
    Pending,
    PendingTransaction,
    SCEPClient,
    prepare_enrollment,
)
from agent.scep.csr import parse_dn, parse_san, private_key_pem
from agent.scep.errors import CARejected, InvalidInput, TrustError
from agent.scep.keys import generate_key
from agent.scep.names import issuer_text, subject_text
from agent.scep.output_directory import (
    CERT_FILE,
    CHAIN_FILE,
    KEY_FILE,
    PUBLIC_MODE,
    create_directory,
    load_pending,
    prepare_directory,
    save_issued,
    save_pending,
    write_file,
)

EXIT_ISSUED = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PENDING = 3
EXIT_REJECTED = 4


def _client(args: argparse.Namespace) -> SCEPClient:
    return SCEPClient(args.url, args.connect_timeout, args.read_timeout)


def _usage_error(exc: InvalidInput) -> int:
    print(f"pki-agent: {exc}", file=sys.stderr)
    return EXIT_USAGE


def _check_fingerprint(args: argparse.Namespace) -> None:
    if args.fingerprint is not None:
        normalize_fingerprint(args.fingerprint, args.fingerprint_alg)


def run_caps(args: argparse.Namespace) -> int:
    """Print the server's capabilities and the choices the client makes from them."""
    client = _client(args)
    reply = client.transport.get("GetCACaps")  # unlike the daemon, show a failure
    caps = Capabilities(tuple(reply.body.decode("utf-8", "replace").split()))
    for name in caps.names:
        print(name)
    print(f"# PKIOperation method: {'POST' if caps.post_supported else 'GET'}")
    print(f"# content cipher for aes128-cbc: {caps.choose_cipher(ContentCipher.AES128_CBC)}")
    print(f"# signature digest: {caps.choose_digest()}")
    return EXIT_ISSUED


def _roles(
    certificate: x509.Certificate, ca: TrustedCA | None, roots: list[x509.Certificate]
) -> str:
    roles = []
    if ca is not None:
        table = [
            (ca.root, "root"),
            (ca.recipient, "encryption"),
            (ca.signer, "signature"),
        ]
        roles = [name for candidate, name in table if candidate == certificate]
        if certificate in ca.intermediates:
            roles.append("intermediate")
        if certificate in ca.ras:
            roles.append("ra")
    elif certificate in roots:
        roles.append("root")
    return ",".join(roles) or "other"


def _roles_as_received(certs: CACertificates) -> TrustedCA | None:
    """Return the roles that the first root candidate gives, or None if it gives none.

    Without --fingerprint nothing proves that the root is the CA's, but the
    roles show which certificates enroll would encrypt to and trust.
    """
    candidates = certs.root_candidates()
    if not candidates:
        return None
    try:
        return certs.verify(fingerprint(candidates[0]), "sha256")
    except TrustError as exc:
        print(f"pki-agent: warning: roles not known: {exc}", file=sys.stderr)
        return None


def _print_certificates(
    certs: CACertificates, ca: TrustedCA | None, root_verified: bool
) -> None:
    roots = certs.root_candidates()[:1]
    for certificate in certs.certificates:
        print(f"{_roles(certificate, ca, roots)}: {subject_text(certificate)}")
        print(f"  issuer:  {issuer_text(certificate)}")
        print(f"  sha256:  {fingerprint(certificate)}")
        print(f"  expires: {certificate.not_valid_after_utc.isoformat()}")
    root = roots[0] if roots else None
    if ca is not None:
        root = ca.root
    if root is not None and not root_verified:
        print(
            "root CA not verified, because no --fingerprint was given. Compare a "
            "fingerprint below with one from the CA's administrator."
        )
    if root is not None:
        print("root CA fingerprints:")
        for algorithm in FINGERPRINT_ALGORITHMS:
            print(f"  {algorithm}: {fingerprint(root, algorithm)}")


def _save_certificates(directory: Path, certs: CACertificates) -> None:
    for index, certificate in enumerate(certs.certificates):
        pem = certificate.public_bytes(Encoding.PEM)
        write_file(directory, f"ca-{index}.pem", pem, PUBLIC_MODE)


def run_cacert(args: argparse.Namespace) -> int:
    """Print the GetCACert certificates and their roles; check the fingerprint if given."""
    try:
        _check_fingerprint(args)
    except InvalidInput as exc:
        return _usage_error(exc)
    if args.out:
        create_directory(args.out)
    certs = _client(args).get_ca_cert()
    ca: TrustedCA | None
    if args.fingerprint:
        ca = certs.verify(args.fingerprint, args.fingerprint_alg)
    else:
        ca = _roles_as_received(certs)
    _print_certificates(certs, ca, root_verified=bool(args.fingerprint))
    if args.out:
        _save_certificates(args.out, certs)
    return EXIT_ISSUED


def with_method(caps: Capabilities, method: str) -> Capabilities:
    """Return `caps` changed so PKIOperation goes by `method` (auto, post or get)."""
    if method == "auto":
        return caps
    names = [n for n in caps.names if n.lower() not in ("postpkioperation", "scepstandard")]
    # SCEPStandard implied these; keep them explicit once it is removed.
    names += [name for name in ("AES", "SHA-256") if caps.has(name) and name not in names]
    if method == "post":
        names.append("POSTPKIOperation")
    return Capabilities(tuple(names))


def read_challenge(args: argparse.Namespace) -> str | None:
    """Return the challenge from --challenge, --challenge-file or the environment variable."""
    if args.challenge is not None:
        return str(args.challenge)
    if args.challenge_file is not None:
        try:
            lines = Path(args.challenge_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput("--challenge-file", str(args.challenge_file), str(exc)) from exc
        return lines[0] if lines else None
    return os.environ.get(args.challenge_env) or None


def _trusted_ca(
    client: SCEPClient, fingerprint_text: str | None, algorithm: str
) -> tuple[TrustedCA, str]:
    certs = client.get_ca_cert()
    if fingerprint_text is None:
        candidates = certs.root_candidates()
        if not candidates:
            raise InvalidInput("GetCACert reply", client.url, "no certificate")
        fingerprint_text = fingerprint(candidates[0], algorithm)
        print(
            f"pki-agent: warning: no --fingerprint given, trusting the root CA with "
            f"{algorithm} {fingerprint_text}",
            file=sys.stderr,
        )
    return certs.verify(fingerprint_text, algorithm), fingerprint_text


def _report(
    result: Issued | Pending,
    out: Path,
    ca: TrustedCA,
    key_pem: bytes | None = None,
    state: dict[str, Any] | None = None,
) -> int:
    """Save and print the result; enroll gives `key_pem` and `state`, poll does not."""
    if isinstance(result, Pending):
        save_pending(out, key_pem, result.transaction.to_json(), state)
        print(f"pending: transactionID {result.transaction.transaction_id}")
        print(f"continue with: pki-agent scep poll --out {out}")
        return EXIT_PENDING
    certificate = result.certificate
    # The CertRep's certificates come first, so a chain that the CA sent wins.
    chain = issuer_chain(certificate, [*result.chain, *ca.intermediates, ca.root])
    chain_pem = b"".join(c.public_bytes(Encoding.PEM) for c in chain) if chain else None
    save_issued(out, key_pem, certificate.public_bytes(Encoding.PEM), chain_pem, state)
    files = [out / KEY_FILE, out / CERT_FILE] + ([out / CHAIN_FILE] if chain else [])
    print(f"issued: {subject_text(certificate)}")
    print(f"  serial:  {certificate.serial_number:x}")
    print(f"  expires: {certificate.not_valid_after_utc.isoformat()}")
    print(f"  files:   {', '.join(str(path) for path in files)}")
    return EXIT_ISSUED


def _rejected(exc: CARejected, missing_challenge_hint: str | None = None) -> int:
    print(f"rejected: {exc}", file=sys.stderr)
    if missing_challenge_hint is not None and exc.fail_info == "badRequest":
        print(f"pki-agent: hint: {missing_challenge_hint}", file=sys.stderr)
    return EXIT_REJECTED


def _warn_if_no_challenge(args: argparse.Namespace, challenge: str | None) -> str | None:
    """Warn when no challenge is given; return the hint for a badRequest rejection then."""
    if challenge is not None:
        return None
    sources = f"--challenge, --challenge-file or ${args.challenge_env}"
    print(
        f"pki-agent: warning: no challenge password given ({sources}); "
        "most CAs reject such a request",
        file=sys.stderr,
    )
    return (
        "the request carried no challenge password. If the CA requires one, "
        f"give it with {sources}"
    )


def run_enroll(
    args: argparse.Namespace, key_future: Future[rsa.RSAPrivateKey] | None = None
) -> int:
    """Enroll a new key and write key.pem, cert.pem and the state file to --out.

    `key_future` is a key already being generated; without it the key is
    generated after the server's CA certificate is trusted.  An invalid
    --dn, --san or --fingerprint is a usage error, found before anything
    is sent or written.  The files are written only when the CA issues the
    certificate or keeps the request pending, so a rejection or an error
    leaves --out as it was.
    """
    try:
        parse_dn(args.dn)
        sans = tuple(parse_san(text) for text in args.san)
        _check_fingerprint(args)
    except InvalidInput as exc:
        return _usage_error(exc)
    out: Path = args.out
    prepare_directory(out, args.force)
    challenge = read_challenge(args)
    missing_challenge_hint = _warn_if_no_challenge(args, challenge)
    client = _client(args)
    caps = with_method(client.get_ca_caps(), args.method)
    ca, pinned = _trusted_ca(client, args.fingerprint, args.fingerprint_alg)
    key = key_future.result() if key_future is not None else generate_key(args.keysize)
    state = {
        "url": args.url,
        "fingerprint": pinned,
        "fingerprint_alg": args.fingerprint_alg,
        "method": args.method,
    }
    request = prepare_enrollment(key, args.dn, sans, challenge, args.profile, args.cipher)
    # Flushed now: a CA may take long to reply, and after a Ctrl-C the
    # transaction ID is what an operator asks the CA about.
    print(
        f"transactionID {request.transaction_id}, cipher {caps.choose_cipher(args.cipher)}",
        flush=True,
    )
    try:
        result = client.enroll(ca, caps, request)
    except CARejected as exc:
        return _rejected(exc, missing_challenge_hint)
    return _report(result, out, ca, private_key_pem(key), state)


def run_poll(args: argparse.Namespace) -> int:
    """Send CertPoll for the pending request saved in --out."""
    out: Path = args.out
    state, pending_text = load_pending(out)
    pending = PendingTransaction.from_json(pending_text)
    client = SCEPClient(state["url"], args.connect_timeout, args.read_timeout)
    caps = with_method(client.get_ca_caps(), state.get("method", "auto"))
    ca, _ = _trusted_ca(client, state["fingerprint"], state["fingerprint_alg"])
    try:
        result = client.poll(ca, caps, pending)
    except CARejected as exc:
        return _rejected(exc)
    return _report(result, out, ca)
