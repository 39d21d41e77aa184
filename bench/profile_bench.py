"""Profile the agent on the slowest operation at 1,000 enrollments and on missed targets.

The latency targets are ratios to netconfd, measured with the daemon on.
These profiles run the launcher with recorded state and the daemon off, so
they show the NETCONF and datastore path alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
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
from bench.latency import LATENCY_ENROLLMENTS, load_config, time_calls, time_edit_commit
from bench.netconf_client import NetconfClient
from bench.profiling import ProfileSummary, summarize_profile
from bench.report import ms, section, table
from bench.scale import EDIT_COMMIT, OPERATIONS, TARGET_MS, SizeFigures

TITLE = "Profile of the slowest paths"
PROFILE_WAIT = 30.0
PROFILE_SETTLE = 0.1
"""Seconds between SIGUSR1 and the first call, so the profiler is on before the call arrives."""


async def _send_operation(client: NetconfClient, operation: str, size: int, calls: int) -> None:
    if operation == EDIT_COMMIT:
        await time_edit_commit(client, size // 2, calls)
        return
    body = OPERATIONS[operation](size)
    await time_calls(client, lambda _: body, calls)


async def drive_profiled(
    peer: AgentPeer, operation: str, size: int, calls: int, stats: Path
) -> None:
    """Load ``size`` enrollments, then profile ``calls`` calls of ``operation``."""
    await wait_for_hello(peer)
    client = NetconfClient(peer.target)
    await client.connect()
    try:
        await load_config(client, workload.pki_config(size))
        await client.rpc(workload.GET_PKI)  # the state provider builds its state here
        peer.process.send_signal(signal.SIGUSR1)
        await asyncio.sleep(PROFILE_SETTLE)
        await _send_operation(client, operation, size, calls)
        peer.process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + PROFILE_WAIT
        while not stats.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the agent wrote no profile to {stats} in {PROFILE_WAIT} s")
            await asyncio.sleep(0.05)
    finally:
        await client.close()


def profile_operation(context: Context, operation: str, size: int, calls: int) -> ProfileSummary:
    """Run a profiled agent for one operation at ``size`` enrollments; summarize the profile."""
    slug = operation.replace(" ", "-").replace("/", "").replace("+", "")
    workdir = context.workdir / f"agent-profile-{slug}-{size}"
    workdir.mkdir(parents=True, exist_ok=True)
    stats = workdir / "agent.pstats"
    env = dict(os.environ, **{PROFILE_ENV: str(stats)})
    peer = start_agent(context.group, workdir, context.repo, STATE_SERVE_COMMAND, env=env)
    try:
        asyncio.run(drive_profiled(peer, operation, size, calls, stats))
    finally:
        context.group.stop(peer.process)
    return summarize_profile(stats, calls=calls)


def _subsection(operation: str, size: int, reason: str, summary: ProfileSummary, calls: int) -> str:
    top = summary.functions[:3]
    where = "; ".join(f"{row[0]} {row[4]} ms per call" for row in top)
    return (
        f"### {operation} at {size} enrollments ({reason})\n\n"
        f"{calls} calls; the agent was busy for {summary.busy_seconds * 1000 / calls:.1f} ms "
        f"per call. It waited in epoll for {summary.idle_seconds * 1000:.0f} ms in all, "
        f"{PROFILE_SETTLE * 1000:.0f} ms of that before the first call. The most own time: "
        f"{where}.\n\n"
        "Own time by package, as a share of the busy time:\n\n"
        + table(["package", "own ms", "% of busy time"], summary.packages)
        + "\nFunctions with the most own time:\n\n"
        + table(
            ["function", "calls", "own ms", "cumulative ms", "own ms per benchmark call"],
            summary.functions,
        )
    )


def chosen_operations(context: Context, figures: SizeFigures) -> list[tuple[str, int, str]]:
    """Choose (operation, enrollments, why): the slowest one and each one that misses a target."""
    operations = figures.operations
    slowest = max(operations, key=lambda name: operations[name].median)
    size = figures.enrollments
    chosen = [(slowest, size, f"slowest, median {ms(operations[slowest].median)} ms")]
    for name, limit in TARGET_MS.items():
        if name != slowest and operations[name].median * 1000 > limit:
            chosen.append(
                (name, size, f"misses its target: median {ms(operations[name].median)} ms")
            )
    latency = context.figures.get("latency_ratios", {})
    for name, operation in (("get_config", "get-config"), ("edit_commit", EDIT_COMMIT)):
        if latency.get(name, 0.0) > 1.0:
            reason = f"{latency[name]:.2f} times netconfd's median in the latency section"
            chosen.append((operation, LATENCY_ENROLLMENTS, reason))
    return chosen


def profile_benchmark(context: Context) -> BenchResult:
    """Profile the slowest operation at 1,000 enrollments and each one that misses a target."""
    series: list[SizeFigures] | None = context.figures.get("scale_series")
    if context.agent_missing or not series:
        reason = context.agent_missing or "the scale benchmark did not run in this invocation"
        return BenchResult(section(TITLE, "-", f"Not measured: {reason}\n"))
    calls = 5 if context.quick else 30
    parts = [
        "The agent ran `bench/agent_with_state.py` with the given number of enrollments "
        f"and their state under cProfile (`{PROFILE_ENV}=FILE`). SIGUSR1 starts the "
        "profiler after the configuration is loaded and SIGUSR2 writes it after the calls, "
        "so start-up and loading are not in it. cProfile adds a fixed cost to every "
        "function call, so code made of many small calls, mostly Python, looks slower "
        "than it is. Work in other threads is not in these profiles.\n"
    ]
    for operation, size, reason in chosen_operations(context, series[-1]):
        summary = profile_operation(context, operation, size, calls)
        parts.append(_subsection(operation, size, reason, summary, calls))
    command = context.command("scale") + " --only profile"
    return BenchResult(section(TITLE, command, "\n".join(parts)))
