"""Scale series: 10, 100 and 1,000 enrollments with the state of as many certificates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bench import workload
from bench.agent_peer import (
    STATE_SERVE_COMMAND,
    AgentPeer,
    start_agent,
    wait_for_hello,
)
from bench.context import BenchResult, Context
from bench.latency import checked_rpc, load_config, time_calls, time_edit_commit
from bench.netconf_bench import netconfd_memory_rows
from bench.netconf_client import NetconfClient
from bench.processes import memory_kib
from bench.report import Target, check, ms, section, table
from bench.stats import Summary, summarize

log = logging.getLogger(__name__)

SIZES = (10, 100, 1000)
OPERATIONS: dict[str, Callable[[int], str]] = {
    "get-config": lambda _: workload.GET_CONFIG,
    "get /pki": lambda _: workload.GET_PKI,
    "get one enrollment": lambda size: workload.filtered_get(size // 2),
}
EDIT_COMMIT = "edit one entry + commit"
TARGET_MS = {EDIT_COMMIT: 20.0, "get /pki": 250.0, "get one enrollment": 5.0}
"""Median latency targets at 1,000 enrollments, in milliseconds."""


@dataclass(frozen=True, slots=True)
class SizeFigures:
    """Latency of each operation at one configuration size, and the full get's size."""

    enrollments: int
    load_seconds: float
    operations: dict[str, Summary]
    get_reply_bytes: int
    certificate_rows: int


def _constant(body: str) -> Callable[[int], str]:
    return lambda _: body


async def _measure_size(client: NetconfClient, size: int, calls: int) -> SizeFigures:
    load_seconds = await load_config(client, workload.pki_config(size))
    _, full_get = await checked_rpc(client, workload.GET_PKI)
    operations = {}
    for name, make_body in OPERATIONS.items():
        body = make_body(size)
        await time_calls(client, _constant(body), 2)
        operations[name] = summarize(await time_calls(client, _constant(body), calls))
    edits, commits = await time_edit_commit(client, size // 2, calls)
    operations[EDIT_COMMIT] = summarize([e + c for e, c in zip(edits, commits, strict=True)])
    rows = full_get.count("<certificate>") + full_get.count(":certificate>") // 2
    return SizeFigures(size, load_seconds, operations, len(full_get.encode()), rows)


async def measure_scale(peer: AgentPeer, calls: int) -> list[SizeFigures]:
    """Measure every size in ``SIZES`` on one session, growing the configuration."""
    await wait_for_hello(peer)
    client = NetconfClient(peer.target)
    await client.connect()
    try:
        return [await _measure_size(client, size, calls) for size in SIZES]
    finally:
        await client.close()


def _scale_table(series: list[SizeFigures]) -> str:
    header = ["enrollments", "load (edit+commit) ms"]
    for name in [*OPERATIONS, EDIT_COMMIT]:
        header += [f"{name} median ms", f"{name} p90 ms"]
    header += ["get /pki reply KiB", "certificate rows"]
    rows = []
    for figures in series:
        row = [str(figures.enrollments), ms(figures.load_seconds)]
        for summary in figures.operations.values():
            row += [ms(summary.median), ms(summary.p90)]
        row += [f"{figures.get_reply_bytes / 1024:.0f}", str(figures.certificate_rows)]
        rows.append(row)
    return table(header, rows)


def _scale_targets(series: list[SizeFigures] | None) -> tuple[Target, ...]:
    largest = series[-1].operations if series else None
    return tuple(
        check(
            f"{name} at {SIZES[-1]} enrollments",
            limit,
            largest[name].median * 1000 if largest else None,
            " ms",
            "Scale",
        )
        for name, limit in TARGET_MS.items()
    )


SCALE_METHOD = (
    "One session; for each size the running configuration is replaced (edit-config "
    "with default-operation replace, then commit), then each operation runs {calls} "
    "timed calls after 2 warm-up calls. The filtered get selects one enrollment by "
    "name with a subtree filter; the one-entry edit changes its `dn`.\n\n"
    "The state (one `pub` and one `key` row per enrollment, the CA row, the "
    "enrollment and server state) comes from a state provider registered in the agent "
    "process by `bench/agent_with_state.py`, which serves recorded state shaped like "
    "the daemon's. Enrolling 1,000 certificates for real would measure RSA key "
    "generation and the CA rather than the NETCONF get path, and the enrollment "
    "section measures those separately. The enrollment daemon is off in this process "
    "because its own state provider would add a second copy of the state to every get. "
    "These commits therefore do not run the daemon's commit subscriber, but the latency "
    "section's agent runs with the daemon.\n\n"
)


def scale_benchmark(context: Context) -> BenchResult:
    """Grow the agent from 10 to 1,000 enrollments with state and time each operation."""
    title = "Scale: 10, 100 and 1,000 enrollments"
    if context.agent_missing:
        body = f"Not measured: {context.agent_missing}\n"
        return BenchResult(section(title, "-", body), _scale_targets(None))
    calls = 5 if context.quick else 30
    workdir = context.workdir / "agent-scale"
    peer = start_agent(context.group, workdir, context.repo, command=STATE_SERVE_COMMAND)
    try:
        series = asyncio.run(measure_scale(peer, calls))
        peak_kib = memory_kib(peer.process.pid)["VmHWM"]
    finally:
        context.group.stop(peer.process)
    context.figures["scale_series"] = series
    memory_rows = [
        ["agent, idle, peak RSS MiB", _mib(context.figures.get("agent_idle_mib"))],
        [f"agent, {SIZES[-1]} enrollments with state, peak RSS MiB", f"{peak_kib / 1024:.1f}"],
        *netconfd_memory_rows(context),
    ]
    body = SCALE_METHOD.format(calls=calls) + _scale_table(series)
    body += (
        "\n### Memory\n\nPeak RSS is `VmHWM` from `/proc/PID/status`; netconfd's "
        "sshd and netconf-subsystem are excluded.\n\n" + table(["process", "value"], memory_rows)
    )
    targets = _scale_targets(series)
    return BenchResult(section(title, context.command("scale"), body), targets)


def _mib(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"
