"""Operator text for failed SCEP HTTP exchanges, from real sockets and built exception chains."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
import requests
import urllib3

from agent.cli import configure_logging
from agent.scep.client import SCEPClient
from agent.scep.errors import TransportError
from agent.scep.transport_errors import (
    describe_failure,
    describe_status,
    display_url,
    host_port,
)

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


class _StallingServer:
    """A listener on 127.0.0.1 that accepts and sends `prefix`, then stays silent."""

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/scep"

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        self.connections.append(connection)
        connection.recv(65536)
        connection.sendall(self.prefix)

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)
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
