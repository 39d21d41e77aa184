"""Operator text for failed SCEP HTTP exchanges, from real sockets and built exception chains."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID

from agent.cli import configure_logging
from agent.scep.client import SCEPClient
from agent.scep.errors import TransportError
from agent.scep.transport_errors import (
    describe_failure,
    describe_status,
    display_url,
    host_port,
)
from tests.scep.conftest import PKIFactory

URL = "http://scep.example.test:8080/scep"


def _wrapped(cause: BaseException) -> requests.RequestException:
    """Wrap `cause` the way requests and urllib3 wrap a failed connection."""
    inner = urllib3.exceptions.NewConnectionError(None, f"Failed to establish: {cause}")  # type: ignore[arg-type]
    inner.__cause__ = cause
    retry = urllib3.exceptions.MaxRetryError(None, "/scep", inner)  # type: ignore[arg-type]
    return requests.ConnectionError(retry)


def _dns_failure() -> requests.RequestException:
    reason = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    inner = urllib3.exceptions.NameResolutionError("scep.example.test", None, reason)  # type: ignore[arg-type]
    retry = urllib3.exceptions.MaxRetryError(None, "/scep", inner)  # type: ignore[arg-type]
    return requests.ConnectionError(retry)


def _connect_timeout() -> requests.RequestException:
    inner = urllib3.exceptions.ConnectTimeoutError(None, "timed out")
    retry = urllib3.exceptions.MaxRetryError(None, "/scep", inner)  # type: ignore[arg-type]
    return requests.ConnectTimeout(retry)


@pytest.mark.parametrize(("exc", "expected"), [
    (_wrapped(ConnectionRefusedError(111, "Connection refused")),
     "connection refused by scep.example.test:8080"),
    (_dns_failure(), "DNS lookup of scep.example.test failed"),
    (_connect_timeout(), "timed out after 5 s connecting to scep.example.test:8080"),
    (requests.ReadTimeout("read timed out"),
     "timed out after 30 s waiting for a reply from scep.example.test:8080"),
    (urllib3.exceptions.ReadTimeoutError(None, "/scep", "Read timed out."),  # type: ignore[arg-type]
     "timed out after 30 s waiting for a reply from scep.example.test:8080"),
    (_wrapped(ConnectionResetError(104, "Connection reset by peer")),
     "connection reset by scep.example.test:8080"),
    (requests.exceptions.SSLError(ssl.SSLError(1, "[SSL] wrong version number")),
     "TLS with scep.example.test:8080 failed: [SSL] wrong version number"),
    (_wrapped(OSError(101, "Network is unreachable")),
     "connection to scep.example.test:8080 failed: Network is unreachable"),
    (requests.exceptions.InvalidURL("Invalid URL 'x': No host supplied"),
     "request to scep.example.test:8080 failed: Invalid URL 'x': No host supplied"),
], ids=["refused", "dns", "connect-timeout", "read-timeout", "body-read-timeout", "reset",
        "tls", "unreachable", "invalid-url"])
def test_failure_text(exc: BaseException, expected: str) -> None:
    text = describe_failure(exc, URL, 5.0, 30.0)

    assert text == expected
    assert "HTTPConnectionPool" not in text
    assert "object at 0x" not in text


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:9/scep", "127.0.0.1:9"),
    ("http://ca.example.test/scep", "ca.example.test:80"),
    ("https://ca.example.test/scep", "ca.example.test:443"),
    ("http://[::1]:8080/scep", "[::1]:8080"),
])
def test_host_port(url: str, expected: str) -> None:
    assert host_port(url) == expected


@pytest.mark.parametrize(("body", "expected"), [
    (b"boom: db down\nTraceback ...", "HTTP 500 from http://h/scep: boom: db down"),
    (b"\n\n  Service Unavailable  \n", "HTTP 500 from http://h/scep: Service Unavailable"),
    (b"", "HTTP 500 from http://h/scep with an empty body"),
    (b"x" * 300, "HTTP 500 from http://h/scep: " + "x" * 120 + "..."),
])
def test_status_text(body: bytes, expected: str) -> None:
    assert describe_status(500, "http://h/scep", body) == expected


def test_status_text_escapes_control_characters() -> None:
    text = describe_status(500, "http://h/scep", b"\x1b[31mred\x07 alert")

    assert text == "HTTP 500 from http://h/scep: ?[31mred? alert"


@pytest.mark.parametrize(("url", "expected"), [
    ("http://admin:s3cret@ca.example.test:8080/scep", "http://ca.example.test:8080/scep"),
    ("http://ca.example.test/scep?x=1", "http://ca.example.test/scep?x=1"),
    # urlsplit rejects these two.
    ("http://admin:s3cret@[::1/scep?a=b@c", "http://[::1/scep?a=b@c"),
    ("http://admin:s3cret@a\uff0fb", "http://a\uff0fb"),
    # urlsplit ignores leading spaces and control characters, and tabs and
    # line breaks anywhere.
    ("ht\ttp://admin:s3cret@ca.example.test/scep", "http://ca.example.test/scep"),
    (" \x01http:/\n/admin:s3cret@ca.example.test/scep", "http://ca.example.test/scep"),
])
def test_display_url_drops_credentials(url: str, expected: str) -> None:
    assert display_url(url) == expected
    assert "s3cret" not in describe_status(500, url, b"error")
    assert "s3cret" not in describe_failure(requests.ReadTimeout("x"), url, 5.0, 30.0)
    invalid = requests.exceptions.InvalidURL(f"Failed to parse: {url}")
    assert "s3cret" not in describe_failure(invalid, url, 5.0, 30.0)


@pytest.mark.parametrize(("verbosity", "level"), [(0, logging.WARNING), (1, logging.WARNING),
                                                  (2, logging.DEBUG)])
def test_urllib3_debug_only_at_vv(verbosity: int, level: int) -> None:
    root = logging.getLogger()
    changed = [logging.getLogger(name) for name in ("urllib3", "asyncssh")]
    saved_handlers, saved_levels = root.handlers[:], [root.level] + [c.level for c in changed]
    try:
        configure_logging(verbosity)

        assert changed[0].getEffectiveLevel() == level
    finally:
        root.handlers[:] = saved_handlers
        for logger, saved_level in zip([root, *changed], saved_levels, strict=True):
            logger.setLevel(saved_level)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_message_real_socket() -> None:
    port = _free_port()
    client = SCEPClient(f"http://127.0.0.1:{port}/scep", connect_timeout=1.0, read_timeout=1.0)

    with pytest.raises(TransportError) as caught:
        client.get_ca_cert()

    assert str(caught.value) == f"SCEP GetCACert failed: connection refused by 127.0.0.1:{port}"


class _LoopbackListener:
    """A TCP listener on 127.0.0.1 whose `_serve` runs in a thread from the start."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        # On Linux, shutdown wakes the thread blocked in accept, and close does not.
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=5)


class _StallingServer(_LoopbackListener):
    """A listener on 127.0.0.1 that accepts and sends `prefix`, then stays silent."""

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.connections: list[socket.socket] = []
        super().__init__()

    @property
    def url(self) -> str:
        return super().url + "/scep"

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        self.connections.append(connection)
        connection.recv(65536)
        connection.sendall(self.prefix)

    def close(self) -> None:
        super().close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def stalled_body() -> Iterator[_StallingServer]:
    server = _StallingServer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
    yield server
    server.close()


def test_body_read_timeout_is_transport_error(stalled_body: _StallingServer) -> None:
    client = SCEPClient(stalled_body.url, connect_timeout=1.0, read_timeout=0.3)

    with pytest.raises(TransportError) as caught:
        client.get_ca_cert()

    port = stalled_body.url.split(":")[2].split("/")[0]
    assert str(caught.value) == ("SCEP GetCACert failed: timed out after 0.3 s waiting for a "
                                 f"reply from 127.0.0.1:{port}")


PROXY = "http://proxy.example.test:3128"


def _proxy_failure(cause: Exception) -> requests.RequestException:
    """Wrap `cause` the way urllib3 and requests wrap a failed connection to a proxy."""
    inner = urllib3.exceptions.ProxyError("Unable to connect to proxy", cause)
    retry = urllib3.exceptions.MaxRetryError(None, "/scep", inner)  # type: ignore[arg-type]
    return requests.exceptions.ProxyError(retry)


@pytest.mark.parametrize(("exc", "expected"), [
    (_proxy_failure(ConnectionRefusedError(111, "Connection refused")),
     "connection refused by proxy proxy.example.test:3128"),
    (_proxy_failure(_dns_failure().args[0].reason),
     "DNS lookup of proxy proxy.example.test failed"),
    (_proxy_failure(urllib3.exceptions.ConnectTimeoutError(None, "timed out")),
     "timed out after 5 s connecting to proxy proxy.example.test:3128"),
    (_proxy_failure(OSError("Tunnel connection failed: 407 Proxy Authentication Required")),
     "proxy proxy.example.test:3128 refused the tunnel: HTTP 407 Proxy Authentication Required"),
    (_proxy_failure(OSError("Tunnel connection failed: 403 \x1b[31mdenied")),
     "proxy proxy.example.test:3128 refused the tunnel: HTTP 403 ?[31mdenied"),
    (requests.ReadTimeout("read timed out"),
     "timed out after 30 s waiting for a reply from scep.example.test:8080 "
     "(through proxy proxy.example.test:3128)"),
    (_wrapped(ConnectionResetError(104, "Connection reset by peer")),
     "connection reset by scep.example.test:8080 (through proxy proxy.example.test:3128)"),
], ids=["refused", "dns", "connect-timeout", "tunnel-407", "tunnel-escapes", "read-timeout",
        "reset"])
def test_failure_text_with_proxy(exc: BaseException, expected: str) -> None:
    assert describe_failure(exc, URL, 5.0, 30.0, proxy=PROXY) == expected


def test_proxy_failure_without_proxy_names_server() -> None:
    exc = _proxy_failure(ConnectionRefusedError(111, "Connection refused"))

    assert describe_failure(exc, URL, 5.0, 30.0) == "connection refused by scep.example.test:8080"


def test_proxy_credentials_not_in_text() -> None:
    proxy = "http://admin:s3cret@proxy.example.test:3128"
    invalid = _proxy_failure(ValueError(f"bad proxy {proxy}"))

    text = describe_failure(invalid, URL, 5.0, 30.0, proxy=proxy)

    assert text == ("request through proxy proxy.example.test:3128 failed: "
                    "bad proxy http://proxy.example.test:3128")


@pytest.mark.parametrize(("status", "expected"), [
    (403, "HTTP 403 from http://h/scep (through proxy proxy.example.test:3128): denied"),
    (407, "HTTP 407 from proxy proxy.example.test:3128: denied"),
])
def test_status_text_through_proxy(status: int, expected: str) -> None:
    assert describe_status(status, "http://h/scep", b"denied\n", PROXY) == expected


def test_status_text_through_proxy_empty_body() -> None:
    text = describe_status(403, "http://h/scep", b"", PROXY)

    assert text == ("HTTP 403 from http://h/scep (through proxy proxy.example.test:3128) "
                    "with an empty body")


class _LocalProxy(_LoopbackListener):
    """An HTTP proxy on 127.0.0.1 that replies `status` to every request and forwards nothing."""

    def __init__(self, status: str) -> None:
        self.status = status
        self.request_lines: list[bytes] = []
        super().__init__()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                head = connection.recv(65536)
                self.request_lines.append(head.split(b"\r\n", 1)[0])
                body = b"Access denied by policy\n"
                connection.sendall(f"HTTP/1.1 {self.status}\r\nContent-Length: {len(body)}\r\n"
                                   "Connection: close\r\n\r\n".encode() + body)


@pytest.fixture
def local_proxy() -> Iterator[_LocalProxy]:
    proxy = _LocalProxy("403 Forbidden")
    yield proxy
    proxy.close()


@pytest.fixture
def proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Clear every proxy variable, so that each test sets only its own."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_refused_proxy_is_named(proxy_environment: pytest.MonkeyPatch) -> None:
    proxy_port = _free_port()
    proxy_environment.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client = SCEPClient(f"http://127.0.0.1:{server.getsockname()[1]}/scep",
                            connect_timeout=1.0, read_timeout=1.0)

        with pytest.raises(TransportError) as caught:
            client.get_ca_cert()

    assert str(caught.value) == (
        f"SCEP GetCACert failed: connection refused by proxy 127.0.0.1:{proxy_port}")
    assert not caught.value.answered


def test_no_proxy_skips_proxy(proxy_environment: pytest.MonkeyPatch) -> None:
    proxy_environment.setenv("HTTP_PROXY", f"http://127.0.0.1:{_free_port()}")
    proxy_environment.setenv("NO_PROXY", "127.0.0.1")
    port = _free_port()
    client = SCEPClient(f"http://127.0.0.1:{port}/scep", connect_timeout=1.0, read_timeout=1.0)

    with pytest.raises(TransportError) as caught:
        client.get_ca_cert()

    assert str(caught.value) == f"SCEP GetCACert failed: connection refused by 127.0.0.1:{port}"


def test_tunnel_refusal_names_proxy(proxy_environment: pytest.MonkeyPatch,
                                    local_proxy: _LocalProxy) -> None:
    proxy_environment.setenv("HTTPS_PROXY", local_proxy.url)
    port = _free_port()
    client = SCEPClient(f"https://127.0.0.1:{port}/scep", connect_timeout=1.0, read_timeout=1.0)

    with pytest.raises(TransportError) as caught:
        client.get_ca_cert()

    proxy = local_proxy.url.removeprefix("http://")
    assert str(caught.value) == (
        f"SCEP GetCACert failed: proxy {proxy} refused the tunnel: HTTP 403 Forbidden")
    assert local_proxy.request_lines == [f"CONNECT 127.0.0.1:{port} HTTP/1.0".encode()]


def test_proxy_reply_names_proxy(proxy_environment: pytest.MonkeyPatch,
                                 local_proxy: _LocalProxy) -> None:
    proxy_environment.setenv("HTTP_PROXY", local_proxy.url)
    url = f"http://127.0.0.1:{_free_port()}/scep"
    client = SCEPClient(url, connect_timeout=1.0, read_timeout=1.0)

    with pytest.raises(TransportError) as caught:
        client.get_ca_cert()

    proxy = local_proxy.url.removeprefix("http://")
    assert str(caught.value) == (
        f"SCEP GetCACert failed: HTTP 403 from {url} (through proxy {proxy}): "
        "Access denied by policy")
    assert caught.value.status == 403
    assert local_proxy.request_lines == [f"GET {url}?operation=GetCACert HTTP/1.1".encode()]


def test_read_timeout_through_proxy(proxy_environment: pytest.MonkeyPatch,
                                    stalled_body: _StallingServer) -> None:
    proxy_environment.setenv("HTTP_PROXY", stalled_body.url.removesuffix("/scep"))
    port = _free_port()
    client = SCEPClient(f"http://127.0.0.1:{port}/scep", connect_timeout=1.0, read_timeout=0.3)

    with pytest.raises(TransportError) as caught:
        client.get_ca_cert()

    proxy = stalled_body.url.removeprefix("http://").removesuffix("/scep")
    assert str(caught.value) == (
        f"SCEP GetCACert failed: timed out after 0.3 s waiting for a reply from "
        f"127.0.0.1:{port} (through proxy {proxy})")


def _write_tls_identity(pki: PKIFactory, directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for IP 127.0.0.1 and its key, and return both paths."""
    key = pki.key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1))
        .not_valid_after(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "server.pem", directory / "server.key"
    certificate_path.write_bytes(certificate.public_bytes(Encoding.PEM))
    key_path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL,
                                           NoEncryption()))
    return certificate_path, key_path


class _ForbiddenHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"denied by the server\n"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _TunnelProxy(_LoopbackListener):
    """An HTTP proxy on 127.0.0.1 that opens CONNECT tunnels to `port` on 127.0.0.1 only."""

    def __init__(self, port: int) -> None:
        self.port = port
        super().__init__()

    def _serve(self) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        with client, socket.create_connection(("127.0.0.1", self.port)) as upstream:
            head = client.recv(65536)
            assert head.startswith(f"CONNECT 127.0.0.1:{self.port} ".encode())
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            sockets = [client, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 5)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)


def test_tunnelled_reply_names_server(proxy_environment: pytest.MonkeyPatch, pki: PKIFactory,
                                      tmp_path: Path) -> None:
    certificate_path, key_path = _write_tls_identity(pki, tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_path, key_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForbiddenHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    proxy = _TunnelProxy(server.server_address[1])
    proxy_environment.setenv("HTTPS_PROXY", proxy.url)
    proxy_environment.setenv("REQUESTS_CA_BUNDLE", str(certificate_path))
    url = f"https://127.0.0.1:{server.server_address[1]}/scep"
    try:
        with pytest.raises(TransportError) as caught:
            SCEPClient(url, connect_timeout=2.0, read_timeout=2.0).get_ca_cert()
    finally:
        proxy.close()
        server.shutdown()
        server.server_close()
        thread.join()

    assert str(caught.value) == f"SCEP GetCACert failed: HTTP 403 from {url}: denied by the server"


def test_schemeless_proxy_hides_password() -> None:
    # requests reads a proxy without a scheme, as curl does, as http://.
    exc = requests.exceptions.ProxyError("Unable to connect to proxy")

    text = describe_failure(exc, "http://ca.example.test/scep", 5.0, 30.0,
                            proxy="user:s3cret@127.0.0.1:3128")

    assert "s3cret" not in text
    assert "127.0.0.1:3128" in text

