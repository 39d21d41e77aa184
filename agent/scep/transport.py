"""HTTP transport for SCEP operations (RFC 8894 §4.1) on requests."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from urllib.parse import quote

import requests
import urllib3

from agent.scep.algorithms import CONNECT_TIMEOUT, READ_TIMEOUT
from agent.scep.errors import TransportError
from agent.scep.http_session import new_session
from agent.scep.transport_errors import describe_failure, describe_status, display_url

logger = logging.getLogger(__name__)

PKI_MESSAGE_TYPE = "application/x-pki-message"

# Bodies above this size are cut off; no SCEP reply comes near it.
MAX_REPLY_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP 200 reply: body and declared content type."""

    body: bytes
    content_type: str


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


class HTTPTransport:
    """Sends SCEP operations to one server URL with connect and read timeouts."""

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
        try:
            response = self.session.request(
                method, target, data=body, headers=headers, timeout=self.timeout, stream=True
            )
            # The body is read through urllib3, whose errors requests does not wrap.
            content = response.raw.read(MAX_REPLY_SIZE + 1, decode_content=True)
            response.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            reason = describe_failure(exc, self.url, *self.timeout)
            raise TransportError(operation, self.url, reason) from exc
        if len(content) > MAX_REPLY_SIZE:
            raise TransportError(
                operation,
                self.url,
                f"reply from {display_url(self.url)} larger than {MAX_REPLY_SIZE} bytes",
                answered=True,
            )
        if response.status_code != 200:
            reason = describe_status(response.status_code, self.url, content)
            raise TransportError(operation, self.url, reason, status=response.status_code)
        return Reply(content, response.headers.get("Content-Type", ""))

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

