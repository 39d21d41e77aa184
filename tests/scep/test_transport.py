"""Redirects in the SCEP HTTP transport, against a redirecting server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.scep.errors import TransportError
from agent.scep.http_session import new_session
from agent.scep.transport import HTTPTransport, server_url


class _Redirector:
    """A server that redirects ``/scep`` to `location` and replies to other paths itself.

    `location` defaults to ``/moved`` on the same server, with the request's
    query appended.  A redirect has a body of `redirect_body_size` zero bytes;
    `redirect_body_sent` counts how many of them the client accepted before it
    closed the connection, and `redirect_done` is set when a redirect reply ends.
    The other paths reply with `status` and `body`, or with the request method
    and body length when `body` is None.
    """

    def __init__(self, redirect_status: int) -> None:
        self.redirect_status = redirect_status
        self.location: str | None = None
        self.redirect_body_size = 0
        self.redirect_body_sent = 0
        self.redirect_done = threading.Event()
        self.status = 200
        self.body: bytes | None = None
        self.requests: list[tuple[str, str, bytes]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location: str) -> None:
                self.send_response(redirector.redirect_status)
                self.send_header("Location", location)
                self.send_header("Content-Length", str(redirector.redirect_body_size))
                self.end_headers()
                chunk = bytes(64 * 1024)
                try:
                    while redirector.redirect_body_sent < redirector.redirect_body_size:
                        self.wfile.write(chunk)
                        redirector.redirect_body_sent += len(chunk)
                except OSError:
                    self.close_connection = True
                finally:
                    redirector.redirect_done.set()

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                redirector.requests.append((self.command, self.path, body))
                path, _, query = self.path.partition("?")
                if path == "/scep":
                    self._redirect(redirector.location or f"/moved?{query}")
                    return
                reply = redirector.body
                if reply is None:
                    reply = f"{self.command} {len(body)}".encode()
                self._reply(redirector.status, reply,
                            {"Content-Type": "application/x-pki-message"})

            do_GET = do_POST = _handle

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def redirector(request: pytest.FixtureRequest) -> Iterator[_Redirector]:
    server = _Redirector(request.param)
    yield server
    server.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("redirector", [301, 302, 303], indirect=True)
def test_post_redirect_to_get_raises(redirector: _Redirector) -> None:
    transport = HTTPTransport(f"{redirector.base}/scep")

    with pytest.raises(TransportError) as caught:
        transport.post_pki_message(b"pkiMessage" * 100)

    moved = f"{redirector.base}/moved"
    assert str(caught.value) == (
        f"SCEP PKIOperation failed: HTTP {redirector.redirect_status} redirects the POST to "
        f"{moved}, where it would arrive as a GET without the pkiMessage. "
        f"Use {moved} as the server URL")
    assert caught.value.status == redirector.redirect_status
    assert caught.value.answered
    assert [(method, path) for method, path, _ in redirector.requests] == [
        ("POST", "/scep?operation=PKIOperation")]


@pytest.mark.parametrize("redirector", [307, 308], indirect=True)
def test_post_follows_307_and_308(redirector: _Redirector) -> None:
    message = b"pkiMessage" * 100
    transport = HTTPTransport(f"{redirector.base}/scep")

    reply = transport.post_pki_message(message)

    assert reply.body == f"POST {len(message)}".encode()
    assert reply.url == f"{redirector.base}/moved"
    assert redirector.requests[-1] == ("POST", "/moved?operation=PKIOperation", message)


@pytest.mark.parametrize("redirector", [301, 302, 303, 307, 308], indirect=True)
def test_get_follows_redirects(redirector: _Redirector) -> None:
    transport = HTTPTransport(f"{redirector.base}/scep")

    reply = transport.get("GetCACaps")

    assert reply.body == b"GET 0"
    assert reply.url == f"{redirector.base}/moved"
    assert redirector.requests[-1][:2] == ("GET", "/moved?operation=GetCACaps")


@pytest.mark.parametrize("redirector", [302, 307], indirect=True)
def test_redirect_body_is_not_read(redirector: _Redirector) -> None:
    # Far more than the socket buffers of both ends can take in.
    redirector.redirect_body_size = 256 * 1024 * 1024
    transport = HTTPTransport(f"{redirector.base}/scep")

    reply = transport.get("GetCACaps")

    assert reply.body == b"GET 0"
    assert reply.url == f"{redirector.base}/moved"
    assert redirector.redirect_done.wait(30)
    assert redirector.redirect_body_sent < 32 * 1024 * 1024


@pytest.mark.parametrize("redirector", [302], indirect=True)
def test_status_error_names_redirect_target(redirector: _Redirector) -> None:
    redirector.status = 500
    redirector.body = b"boom: db down\n"
    transport = HTTPTransport(f"{redirector.base}/scep")

    with pytest.raises(TransportError) as caught:
        transport.get("GetCACert")

    assert str(caught.value) == (
        f"SCEP GetCACert failed: HTTP 500 from {redirector.base}/moved: boom: db down")
    assert caught.value.status == 500


@pytest.mark.parametrize("redirector", [307], indirect=True)
def test_failure_names_redirect_target(redirector: _Redirector) -> None:
    port = _free_port()
    redirector.location = f"http://127.0.0.1:{port}/scep?operation=PKIOperation"
    transport = HTTPTransport(f"{redirector.base}/scep", connect_timeout=1.0)

    with pytest.raises(TransportError) as caught:
        transport.post_pki_message(b"pkiMessage")

    assert str(caught.value) == (
        f"SCEP PKIOperation failed: connection refused by 127.0.0.1:{port}")
    assert not caught.value.answered


@pytest.mark.parametrize("redirector", [302], indirect=True)
def test_redirect_loop_stops(redirector: _Redirector) -> None:
    redirector.location = "/scep"
    session = new_session()
    session.max_redirects = 3
    transport = HTTPTransport(f"{redirector.base}/scep", session=session)

    with pytest.raises(TransportError) as caught:
        transport.get("GetCACaps")

    assert str(caught.value) == (
        f"SCEP GetCACaps failed: more than 3 redirects, the last to {redirector.base}/scep")
    assert caught.value.status == 302
    assert len(redirector.requests) == 4


@pytest.mark.parametrize(("url", "expected"), [
    ("http://h/scep?operation=GetCACaps", "http://h/scep"),
    ("http://h/scep?operation=PKIOperation&message=AB%2B", "http://h/scep"),
    ("http://h/cgi-bin/pkiclient.exe?ca=2&operation=GetCACert", "http://h/cgi-bin/pkiclient.exe?ca=2"),
    ("http://h/scep", "http://h/scep"),
])
def test_server_url(url: str, expected: str) -> None:
    assert server_url(url) == expected


def _reply_to_every_request(listener: socket.socket, reply: bytes) -> None:
    """Send `reply` on each connection to `listener` once its request head has arrived."""
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                data = connection.recv(65536)
                if not data:
                    break
                request += data
            with contextlib.suppress(OSError):
                connection.sendall(reply)


@pytest.fixture
def raw_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Yield host:port of a server on 127.0.0.1 that replies `request.param` to every request."""
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=_reply_to_every_request, args=(listener, request.param),
                              daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    # Closing alone does not wake a thread that waits in accept().
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join()


EMPTY_LOCATION = (b"HTTP/1.1 302 Found\r\nLocation: \r\nContent-Length: 33\r\n"
                  b"Connection: close\r\n\r\nThe CA moved to /scep2, use that.")


@pytest.mark.parametrize("raw_server", [EMPTY_LOCATION], indirect=True, ids=["empty"])
def test_empty_location_is_status_error(raw_server: str) -> None:
    transport = HTTPTransport(f"http://{raw_server}/scep", read_timeout=5)

    with pytest.raises(TransportError) as caught:
        transport.get("GetCACaps")

    assert str(caught.value) == (
        f"SCEP GetCACaps failed: HTTP 302 from http://{raw_server}/scep: "
        "The CA moved to /scep2, use that.")


INVALID_IPV6 = (b"HTTP/1.1 302 Found\r\nLocation: http://[::1/scep\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n")
PORT_OUT_OF_RANGE = (b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:99999/scep\r\n"
                     b"Content-Length: 0\r\nConnection: close\r\n\r\n")
# A host with terminal escapes and a fullwidth solidus (U+FF0F), which fails
# urllib.parse's NFKC check, whose error text quotes the password.
# A fullwidth "@" (U+FF20), which NFKC turns into "@".
FULLWIDTH_AT = ("HTTP/1.1 302 Found\r\nLocation: http://user:s3cret\uff20127.0.0.1/scep\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n").encode()
NFKC_HOST = ("HTTP/1.1 302 Found\r\nLocation: http://user:s3cret@a\x1bc\x07\uff0fx/scep\r\n"
             "Content-Length: 0\r\nConnection: close\r\n\r\n").encode()


@pytest.mark.parametrize(
    ("raw_server", "user", "location"),
    [
        (INVALID_IPV6, "", "http://[::1/scep"),
        # With a user name and password in the URL, requests compares the
        # ports of both URLs to decide whether to drop the Authorization header.
        (PORT_OUT_OF_RANGE, "user:s3cret@", "http://127.0.0.1:99999/scep"),
        # The message shows the Location as urllib.parse reads it, after NFKC,
        # with control characters as "?".
        (NFKC_HOST, "", "http://a?c?/x/scep"),
        (FULLWIDTH_AT, "", "http://127.0.0.1/scep"),
    ],
    indirect=["raw_server"],
    ids=["ipv6", "port", "nfkc", "fullwidth-at"],
)
def test_invalid_location_is_transport_error(raw_server: str, user: str, location: str) -> None:
    transport = HTTPTransport(f"http://{user}{raw_server}/scep", read_timeout=5)

    with pytest.raises(TransportError) as caught:
        transport.get("GetCACaps")

    assert str(caught.value) == (
        f"SCEP GetCACaps failed: HTTP 302 from http://{raw_server}/scep redirects to an "
        f"invalid URL: {location}")
    assert caught.value.status == 302
