"""Short operator text for failed HTTP exchanges, such as "connection refused by HOST:PORT".

requests wraps the cause of a failure in several urllib3 and socket
exceptions, whose text repeats the pool, the retry count and object
addresses.  The server status shows the reason to operators, so it names
only the cause and the host.  When the request went through an HTTP proxy,
the text names the proxy if the proxy failed, and adds it otherwise.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import requests
import urllib3

from agent.scep.urls import display_url, redact_userinfo

# Cut the first line of an error body here, so a status message stays one short line.
MAX_BODY_EXCERPT = 120

# http.client raises OSError with this text when a proxy replies to CONNECT with a
# status other than 200 (CPython 3.11 HTTPConnection._tunnel, and urllib3 2's copy).
_TUNNEL_FAILED = "Tunnel connection failed: "

# RFC 9110 §15.5.8: only a proxy sends 407 Proxy Authentication Required.
_PROXY_AUTHENTICATION_REQUIRED = 407


def host_port(url: str) -> str:
    """Return ``HOST:PORT`` of a URL, with the scheme's default port when none is given."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return display_url(url)
    host = parts.hostname or display_url(url)
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


def _proxy_url(proxy: str) -> str:
    """Return `proxy` with "//" before a proxy set without a scheme, such as ``user:pw@host:3128``.

    urlsplit reads the host and the user name and password of such a proxy
    only after a "//".
    """
    return proxy if "//" in proxy else "//" + proxy


def _hostname(url: str) -> str:
    try:
        return urlsplit(url).hostname or display_url(url)
    except ValueError:
        return display_url(url)


def printable(text: str) -> str:
    """Replace characters that are not printable, such as terminal escapes, with "?"."""
    return "".join(char if char.isprintable() else "?" for char in text)


def describe_status(status: int, url: str, body: bytes, proxy: str | None = None) -> str:
    """Return ``HTTP STATUS from URL: FIRST LINE`` for a reply that is not 200 OK.

    Characters that are not printable become "?", because the line comes
    from the server and ends up in logs and the CLI.  `proxy` is the HTTP
    proxy that relayed a plain-HTTP request.  The proxy may have sent the
    reply itself, and nothing in a reply shows that reliably, so the text
    adds ``(through proxy HOST:PORT)``.  A 407 always names the proxy.
    """
    source = display_url(url)
    if proxy is not None:
        proxy = _proxy_url(proxy)
        if status == _PROXY_AUTHENTICATION_REQUIRED:
            source = f"proxy {host_port(proxy)}"
        else:
            source += f" (through proxy {host_port(proxy)})"
    lines = body.decode("utf-8", "replace").splitlines()
    first = printable(next((line.strip() for line in lines if line.strip()), ""))
    if not first:
        return f"HTTP {status} from {source} with an empty body"
    if len(first) > MAX_BODY_EXCERPT:
        first = first[:MAX_BODY_EXCERPT] + "..."
    return f"HTTP {status} from {source}: {first}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield `exc` and every exception it wraps: causes, contexts, reasons and arguments."""
    pending = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None),
                  *current.args]
        pending.extend(item for item in linked if isinstance(item, BaseException))


def _is_dns_failure(exc: BaseException) -> bool:
    return isinstance(exc, (urllib3.exceptions.NameResolutionError, socket.gaierror))


def _is_refused(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionRefusedError)


def _is_connect_timeout(exc: BaseException) -> bool:
    # urllib3 2 derives NewConnectionError, a failed connection, from ConnectTimeoutError.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(exc, (requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError))


def _is_read_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError,
                            TimeoutError))


def _is_reset(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionResetError)


def _is_tls_failure(exc: BaseException) -> bool:
    return isinstance(exc, ssl.SSLError)


def _is_os_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and bool(exc.strerror)


def _is_proxy_failure(exc: BaseException) -> bool:
    """Return whether `exc` is the error for a proxy that was unreachable or refused a tunnel."""
    return isinstance(exc, (requests.exceptions.ProxyError, urllib3.exceptions.ProxyError))


def _is_tunnel_refusal(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and str(exc).startswith(_TUNNEL_FAILED)


# The first entry that matches any exception in the chain wins, so a refused
# connection is reported as refused and not by the text of its wrappers.
_CAUSES: tuple[tuple[Callable[[BaseException], bool], str], ...] = (
    (_is_dns_failure, "DNS lookup of {hostname} failed"),
    (_is_refused, "connection refused by {host}"),
    (_is_connect_timeout, "timed out after {connect:g} s connecting to {host}"),
    (_is_read_timeout, "timed out after {read:g} s waiting for a reply from {host}"),
    (_is_reset, "connection reset by {host}"),
    (_is_tls_failure, "TLS with {host} failed: {detail}"),
    (_is_os_error, "connection to {host} failed: {detail}"),
)

# The causes for a request whose proxy failed, where {host} and {hostname}
# are the proxy's with "proxy " before them.
_PROXY_CAUSES: tuple[tuple[Callable[[BaseException], bool], str], ...] = (
    (_is_tunnel_refusal, "{host} refused the tunnel: {detail}"),
    *_CAUSES,
)


def _detail(exc: BaseException) -> str:
    """Return the short cause of one exception: strerror, the TLS reason or its first line.

    A refused tunnel gives the proxy's status line, such as ``HTTP 403 Forbidden``.
    """
    if _is_tunnel_refusal(exc):
        return "HTTP " + printable(str(exc).removeprefix(_TUNNEL_FAILED))
    short = getattr(exc, "strerror", None) or getattr(exc, "reason", None)
    if isinstance(short, str) and short:
        return short
    lines = str(exc).splitlines()
    first = lines[0][:MAX_BODY_EXCERPT] if lines else ""
    return first or type(exc).__name__


def describe_failure(exc: BaseException, url: str, connect_timeout: float,
                     read_timeout: float, proxy: str | None = None) -> str:
    """Return short operator text for an exception that requests or urllib3 raised.

    `proxy` is the proxy URL that the request went through.  When the proxy
    failed, such as a refused connection or tunnel, the text names the
    proxy.  Any other failure names the server and adds the proxy.
    """
    chain = list(_chain(exc))
    timeouts = {"connect": connect_timeout, "read": read_timeout}
    if proxy is not None:
        proxy = _proxy_url(proxy)
    if proxy is not None and any(_is_proxy_failure(item) for item in chain):
        text = _describe_cause(chain, _PROXY_CAUSES, "request through {host} failed",
                               proxy, timeouts, "proxy ")
    else:
        text = _describe_cause(chain, _CAUSES, "request to {host} failed", url, timeouts)
        if proxy is not None:
            text += f" (through proxy {host_port(proxy)})"
    text = redact_userinfo(text, url)
    return redact_userinfo(text, proxy) if proxy is not None else text


def _describe_cause(chain: list[BaseException],
                    causes: tuple[tuple[Callable[[BaseException], bool], str], ...],
                    fallback: str, url: str, timeouts: dict[str, float],
                    label: str = "") -> str:
    """Fill in the template of the first cause in `causes` that matches the chain.

    `url` is the server or proxy that the text names, with `label` before it.
    """
    fields = {"host": label + host_port(url), "hostname": label + _hostname(url), **timeouts}
    for matches, template in causes:
        for item in chain:
            if matches(item):
                return template.format(detail=_detail(item), **fields)
    # Anything else, such as an invalid URL or a broken reply, keeps its own first line.
    return f"{fallback.format(**fields)}: {_detail(chain[-1])}"
