"""A SCEP server on 127.0.0.1 whose GetCACert reply has an RA that can neither sign nor encrypt.

It is a real HTTP peer with one thing broken on purpose: the RA certificate's
keyUsage allows only nonRepudiation, so no certificate can be the recipient
of requests and the agent must report 'no RA cert found'.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from agent.scep.cms import build_certs_only
from tests.pki.factory import make_name, rsa_key

CAPABILITIES = b"POSTPKIOperation\nSHA-256\nAES\n"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)


def build_reply() -> tuple[bytes, x509.Certificate]:
    """Return the certs-only GetCACert body and the root it contains."""
    root_key, ra_key = rsa_key(10), rsa_key(11)
    root_name = make_name("Broken RA Root CA")
    root = (
        x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
        .public_key(root_key.public_key()).serial_number(1)
        .not_valid_before(_now()).not_valid_after(_now() + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    usage = x509.KeyUsage(
        digital_signature=False, content_commitment=True, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False)
    ra = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Broken RA")]))
        .issuer_name(root_name).public_key(ra_key.public_key()).serial_number(2)
        .not_valid_before(_now()).not_valid_after(_now() + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return build_certs_only([root, ra]), root


@contextmanager
def broken_ra_server() -> Iterator[tuple[str, str]]:
    """Serve the broken CA; yield (SCEP URL, SHA-256 fingerprint of its root)."""
    body, root = build_reply()
    fingerprint = root.fingerprint(hashes.SHA256()).hex()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            operation = parse_qs(urlsplit(self.path).query).get("operation", [""])[0]
            if operation == "GetCACaps":
                self._reply(CAPABILITIES, "text/plain")
            elif operation == "GetCACert":
                self._reply(body, "application/x-x509-ca-ra-cert")
            else:
                self.send_error(404)

        def _reply(self, data: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/scep", fingerprint
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


