"""HTTP transport for SCEP operations (RFC 8894 §4.1) on requests."""

from __future__ import annotations

import base64
import contextlib
import logging
import unicodedata
from dataclasses import dataclass
from functools import partial
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import urllib3
from requests.utils import select_proxy

from agent.scep.algorithms import CONNECT_TIMEOUT, READ_TIMEOUT
from agent.scep.errors import TransportError
from agent.scep.http_session import new_session
from agent.scep.transport_errors import describe_failure, describe_status, printable
from agent.scep.urls import display_url

logger = logging.getLogger(__name__)

PKI_MESSAGE_TYPE = "application/x-pki-message"

# Bodies above this size are cut off; no SCEP reply comes near it.
MAX_REPLY_SIZE = 4 * 1024 * 1024

# A Location longer than this is cut in error messages.
_MAX_LOCATION_TEXT = 120

# The query parameters that `operation_url` adds to the server URL.
_SCEP_PARAMETERS = ("operation", "message")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP 200 reply: body, declared content type, and the server URL that sent it.

    `url` differs from the configured URL when the request followed a redirect.
    """

    body: bytes
    content_type: str
    url: str


def encode_get_message(message: bytes) -> str:
    """Encode a PKIOperation message for GET: standard base64 with ``+/=`` percent-encoded."""
    return quote(base64.b64encode(message).decode("ascii"), safe="")


def operation_url(url: str, operation: str, message: str | None = None) -> str:
    """Build ``URL?operation=OP[&message=M]``; `message` must already be URL-encoded."""
    separator = "&" if "?" in url else "?"
    target = f"{url}{separator}operation={operation}"
    if message is not None:
        target += f"&message={message}"
    return target


def server_url(url: str) -> str:
    """Return `url` without the ``operation`` and ``message`` parameters of `operation_url`."""
    parts = urlsplit(url)
    parameters = [item for item in parts.query.split("&")
                  if item and item.partition("=")[0] not in _SCEP_PARAMETERS]
    return urlunsplit(parts._replace(query="&".join(parameters)))


class HTTPTransport:
    """Sends SCEP operations to one server URL with connect and read timeouts.

    GET requests follow every redirect.  A POST follows only 307 and 308,
    which keep the method and body.  On 301, 302 and 303 requests turns a
    POST into a GET without a body, so the server would get a PKIOperation
    without its pkiMessage.
    """

    def __init__(
        self,
        url: str,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or new_session()

    def get(self, operation: str, message: str | None = None) -> Reply:
        """Send a GET for `operation`; `message` is sent URL-encoded as given."""
        target = operation_url(self.url, operation, message)
        return self._send(operation, "GET", target, None)

    def post_pki_message(self, message: bytes) -> Reply:
        """POST a pkiMessage as ``application/x-pki-message``."""
        target = operation_url(self.url, "PKIOperation")
        return self._send("PKIOperation", "POST", target, message)

    def get_pki_message(self, message: bytes) -> Reply:
        """Send a pkiMessage in a GET query as base64 (RFC 8894 §4.1)."""
        return self.get("PKIOperation", encode_get_message(message))

    def _send(self, operation: str, method: str, target: str, body: bytes | None) -> Reply:
        headers = {"Content-Type": PKI_MESSAGE_TYPE} if body is not None else {}
        logger.debug("SCEP %s %s %s", method, operation, display_url(self.url))
        # The redirects that the hook closed, the latest last.  The hook reaches
        # the requests that follow redirects too, because requests copies the
        # hooks into each of them.
        redirects: list[requests.Response] = []
        request: requests.Request | requests.PreparedRequest = requests.Request(
            method, target, data=body, headers=headers,
            hooks={"response": [partial(_close_redirect, redirects)]})
        url = self.url
        for _ in range(self.session.max_redirects + 1):
            response, content, proxy = self._exchange(operation, request, url, redirects)
            if response.next is None:
                return self._reply(operation, response, content, url, proxy)
            request = self._follow(operation, response)
            url = server_url(str(request.url))
        raise TransportError(
            operation, self.url,
            f"more than {self.session.max_redirects} redirects, the last to {display_url(url)}",
            status=response.status_code,
        )

    def _exchange(self, operation: str, request: requests.Request | requests.PreparedRequest,
                  url: str, redirects: list[requests.Response],
                  ) -> tuple[requests.Response, bytes, str | None]:
        """Send one request without following a redirect, and read its body.

        `url` is the server URL that the request goes to, for error text, and
        `redirects` the list that the request's redirect hook appends to.
        Return the response, its body and the proxy URL that the request
        went through, or None for a direct connection.
        """
        proxy = None
        redirects_before = len(redirects)
        try:
            if isinstance(request, requests.Request):
                request = self.session.prepare_request(request)
            # The same proxy, TLS and stream settings that Session.request applies.
            # They include HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the environment.
            settings = self.session.merge_environment_settings(
                request.url, {}, stream=True, verify=None, cert=None)
            # HTTPAdapter.send selects the proxy for the URL the same way.
            proxy = select_proxy(str(request.url), settings["proxies"])
            response = self.session.send(
                request, allow_redirects=False, timeout=self.timeout, **settings)
            # The body is read through urllib3, whose errors requests does not wrap.
            # A redirect's connection is closed already, and its body is never used.
            content = b"" if _is_followed_redirect(response) else response.raw.read(
                MAX_REPLY_SIZE + 1, decode_content=True)
            response.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            reason = describe_failure(exc, url, *self.timeout, proxy=proxy)
            raise TransportError(operation, self.url, reason) from exc
        except ValueError as exc:
            # urllib.parse raises it while requests builds the request that
            # follows a redirect whose Location is not a valid URL, such as one
            # with a port above 65535.  Its text may quote the whole host part,
            # password included, so the message shows the Location instead.
            if len(redirects) == redirects_before:
                raise
            redirect = redirects[-1]
            location = printable(display_url(_location_as_requests_reads_it(redirect)))
            if len(location) > _MAX_LOCATION_TEXT:
                location = location[:_MAX_LOCATION_TEXT] + "..."
            raise TransportError(
                operation, self.url,
                f"HTTP {redirect.status_code} from {display_url(url)} redirects to an "
                f"invalid URL: {location}",
                status=redirect.status_code,
            ) from exc
        return response, content, proxy

    def _follow(self, operation: str, response: requests.Response) -> requests.PreparedRequest:
        """Return the request that follows the redirect in `response`, ready to send.

        Raise TransportError if requests changed its method, because a POST
        turned into a GET on 301, 302 or 303 has lost its pkiMessage.
        """
        request, next_request = response.request, response.next
        assert next_request is not None  # the caller checked that `response` is a redirect
        location = display_url(server_url(str(next_request.url)))
        logger.debug("SCEP %s %s redirected (HTTP %d) to %s", request.method, operation,
                     response.status_code, location)
        if next_request.method != request.method:
            raise TransportError(
                operation, self.url,
                f"HTTP {response.status_code} redirects the {request.method} to {location}, "
                f"where it would arrive as a {next_request.method} without the pkiMessage. "
                f"Use {location} as the server URL",
                status=response.status_code,
            )
        # The adapter adds Proxy-Authorization for the proxy that the next request
        # goes through.  requests set one from the previous request's proxy settings,
        # and it would reach the server itself when NO_PROXY sends the request there
        # directly.
        next_request.headers.pop("Proxy-Authorization", None)
        return next_request

    def _reply(self, operation: str, response: requests.Response, content: bytes,
               url: str, proxy: str | None) -> Reply:
        """Return the reply to a request, or raise TransportError for a bad status or size."""
        if len(content) > MAX_REPLY_SIZE:
            raise TransportError(
                operation,
                self.url,
                f"reply from {display_url(url)} larger than {MAX_REPLY_SIZE} bytes",
                answered=True,
            )
        if response.status_code != 200:
            # A proxy relays a plain-HTTP request and may send an error reply itself.
            # Through a CONNECT tunnel, the reply comes from the server over TLS.
            relay = proxy if urlsplit(str(response.url)).scheme == "http" else None
            reason = describe_status(response.status_code, url, content, relay)
            raise TransportError(operation, self.url, reason, status=response.status_code)
        return Reply(content, response.headers.get("Content-Type", ""), url)

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()


def _location_as_requests_reads_it(response: requests.Response) -> str:
    """Return the Location of `response` as requests and urllib.parse read it.

    http.client decodes header bytes as Latin-1, and requests decodes them
    again as UTF-8.  urllib.parse then applies NFKC to the host part, which
    turns a fullwidth "@" into "@".
    """
    location = response.headers["Location"]
    with contextlib.suppress(UnicodeError):  # not UTF-8: keep the Latin-1 text
        location = location.encode("latin-1").decode("utf-8")
    return unicodedata.normalize("NFKC", location)


def _is_followed_redirect(response: requests.Response) -> bool:
    """Tell whether requests follows `response`: a redirect status with a Location."""
    return response.is_redirect and bool(response.headers.get("Location"))


def _close_redirect(
    redirects: list[requests.Response], response: requests.Response, **_: object
) -> None:
    """Close the connection of a redirect before requests reads its body; add it to `redirects`.

    Session.send (requests 2.34) reads the whole body of a redirect, however
    large, before it builds the request that follows it, and it runs the
    response hooks first.  The transport needs only the Location header, and a
    closed connection leaves nothing to read, so the next request opens a new
    connection.
    """
    if _is_followed_redirect(response):
        response.raw.close()
        redirects.append(response)
