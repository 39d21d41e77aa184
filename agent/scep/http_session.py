"""The requests session of the SCEP transport: request head and short body in one write.

urllib3 writes the head of a request with one send call and its body with
another.  A relay or proxy that forwards each piece as it arrives, with
Nagle's algorithm on towards the server, then delays the body until the
server acknowledges the head, and the server delays that acknowledgement
(by about 40 ms on Linux, measured on loopback).  A pkiMessage is a few
kilobytes, so the session here joins a body of up to `JOINED_BODY_LIMIT`
bytes to its head and sends both with one write.
"""

from __future__ import annotations

from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

JOINED_BODY_LIMIT = 64 * 1024
"""Largest body, in bytes, that is sent in the same write as the request head."""


class _JoinedWrites:
    """Connection mix-in: hold the head that ``endheaders`` sends and send it with the body."""

    _join = False
    _head: bytes | None = None

    def request(self, method: str, url: str, body: Any = None, *args: Any, **kwargs: Any) -> None:
        self._join = isinstance(body, bytes) and 0 < len(body) <= JOINED_BODY_LIMIT
        try:
            super().request(method, url, body, *args, **kwargs)  # type: ignore[misc]
            if self._head is not None:  # no body write followed the head
                head, self._head = self._head, None
                super().send(head)  # type: ignore[misc]
        finally:
            self._join = False
            self._head = None

    def send(self, data: Any) -> None:
        if self._join:
            if self._head is None:
                self._head = bytes(data)
                return
            data = self._head + bytes(data)
            self._join = False
            self._head = None
        super().send(data)  # type: ignore[misc]


class _JoinedHTTPConnection(_JoinedWrites, HTTPConnection):
    pass


class _JoinedHTTPSConnection(_JoinedWrites, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _JoinedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _JoinedHTTPSConnection


_POOL_CLASSES = {"http": _HTTPPool, "https": _HTTPSPool}


class JoinedWritesAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections send a request head and short body in one write.

    Connections through a SOCKS proxy keep urllib3's own classes.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


def new_session() -> requests.Session:
    """Return a requests session that uses `JoinedWritesAdapter` for http and https."""
    session = requests.Session()
    adapter = JoinedWritesAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
