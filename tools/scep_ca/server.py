"""HTTP front end on 127.0.0.1: the SCEP endpoint (RFC 8894 over HTTP) and the admin endpoint."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import socket
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent.scep.errors import ProtocolError
from tools.scep_ca.admin_http import handle_admin
from tools.scep_ca.authority import CertificateAuthority
from tools.scep_ca.certs_only import build_ordered_certs_only
from tools.scep_ca.faults import CMS_FAULTS, FaultSettings, ReplyFault
from tools.scep_ca.issuing import der
from tools.scep_ca.operation import handle_pki_operation

logger = logging.getLogger(__name__)

LISTEN_ADDRESS = "127.0.0.1"
MAX_BODY_BYTES = 1 << 20


class Reply:
    """An HTTP reply: status, content type and body."""

    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, "text/plain; charset=utf-8", text.encode())


def _get_ca_caps(authority: CertificateAuthority, message: bytes) -> Reply:
    return Reply(200, "text/plain", "\n".join(authority.personality.caps).encode())


def _get_ca_cert(authority: CertificateAuthority, message: bytes) -> Reply:
    certificates = authority.hierarchy.ca_certificates
    if len(certificates) == 1:
        # A CA without an RA sends one DER certificate as application/x-x509-ca-cert.
        return Reply(200, "application/x-x509-ca-cert", der(certificates[0]))
    return Reply(200, "application/x-x509-ca-ra-cert", build_ordered_certs_only(certificates))


def _pki_operation(
    authority: CertificateAuthority, message: bytes, faults: FaultSettings
) -> Reply:
    try:
        body = handle_pki_operation(authority, message, faults)
    except ProtocolError as exc:
        logger.warning("PKIOperation rejected: %s", exc)
        return text_reply(400, f"invalid pkiMessage: {exc}")
    return Reply(200, "application/x-pki-message", body)


class SCEPHandler(BaseHTTPRequestHandler):
    """Serves GET and POST on the personality's SCEP path."""

    server: SCEPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        limit = self.server.authority.max_query_length
        if limit is not None and len(url.query) > limit:
            logger.info("GET query of %d bytes rejected, the limit is %d", len(url.query), limit)
            self._send(text_reply(404, "HTTP Error 404.15 - Not Found: query string too long"))
            return
        query = urllib.parse.parse_qs(url.query)
        operation = query.get("operation", [""])[0]
        message = query.get("message", [""])[0]
        payload = message.encode()
        if operation == "PKIOperation":
            try:
                # A client that does not percent-encode base64 sends "+", which
                # query parsing turns into a space.
                payload = base64.b64decode(message.replace(" ", "+"), validate=False)
            except (binascii.Error, ValueError):
                logger.info("GET PKIOperation with invalid base64 rejected")
                self._send(text_reply(400, "invalid base64 in the message parameter"))
                return
        self._serve(url.path, operation, payload)

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            logger.info("POST body of %d bytes rejected, the limit is %d", length, MAX_BODY_BYTES)
            self._send(text_reply(413, f"request body larger than {MAX_BODY_BYTES} bytes"))
            return
        body = self.rfile.read(length)
        self._serve(url.path, query.get("operation", [""])[0], body)

    def _serve(self, path: str, operation: str, payload: bytes) -> None:
        authority = self.server.authority
        if path != authority.personality.scep_path:
            logger.info("request for unknown path %s rejected", path)
            self._send(text_reply(404, f"no SCEP service at {path}"))
            return
        faults = authority.use_reply_fault(operation)
        active = faults.applies_to(operation)
        if active and faults.delay:
            time.sleep(faults.delay)
        if active and self._send_broken(faults):
            return
        if not active:
            faults = FaultSettings(cert_lifetime=faults.cert_lifetime)
        self._send(self._dispatch(operation, payload, faults))

    def _dispatch(self, operation: str, payload: bytes, faults: FaultSettings) -> Reply:
        authority = self.server.authority
        simple: dict[str, Callable[[CertificateAuthority, bytes], Reply]] = {
            "GetCACaps": _get_ca_caps,
            "GetCACert": _get_ca_cert,
        }
        if operation in simple:
            return simple[operation](authority, payload)
        if operation == "PKIOperation":
            return _pki_operation(authority, payload, faults)
        logger.info("unsupported operation %r rejected", operation)
        return text_reply(400, f"unsupported operation {operation!r}")

    def _send_broken(self, faults: FaultSettings) -> bool:
        """Send the HTTP-level reply fault; return False if the fault is in the CMS reply."""
        fault = faults.reply
        if fault is ReplyFault.NONE or fault in CMS_FAULTS:
            return False
        logger.info("injecting fault %s", fault.value)
        if fault is ReplyFault.DROP_CONNECTION:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        replies = {
            ReplyFault.HTTP_500: text_reply(500, faults.http_text),
            ReplyFault.EMPTY_BODY: Reply(200, "application/x-pki-message", b""),
            ReplyFault.NON_CMS_BODY: text_reply(200, "<html><body>Service ready</body></html>"),
        }
        self._send(replies[fault])
        return True

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class AdminHandler(BaseHTTPRequestHandler):
    """JSON admin API, plus NDES's challenge page for the ndes personality."""

    server: SCEPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("admin %s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY_BYTES))
        status, content_type, payload = handle_admin(
            self.server.authority, method, self.path, body
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class SCEPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to 127.0.0.1 that carries the CA."""

    daemon_threads = True

    def __init__(
        self,
        port: int,
        handler: type[BaseHTTPRequestHandler],
        authority: CertificateAuthority,
    ) -> None:
        self.authority = authority
        super().__init__((LISTEN_ADDRESS, port), handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def json_body(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
