"""The SCEP transport's session sends a request head and a short body in one write."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3

from agent.scep import http_session
from agent.scep.http_session import JOINED_BODY_LIMIT, JoinedWritesAdapter, new_session
from agent.scep.transport import HTTPTransport


class _EchoHandler(BaseHTTPRequestHandler):
    """Replies to a POST with its body and to a GET with its request line."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-pki-message")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(b"GET " + self.path.encode())

    def do_POST(self) -> None:
        self._reply(self.rfile.read(int(self.headers["Content-Length"])))


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/scep"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Record every write that reaches http.client, the layer under urllib3."""
    recorded: list[bytes] = []
    original = http.client.HTTPConnection.send

    def send(self: http.client.HTTPConnection, data: Any) -> None:
        recorded.append(bytes(data))
        original(self, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", send)
    return recorded


def test_post_sends_head_and_body_in_one_write(echo_url: str, writes: list[bytes]) -> None:
    message = bytes(range(256)) * 10
    transport = HTTPTransport(echo_url)

    reply = transport.post_pki_message(message)

    assert reply.body == message
    assert len(writes) == 1
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /scep?operation=PKIOperation HTTP/1.1")
    assert body == message


def test_get_sends_its_head(echo_url: str, writes: list[bytes]) -> None:
    transport = HTTPTransport(echo_url)

    reply = transport.get("GetCACaps")

    assert reply.body == b"GET /scep?operation=GetCACaps"
    assert len(writes) == 1
    assert writes[0].startswith(b"GET /scep?operation=GetCACaps HTTP/1.1")


def test_long_body_is_written_after_the_head(echo_url: str, writes: list[bytes]) -> None:
    message = b"x" * (JOINED_BODY_LIMIT + 1)
    transport = HTTPTransport(echo_url)

    reply = transport.post_pki_message(message)

    assert reply.body == message
    assert writes[0].endswith(b"\r\n\r\n")
    assert b"".join(writes[1:]) == message


def test_requests_on_one_connection_stay_whole(echo_url: str, writes: list[bytes]) -> None:
    transport = HTTPTransport(echo_url)
    messages = [b"first" * 100, b"second" * 100]

    replies = [transport.post_pki_message(messages[0]), transport.get("GetCACert"),
               transport.post_pki_message(messages[1])]

    assert [reply.body for reply in replies] == [
        messages[0], b"GET /scep?operation=GetCACert", messages[1]]
    assert len(writes) == 3


def test_failed_write_leaves_no_head_behind(echo_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    session = new_session()
    original = http.client.HTTPConnection.send
    failures = iter([True])

    def send_once_failing(self: http.client.HTTPConnection, data: Any) -> None:
        if next(failures, False):
            raise ConnectionResetError("reset by the test")
        original(self, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", send_once_failing)
    with pytest.raises(Exception, match="reset by the test"):
        session.post(echo_url, data=b"lost", timeout=5)

    reply = session.post(echo_url, data=b"kept", timeout=5)

    assert reply.content == b"kept"


def test_http_proxy_connections_join_writes() -> None:
    adapter = JoinedWritesAdapter()

    manager = adapter.proxy_manager_for("http://127.0.0.1:9")

    assert isinstance(manager, urllib3.ProxyManager)
    assert manager.pool_classes_by_scheme is http_session._POOL_CLASSES
    assert adapter.poolmanager.pool_classes_by_scheme is http_session._POOL_CLASSES
