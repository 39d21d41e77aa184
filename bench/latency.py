"""Per-call NETCONF latency: get-config, and edit-config on the candidate plus commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bench import workload
from bench.netconf_client import ClientTarget, NetconfClient, is_ok_reply
from bench.stats import Summary, summarize

log = logging.getLogger(__name__)

LATENCY_ENROLLMENTS = 10
"""Enrollments in the configuration that the latency benchmark runs against."""


class BenchmarkRPCError(RuntimeError):
    """A server replied to a benchmark RPC with rpc-error, so its timings are void."""

    def __init__(self, body: str, reply: str) -> None:
        super().__init__(f"rpc-error for {body[:120]!r}: {reply[:600]}")
        self.body = body
        self.reply = reply


@dataclass(frozen=True, slots=True)
class LatencyFigures:
    """Summaries of one server's per-call latency, in seconds."""

    get_config: Summary
    edit_config: Summary
    commit: Summary
    edit_commit: Summary


async def checked_rpc(client: NetconfClient, body: str) -> tuple[float, str]:
    """Send one RPC, raise on rpc-error, and return (seconds, reply)."""
    elapsed, reply = await client.timed_rpc(body)
    if not is_ok_reply(reply):
        raise BenchmarkRPCError(body, reply)
    return elapsed, reply


async def load_config(client: NetconfClient, config: str) -> float:
    """Replace the candidate with ``config`` and commit; return the seconds taken."""
    edit, _ = await checked_rpc(client, workload.replace_config(config))
    commit, _ = await checked_rpc(client, workload.COMMIT)
    return edit + commit


async def time_calls(
    client: NetconfClient, make_body: Callable[[int], str], count: int
) -> list[float]:
    """Send ``count`` RPCs built by ``make_body(i)`` one after another; return their times."""
    samples = []
    for iteration in range(count):
        elapsed, _ = await checked_rpc(client, make_body(iteration))
        samples.append(elapsed)
    return samples


async def time_edit_commit(
    client: NetconfClient, index: int, count: int, first_iteration: int = 0
) -> tuple[list[float], list[float]]:
    """Edit one enrollment and commit, ``count`` times; return edit and commit times."""
    edits, commits = [], []
    for iteration in range(first_iteration, first_iteration + count):
        edit, _ = await checked_rpc(client, workload.one_entry_edit(index, iteration))
        commit, _ = await checked_rpc(client, workload.COMMIT)
        edits.append(edit)
        commits.append(commit)
    return edits, commits


async def measure_latency(target: ClientTarget, calls: int, warmup: int) -> LatencyFigures:
    """Load the latency configuration, warm up, then time ``calls`` calls of each kind."""
    client = NetconfClient(target)
    await client.connect()
    try:
        await load_config(client, workload.pki_config(LATENCY_ENROLLMENTS))
        await time_calls(client, lambda _: workload.GET_CONFIG, warmup)
        await time_edit_commit(client, 0, warmup, first_iteration=-warmup)
        get_config = await time_calls(client, lambda _: workload.GET_CONFIG, calls)
        edits, commits = await time_edit_commit(client, 0, calls)
    finally:
        await client.close()
    return _figures(get_config, edits, commits)


LATENCY_BLOCK = 20
"""Calls in a row to one server before the interleaved benchmark moves to the next."""


def _figures(get_config: list[float], edits: list[float], commits: list[float]) -> LatencyFigures:
    pairs = [edit + commit for edit, commit in zip(edits, commits, strict=True)]
    return LatencyFigures(
        get_config=summarize(get_config),
        edit_config=summarize(edits),
        commit=summarize(commits),
        edit_commit=summarize(pairs),
    )


async def measure_interleaved(
    targets: dict[str, ClientTarget], calls: int, warmup: int, block: int = LATENCY_BLOCK
) -> dict[str, LatencyFigures]:
    """Time several servers in alternating blocks of calls, so load drift hits all alike.

    Every server first gets its get-config calls, then its edit-config and
    commit calls, as in `measure_latency`.
    """
    clients = {name: NetconfClient(target) for name, target in targets.items()}
    samples: dict[str, dict[str, list[float]]] = {
        name: {"get": [], "edit": [], "commit": []} for name in clients
    }
    try:
        for client in clients.values():
            await client.connect()
            await load_config(client, workload.pki_config(LATENCY_ENROLLMENTS))
            await time_calls(client, lambda _: workload.GET_CONFIG, warmup)
            await time_edit_commit(client, 0, warmup, first_iteration=-warmup)
        for start in range(0, calls, block):
            for name, client in clients.items():
                count = min(block, calls - start)
                samples[name]["get"] += await time_calls(
                    client, lambda _: workload.GET_CONFIG, count
                )
        for start in range(0, calls, block):
            for name, client in clients.items():
                count = min(block, calls - start)
                edits, commits = await time_edit_commit(client, 0, count, first_iteration=start)
                samples[name]["edit"] += edits
                samples[name]["commit"] += commits
    finally:
        for client in clients.values():
            await client.close()
    return {
        name: _figures(series["get"], series["edit"], series["commit"])
        for name, series in samples.items()
    }
