"""A SCEP CA on 127.0.0.1 for tests, built on the project's CMS primitives.

Each test sets `MockCA.decide` to choose the reply to a request, and can read
the raw HTTP requests from `MockCA.requests`.  A misbehaving server is the same
server with one reply changed.
"""

from __future__ import annotations

import base64
import datetime
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep import attributes as attrs
from agent.scep import cms
from agent.scep.attributes import MessageType, PKIStatus
from tests.scep.conftest import Identity


@dataclass
class Received:
    """One HTTP request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PKIRequest:
    """A decoded pkiMessage."""

    message_type: str
    transaction_id: str
    sender_nonce: bytes
    signer: x509.Certificate
    payload: bytes
    digest_algorithm: str
    cipher: str


@dataclass
class Reply:
    """The CA's reply to one pkiMessage."""

    status: PKIStatus
    fail_info: str | None = None
    hresult: str | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)
    content: bytes | None = None
    recipient_nonce: bytes | None = None
    transaction_id: str | None = None
    http_status: int = 200
    body: bytes | None = None
    signer: Identity | None = None
    cipher: cms.ContentCipher = cms.ContentCipher.DES_CBC
    key_transport: cms.KeyTransport = cms.KeyTransport.PKCS1V15


class MockCA:
    """A SCEP server whose CA key, certificates and replies the test controls."""

    def __init__(self, ca: Identity, recipient: Identity, ca_certificates: list[x509.Certificate]):
        self.ca = ca
        self.recipient = recipient
        self.ca_certificates = ca_certificates
        self.caps = b"POSTPKIOperation\nSHA-256\nAES\nDES3\nRenewal\n"
        self.caps_status = 200
        self.requests: list[Received] = []
        self.pki_requests: list[PKIRequest] = []
        self.decide: Callable[[PKIRequest], Reply] = self.issue
        self.url = ""

    def issue(self, request: PKIRequest) -> Reply:
        """Issue a certificate for the CSR in `request`."""
        csr = x509.load_der_x509_csr(request.payload)
        return self.issue_for(csr.subject, csr.public_key())

    def issue_for(self, subject: x509.Name, public_key: CertificatePublicKeyTypes) -> Reply:
        """Issue a certificate for `public_key`, as a SUCCESS reply with the CA certificate."""
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(self.ca.key, hashes.SHA256())
        )
        return Reply(PKIStatus.SUCCESS, certificates=[certificate, self.ca.certificate])

    def decode(self, message: bytes) -> PKIRequest:
        """Verify and decrypt a pkiMessage."""
        signed = cms.verify_signed_data(message)
        assert signed.content is not None
        envelope = cms.ber.load_content_info(signed.content, "enveloped_data", parse_all=False)
        algorithm = envelope["content"]["encrypted_content_info"]["content_encryption_algorithm"]
        payload = cms.open_enveloped_data(signed.content, self.recipient.key)
        return PKIRequest(
            message_type=attrs.text_value(signed.attributes, attrs.MESSAGE_TYPE) or "",
            transaction_id=attrs.text_value(signed.attributes, attrs.TRANSACTION_ID) or "",
            sender_nonce=attrs.octets_value(signed.attributes, attrs.SENDER_NONCE) or b"",
            signer=signed.signer,
            payload=payload,
            digest_algorithm=signed.digest_algorithm,
            cipher=algorithm["algorithm"].native,
        )

    def cert_rep(self, request: PKIRequest, reply: Reply) -> bytes:
        """Build the CertRep for `reply`."""
        content = reply.content
        if content is None and reply.status is PKIStatus.SUCCESS:
            inner = cms.build_certs_only(reply.certificates)
            content = cms.build_enveloped_data(
                inner, request.signer, reply.cipher, reply.key_transport
            )
        extra = attrs.scep_attributes(
            MessageType.CERT_REP,
            reply.transaction_id or request.transaction_id,
            recipient_nonce=reply.recipient_nonce or request.sender_nonce,
            pki_status=reply.status,
            fail_info=reply.fail_info,
        )
        if reply.hresult is not None:
            extra.append((attrs.NDES_HRESULT, core.PrintableString(reply.hresult)))
        signer = reply.signer or self.ca
        return cms.build_signed_data(
            content if content is not None else b"",
            signer.certificate,
            signer.key,
            "sha1",
            extra,
        )


def _handler(ca: MockCA) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, body: bytes) -> None:
            ca.requests.append(Received(self.command, self.path, dict(self.headers), body))
            query = parse_qs(urlsplit(self.path).query)
            operation = query.get("operation", [""])[0]
            if operation == "GetCACaps":
                self._send(ca.caps_status, ca.caps, "text/plain")
            elif operation == "GetCACert":
                certs = ca.ca_certificates
                if len(certs) == 1:
                    self._send(
                        200, certs[0].public_bytes(Encoding.DER), "application/x-x509-ca-cert"
                    )
                else:
                    self._send(200, cms.build_certs_only(certs), "application/x-x509-ca-ra-cert")
            elif operation == "PKIOperation":
                self._pki_operation(body)
            else:
                self._send(404, b"unknown operation", "text/plain")

        def _pki_operation(self, body: bytes) -> None:
            if self.command == "GET":
                raw = urlsplit(self.path).query.split("message=", 1)[1].split("&")[0]
                body = base64.b64decode(unquote(raw), validate=True)
            request = ca.decode(body)
            ca.pki_requests.append(request)
            reply = ca.decide(request)
            if reply.body is not None or reply.http_status != 200:
                self._send(reply.http_status, reply.body or b"", "text/plain")
                return
            self._send(200, ca.cert_rep(request, reply), "application/x-pki-message")

        def do_GET(self) -> None:
            self._handle(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._handle(self.rfile.read(length))

    return Handler


def serve(ca: MockCA) -> Iterator[MockCA]:
    """Run `ca` on 127.0.0.1 on a free port until the generator is closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ca))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    ca.url = f"http://127.0.0.1:{server.server_address[1]}/scep"
    try:
        yield ca
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
