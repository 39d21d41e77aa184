"""Scale series (10, 100, 1,000 enrollments with state) and the profile of the slowest path."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import workload
from bench.agent_peer import (
    PROFILE_ENV,
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
from bench.profiling import summarize_profile
from bench.report import check, ms, section, table
from bench.stats import Summary, summarize

log = logging.getLogger(__name__)

SIZES = (10, 100, 1000)
OPERATIONS: dict[str, Callable[[int], str]] = {
    "get-config": lambda _: workload.GET_CONFIG,
    "get /pki": lambda _: workload.GET_PKI,
    "get one enrollment": lambda size: workload.filtered_get(size // 2),
}
EDIT_COMMIT = "edit one entry + commit"


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


def scale_benchmark(context: Context) -> BenchResult:
    """Grow the agent from 10 to 1,000 enrollments with state and time each operation."""
    title = "Scale: 10, 100 and 1,000 enrollments"
    names = ("one-entry edit + commit", "get of /pki", "filtered get of one enrollment")
    if context.agent_missing:
        body = f"Not measured: {context.agent_missing}\n"
        targets = tuple(
            check(n, limit, None, " ms", "Scale")
            for n, limit in zip(names, (20, 250, 5), strict=True)
        )
        return BenchResult(section(title, "-", body), targets)
    calls = 5 if context.quick else 30
    workdir = context.workdir / "agent-scale"
    peer = start_agent(context.group, workdir, context.repo, command=STATE_SERVE_COMMAND)
    try:
        series = asyncio.run(measure_scale(peer, calls))
        peak_kib = memory_kib(peer.process.pid)["VmHWM"]
    finally:
        context.group.stop(peer.process)
    context.figures["scale_series"] = series
    largest = series[-1].operations
    memory_rows = [
        ["agent, idle, peak RSS MiB", _mib(context.figures.get("agent_idle_mib"))],
        [f"agent, {SIZES[-1]} enrollments with state, peak RSS MiB", f"{peak_kib / 1024:.1f}"],
        *netconfd_memory_rows(context),
    ]
    body = (
        f"One session; for each size the running configuration is replaced (edit-config "
        f"with default-operation replace, then commit), then each operation runs {calls} "
        "timed calls after 2 warm-up calls. The filtered get selects one enrollment by "
        "name with a subtree filter; the one-entry edit changes its `dn`.\n\n"
        "The state (one `pub` and one `key` row per enrollment, the CA row, the "
        "enrollment and server state) comes from a state provider registered in the agent "
        "process by `bench/agent_with_state.py`, which serves recorded state shaped like "
        "the daemon's. Enrolling 1,000 certificates for real would measure RSA key "
        "generation and the CA rather than the NETCONF get path, and the enrollment "
        "section measures those separately.\n\n"
        + _scale_table(series)
        + "\n### Memory\n\nPeak RSS is `VmHWM` from `/proc/PID/status`; netconfd's "
        "sshd and netconf-subsystem are excluded.\n\n" + table(["process", "value"], memory_rows)
    )
    targets = (
        check(
            names[0] + f" at {SIZES[-1]}", 20, largest[EDIT_COMMIT].median * 1000, " ms", "Scale"
        ),
        check(
            names[1] + f" at {SIZES[-1]}", 250, largest["get /pki"].median * 1000, " ms", "Scale"
        ),
        check(
            names[2] + f" at {SIZES[-1]}",
            5,
            largest["get one enrollment"].median * 1000,
            " ms",
            "Scale",
        ),
    )
    return BenchResult(section(title, context.command("scale"), body), targets)


def _mib(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


async def _drive_slowest(peer: AgentPeer, operation: str, calls: int, stats: Path) -> None:
    await wait_for_hello(peer)
    client = NetconfClient(peer.target)
    await client.connect()
    try:
        await load_config(client, workload.pki_config(SIZES[-1]))
        await client.rpc(workload.GET_PKI)  # the state provider builds its state here
        peer.process.send_signal(signal.SIGUSR1)
        await asyncio.sleep(0.1)
        if operation == EDIT_COMMIT:
            await time_edit_commit(client, SIZES[-1] // 2, calls)
        else:
            await time_calls(client, _constant(OPERATIONS[operation](SIZES[-1])), calls)
        peer.process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not stats.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the agent wrote no profile to {stats} in 30 s")
            await asyncio.sleep(0.05)
    finally:
        await client.close()


def profile_benchmark(context: Context) -> BenchResult:
    """Profile the agent on the slowest operation of the scale series at 1,000 enrollments."""
    title = "Profile of the slowest path"
    series: list[SizeFigures] | None = context.figures.get("scale_series")
    if context.agent_missing or not series:
        reason = context.agent_missing or "the scale benchmark did not run in this invocation"
        return BenchResult(section(title, "-", f"Not measured: {reason}\n"))
    operations = series[-1].operations
    slowest = max(operations, key=lambda name: operations[name].median)
    calls = 5 if context.quick else 30
    workdir = context.workdir / "agent-profile"
    workdir.mkdir(parents=True, exist_ok=True)
    stats_path = workdir / "agent.pstats"
    env = dict(os.environ, **{PROFILE_ENV: str(stats_path)})
    peer = start_agent(context.group, workdir, context.repo, STATE_SERVE_COMMAND, env=env)
    try:
        asyncio.run(_drive_slowest(peer, slowest, calls, stats_path))
    finally:
        context.group.stop(peer.process)
    profile = summarize_profile(stats_path)
    body = (
        f"The slowest operation at {SIZES[-1]} enrollments was **{slowest}** "
        f"(median {ms(operations[slowest].median)} ms). The agent ran under cProfile "
        f"(`{PROFILE_ENV}=FILE python -m bench.agent_with_state ...`, started by SIGUSR1 "
        f"and written by SIGUSR2) while one session sent {calls} of these calls to the "
        f"agent with {SIZES[-1]} enrollments and their state. Start-up and loading are "
        "not in the profile.\n\n"
        f"The agent was busy for {profile.busy_seconds * 1000:.0f} ms of the profiled "
        f"time and waited in epoll for {profile.idle_seconds * 1000:.0f} ms. Own time by "
        "package, as a share of the busy time:\n\n"
        + table(["package", "own ms", "% of busy time"], profile.packages)
        + "\nFunctions with the most own time:\n\n"
        + table(["function", "calls", "own ms", "cumulative ms"], profile.functions)
    )
    return BenchResult(section(title, context.command("scale") + " --only profile", body))
