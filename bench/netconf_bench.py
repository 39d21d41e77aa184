"""NETCONF latency of the agent next to netconfd, and the agent's start-up and idle memory."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

from bench import workload
from bench.agent_peer import start_agent, wait_for_hello
from bench.context import BenchResult, Context
from bench.latency import (
    LATENCY_BLOCK,
    LATENCY_ENROLLMENTS,
    BenchmarkRPCError,
    LatencyFigures,
    load_config,
    measure_interleaved,
)
from bench.netconf_client import NetconfClient
from bench.netconfd_peer import NetconfdPeer, start_netconfd
from bench.processes import memory_kib
from bench.report import Target, check, format_number, ms, section, table
from bench.stats import ratio, summarize
from bench.yang_config import NETCONFD_UNSUPPORTED, cut_statements

log = logging.getLogger(__name__)

SCALE_ENROLLMENTS = 1000
MODULE = Path("yang/pki-agent.yang")


def derive_netconfd_module(repo: Path, workdir: Path) -> tuple[Path, dict[str, int]]:
    """Write the copy of the module that netconfd loads; return it and what was cut."""
    text, counts = cut_statements((repo / MODULE).read_text(), NETCONFD_UNSUPPORTED)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "pki-agent.yang"
    path.write_text(text)
    return path, counts


async def _netconfd_rss_1000(peer: NetconfdPeer) -> dict[str, int]:
    client = NetconfClient(peer.target)
    await client.connect()
    try:
        await load_config(client, workload.pki_config(SCALE_ENROLLMENTS))
        await client.rpc(workload.GET_CONFIG)
        return memory_kib(peer.netconfd.pid)
    finally:
        await client.close()


def _netconfd_alone(context: Context, netconfd: NetconfdPeer) -> LatencyFigures:
    targets = {"netconfd": netconfd.target}
    return asyncio.run(measure_interleaved(targets, context.calls, context.warmup))["netconfd"]


def _measure_both(
    context: Context, netconfd: NetconfdPeer
) -> tuple[LatencyFigures, LatencyFigures | None, str | None]:
    """Time netconfd and the agent interleaved; return (netconfd, agent, why no agent)."""
    if context.agent_missing:
        return _netconfd_alone(context, netconfd), None, context.agent_missing
    agent = start_agent(context.group, context.workdir / "agent-latency", context.repo)
    try:
        asyncio.run(wait_for_hello(agent))
        targets = {"netconfd": netconfd.target, "agent": agent.target}
        figures = asyncio.run(measure_interleaved(targets, context.calls, context.warmup))
        return figures["netconfd"], figures["agent"], None
    except BenchmarkRPCError as exc:
        log.error("the latency workload failed, timing netconfd alone: %s", exc)
        reason = f"a benchmark RPC failed: `{exc.reply[:300]}`"
    finally:
        context.group.stop(agent.process)
    return _netconfd_alone(context, netconfd), None, reason


def run_latency(context: Context) -> tuple[LatencyFigures, LatencyFigures | None, str | None]:
    """Start netconfd, time it next to the agent, then record its memory use."""
    workdir = context.workdir / "netconfd"
    module, counts = derive_netconfd_module(context.repo, workdir)
    context.figures["netconfd_cuts"] = counts
    peer = start_netconfd(context.group, workdir / "run", module)
    try:
        result = _measure_both(context, peer)
        context.figures["netconfd_idle_kib"] = memory_kib(peer.netconfd.pid)
        context.figures["netconfd_1000_kib"] = asyncio.run(_netconfd_rss_1000(peer))
    finally:
        context.group.stop(peer.sshd)
        context.group.stop(peer.netconfd)
    return result


LATENCY_ROWS = (
    ("get-config (running)", "get_config"),
    ("edit-config (candidate)", "edit_config"),
    ("commit", "commit"),
    ("edit-config + commit", "edit_commit"),
)


def _latency_table(netconfd: LatencyFigures, agent: LatencyFigures | None) -> str:
    rows = []
    for label, attribute in LATENCY_ROWS:
        theirs = getattr(netconfd, attribute)
        ours = getattr(agent, attribute) if agent else None
        row = [label]
        if ours is None:
            row += ["-", "-", ms(theirs.median), ms(theirs.p90), "-"]
        else:
            row += [ms(ours.median), ms(ours.p90), ms(theirs.median), ms(theirs.p90)]
            row.append(format_number(ratio(ours.median, theirs.median)))
        rows.append(row)
    header = ["operation", "agent median ms", "agent p90 ms", "netconfd median ms"]
    header += ["netconfd p90 ms", "agent/netconfd (medians)"]
    return table(header, rows)


def _latency_method(context: Context) -> str:
    cuts = "; ".join(f"{name}: {count}" for name, count in context.figures["netconfd_cuts"].items())
    return (
        f"{context.calls} timed calls of each operation after {context.warmup} warm-up calls, "
        f"one session per server, against a running configuration of one enroll-server and "
        f"{LATENCY_ENROLLMENTS} enrollments (with challenge passwords and SANs). The two "
        f"servers run at the same time and take turns in blocks of {LATENCY_BLOCK} calls, "
        "so a change of the machine's load affects both alike. Each edit-config changes "
        "the `dn` of one enrollment on the candidate and is followed by a commit. The "
        "client is `bench/netconf_client.py` (asyncssh, base:1.1 chunked framing); a call "
        "is timed from the write of the request to the last byte of the reply.\n\n"
        "netconfd runs behind a private OpenSSH sshd on 127.0.0.1 with "
        "`netconf-subsystem`, `--superuser` and `--target=candidate`. It loads a copy of "
        f"`yang/pki-agent.yang` with these statements removed: {cuts}. Without the second "
        "cut netconfd 2.13 aborts (SIGABRT) on the first edit of an enroll-server, so it "
        "does not check fingerprint lengths; the agent does.\n\n"
        "The agent writes `running.xml` to a temporary file, fsyncs it, renames it and "
        "fsyncs the directory on every commit: the first two steps make the write atomic, "
        "and the directory fsync makes a commit that was answered with `<ok/>` survive a "
        "power loss. `agent/datastore/persist.py` gives the measured cost of each step. "
        "netconfd 2.13 saves its startup file with `fopen` and links no "
        "`fsync`, `fdatasync` or `rename` (`nm -D` of `netconfd`, `libyumaagt.so.2` and "
        "`libyumancx.so.2`), so part of the commit gap is the cost of durability.\n\n"
    )


def latency_benchmark(context: Context) -> BenchResult:
    """Compare per-call latency of the agent and netconfd."""
    netconfd, agent, agent_missing = run_latency(context)
    context.figures["netconfd_latency"] = netconfd
    if agent is not None:
        context.figures["latency_ratios"] = {
            name: ratio(getattr(agent, name).median, getattr(netconfd, name).median)
            for name in ("get_config", "edit_commit")
        }

    body = _latency_method(context) + _latency_table(netconfd, agent)
    if agent_missing:
        body += f"\nThe agent was not measured: {agent_missing}\n"
    targets = (
        _ratio_target("get-config latency, agent/netconfd", agent, netconfd, "get_config"),
        _ratio_target("edit-config + commit, agent/netconfd", agent, netconfd, "edit_commit"),
    )
    title = "NETCONF latency against netconfd"
    return BenchResult(section(title, context.command("latency"), body), targets)


def _ratio_target(
    name: str, agent: LatencyFigures | None, netconfd: LatencyFigures, attribute: str
) -> Target:
    value = None
    if agent is not None:
        value = ratio(getattr(agent, attribute).median, getattr(netconfd, attribute).median)
    return check(name, 1.0, value, "x", "NETCONF latency")


def _time_starts(context: Context, runs: int) -> tuple[list[float], list[int]]:
    """Start the agent ``runs`` times; return seconds to the first hello and peak RSS in KiB."""
    times, peaks = [], []
    for attempt in range(runs):
        workdir = context.workdir / f"agent-startup-{attempt}"
        peer = start_agent(context.group, workdir, context.repo)
        try:
            times.append(asyncio.run(wait_for_hello(peer)))
            peaks.append(memory_kib(peer.process.pid)["VmHWM"])
        finally:
            context.group.stop(peer.process)
    return times, peaks


def startup_benchmark(context: Context) -> BenchResult:
    """Time process start to the first hello, and read the idle agent's peak RSS."""
    if context.agent_missing:
        body = f"Not measured: {context.agent_missing}\n"
        targets = (
            check("start-up to first hello", 1.0, None, " s", "Start-up"),
            check("idle peak RSS", 40, None, " MiB", "Start-up"),
        )
        return BenchResult(section("Start-up and idle memory", "-", body), targets)

    runs = 3 if context.quick else 10
    times, peaks = _time_starts(context, runs)
    startup = summarize(times)
    idle_mib = max(peaks) / 1024
    context.figures["agent_idle_mib"] = idle_mib
    netconfd_idle = context.figures.get("netconfd_idle_kib", {}).get("VmHWM")

    rows = [
        ["start to first hello, median s", f"{startup.median:.3f}"],
        ["start to first hello, p90 s", f"{startup.p90:.3f}"],
        ["agent idle peak RSS (VmHWM), MiB", f"{idle_mib:.1f}"],
        [
            "netconfd peak RSS after the latency run, MiB (sshd excluded)",
            f"{netconfd_idle / 1024:.1f}" if netconfd_idle else "-",
        ],
    ]
    body = (
        f"{runs} starts of `python -m agent serve` with an empty state directory (the SSH "
        "host key is generated on each start). A start is timed from `Popen` to the "
        "server's hello on the first SSH connection that succeeds; the client retries "
        "every 5 ms. The idle peak RSS is `VmHWM` from `/proc/PID/status` after that "
        "hello, the maximum over the starts.\n\n"
        + table(["figure", "value"], rows)
        + "\nPeak RSS of a fresh `python -c 'import MODULE'`, each in its own interpreter, "
        "which shows where the idle memory comes from:\n\n"
        + table(["import", "peak RSS MiB"], import_rss_rows(context.repo))
    )
    targets = (
        check("start-up to first hello (median)", 1.0, startup.median, " s", "Start-up"),
        check("idle peak RSS", 40, idle_mib, " MiB", "Start-up"),
    )
    return BenchResult(
        section("Start-up and idle memory", context.command("startup"), body), targets
    )


IMPORT_PROBES = (
    "",
    "asyncssh",
    "cryptography.x509",
    "lxml.etree",
    "libyang",
    "requests",
    "agent.netconf.rpc",
    "agent.enrollment",
    "agent.app",
    "agent.cli",
)
"""Modules whose import cost in memory the start-up section shows; "" is the bare interpreter."""


def import_rss_rows(repo: Path) -> list[list[str]]:
    """Return the peak RSS of a fresh interpreter after importing each probe module."""
    rows = []
    for module in IMPORT_PROBES:
        statement = f"import {module}; " if module else ""
        # VmHWM belongs to the address space that exec made, whereas ru_maxrss
        # keeps the parent's peak across fork and exec.
        code = statement + "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
        )
        label = f"`import {module}`" if module else "bare interpreter"
        rows.append([label, f"{int(result.stdout) / 1024:.1f}"])
    return rows


def netconfd_memory_rows(context: Context) -> list[list[str]]:
    """Return netconfd's RSS rows for the memory table of the scale section."""
    figures = context.figures.get("netconfd_1000_kib")
    if not figures:
        return []
    return [
        [
            f"netconfd, {SCALE_ENROLLMENTS} enrollments (config only), peak RSS MiB",
            f"{figures['VmHWM'] / 1024:.1f}",
        ]
    ]
