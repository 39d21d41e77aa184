"""The server's TCP sockets, bound before anything else starts so that a busy port fails early."""

from __future__ import annotations

import errno
import socket

from agent.errors import AgentError

_ADDRESS_HINT = "choose an address of this host for --listen"
_HINTS = {
    errno.EADDRINUSE: "choose another --port",
    errno.EADDRNOTAVAIL: _ADDRESS_HINT,
    errno.EACCES: "choose a --port above 1023 or run as a user allowed to bind it",
}


class ListenError(AgentError):
    """The server cannot listen on `host` and `port`, for the system's error text `reason`."""

    def __init__(self, host: str, port: int, reason: str, hint: str | None) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        self.hint = hint
        message = f"cannot listen on {host} port {port}: {reason}"
        super().__init__(f"{message}; {hint}" if hint else message)

    @classmethod
    def from_os_error(cls, host: str, port: int, exc: OSError) -> ListenError:
        """Build the error from a failed ``getaddrinfo``, ``socket`` or ``bind`` call."""
        reason = exc.strerror or str(exc)
        if isinstance(exc, socket.gaierror):
            hint: str | None = _ADDRESS_HINT
        else:
            hint = _HINTS.get(exc.errno) if exc.errno is not None else None
        return cls(host, port, reason[:1].lower() + reason[1:], hint)


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Bind one TCP socket to each address of `host`, as `asyncio` does for a server.

    The sockets do not listen yet, so the kernel refuses connections until the
    server starts on them.  An empty `host` means every address.  With port 0
    the later sockets take the port that the kernel chose for the first one,
    so that the server has one port.

    Raises:
        ListenError: `host` does not resolve, or an address cannot be bound.
    """
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise ListenError.from_os_error(host, port, exc) from exc
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = _open(family, kind, proto)
            if sock is None:
                continue
            sockets.append(sock)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            _bind(sock, family, address)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ListenError.from_os_error(host, port, exc) from exc
    if not sockets:
        raise ListenError(host, port, "no socket can be opened for any of its addresses", None)
    return sockets


def _open(family: int, kind: int, proto: int) -> socket.socket | None:
    """Open a socket, or return None when this host lacks the address family, as asyncio does."""
    try:
        return socket.socket(family, kind, proto)
    except OSError:
        return None


def _bind(sock: socket.socket, family: int, address: tuple[object, ...]) -> None:
    # The same options as asyncio's create_server: a restart may bind while
    # old connections are in TIME_WAIT, and an IPv6 socket leaves the IPv4
    # addresses to their own socket.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(address)
