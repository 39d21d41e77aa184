"""Session lifetime: close-session, kill-session, and cleanup after an abrupt drop."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time

import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError
from ncclient.transport.errors import TransportError

from tests.fixtures.agent import RunningAgent
from tests.netconf.log_wait import log_contains
from tests.netconf.raw_client import (
    BASE_1_0,
    BASE_NS,
    END_OF_MESSAGE,
    RawClient,
    rpc,
)

needs_rpc_layer = pytest.mark.skipif(
    importlib.util.find_spec("agent.netconf.rpc") is None,
    reason="lock and kill-session are operations of agent.netconf.rpc, which is missing",
)

CLEANUP_DEADLINE = 10.0
CPU_WINDOW = 2.0
MAX_IDLE_CPU_SECONDS = 0.5
"""CPU seconds an idle agent may use in CPU_WINDOW; a busy loop would use about 2."""


def process_cpu_seconds(pid: int) -> float:
    """Return user plus system CPU time of a process from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of proc(5), counted after the ")" that ends field 2.
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / os.sysconf("SC_CLK_TCK")


def lock_with_retry(agent: RunningAgent) -> str:
    """Lock running from a new session, retrying while the old lock is being released."""
    deadline = time.monotonic() + CLEANUP_DEADLINE
    with agent.connect() as session:
        while True:
            try:
                session.lock("running")
            except RPCError as exc:
                if exc.tag != "lock-denied" or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
                continue
            session.unlock("running")
            return str(session.session_id)


def test_close_session_ends_session(agent: RunningAgent) -> None:
    session = agent.connect()
    session.close_session()
    assert not session.connected
    assert log_contains(agent, "session closed (close-session)")


@needs_rpc_layer
def test_kill_session_ends_target_only(agent: RunningAgent) -> None:
    with agent.connect() as killer:
        target = agent.connect()
        killer.kill_session(target.session_id)
        deadline = time.monotonic() + CLEANUP_DEADLINE
        while target.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not target.connected
        assert killer.connected
        reply = killer.get_config("running")
        assert reply.ok
    assert log_contains(agent, f"[session={target.session_id} user=admin] session closed (killed)")


@needs_rpc_layer
def test_kill_session_releases_target_lock(agent: RunningAgent) -> None:
    with agent.connect() as killer:
        target = agent.connect()
        target.lock("running")
        with pytest.raises(RPCError) as denied:
            killer.lock("running")
        assert denied.value.tag == "lock-denied"
        killer.kill_session(target.session_id)
        killer.lock("running")
        killer.unlock("running")


@needs_rpc_layer
def test_kill_own_session_invalid(agent: RunningAgent) -> None:
    with agent.connect() as session:
        with pytest.raises(RPCError) as error:
            session.kill_session(session.session_id)
        assert error.value.tag == "invalid-value"
        assert session.connected


@needs_rpc_layer
def test_kill_session_then_rpc_on_target_fails(agent: RunningAgent) -> None:
    with agent.connect() as killer:
        target = agent.connect()
        killer.kill_session(target.session_id)
        with pytest.raises((TransportError, RPCError, OSError)):
            target.get_config("running")


async def lock_and_drop(agent: RunningAgent) -> bytes:
    client = await RawClient.open(agent)
    await client.start(BASE_1_0)
    client.send(rpc("<lock><target><running/></target></lock>") + END_OF_MESSAGE)
    reply = await client.read_until(END_OF_MESSAGE)
    client.drop()
    return reply


@needs_rpc_layer
def test_abrupt_drop_releases_lock_and_cpu(agent: RunningAgent) -> None:
    reply = asyncio.run(lock_and_drop(agent))
    document = etree.fromstring(reply[: -len(END_OF_MESSAGE)])
    assert document.find(f"{{{BASE_NS}}}ok") is not None
    lock_with_retry(agent)
    assert agent.proc is not None
    before = process_cpu_seconds(agent.proc.pid)
    time.sleep(CPU_WINDOW)
    used = process_cpu_seconds(agent.proc.pid) - before
    assert used < MAX_IDLE_CPU_SECONDS
    assert log_contains(agent, "session closed (dropped)")


def test_abrupt_drop_mid_message_leaves_cpu_idle(agent: RunningAgent) -> None:
    async def drop_mid_message() -> None:
        client = await RawClient.open(agent)
        await client.start(BASE_1_0)
        client.send(b"<rpc xmlns='" + BASE_NS.encode() + b"' message-id='1'><get")
        await asyncio.sleep(0.2)
        client.drop()

    asyncio.run(drop_mid_message())
    assert log_contains(agent, "session closed (dropped)")
    assert agent.proc is not None
    before = process_cpu_seconds(agent.proc.pid)
    time.sleep(CPU_WINDOW)
    assert process_cpu_seconds(agent.proc.pid) - before < MAX_IDLE_CPU_SECONDS
    with agent.connect() as session:
        assert session.connected
