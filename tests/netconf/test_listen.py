"""Binding the server's TCP sockets: errors with their fix, and one port for every address."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from agent.netconf.listen import ListenError, bind_sockets

HOST = "127.0.0.1"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """Return a port on 127.0.0.1 that another socket listens on."""
    with socket.create_server((HOST, 0)) as listener:
        yield int(listener.getsockname()[1])


def test_bind_busy_port_names_fix(busy_port: int) -> None:
    with pytest.raises(ListenError) as caught:
        bind_sockets(HOST, busy_port)

    assert caught.value.port == busy_port
    assert caught.value.reason == "address already in use"
    assert str(caught.value) == (
        f"cannot listen on {HOST} port {busy_port}: address already in use; choose another --port"
    )


def test_bind_foreign_address_names_fix() -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): no interface of this host has it,
    # and binding sends nothing.
    with pytest.raises(ListenError) as caught:
        bind_sockets("192.0.2.1", 0)

    assert caught.value.reason == "cannot assign requested address"
    assert caught.value.hint == "choose an address of this host for --listen"


def test_bound_socket_refuses_until_listening() -> None:
    sockets = bind_sockets(HOST, 0)
    try:
        port = sockets[0].getsockname()[1]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=5).close()
    finally:
        for sock in sockets:
            sock.close()


def test_bind_every_address_shares_port_zero() -> None:
    sockets = bind_sockets("", 0)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1
        assert ports != {0}
    finally:
        for sock in sockets:
            sock.close()
