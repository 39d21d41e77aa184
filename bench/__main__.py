"""Run the benchmark suite and write docs/benchmarks.md: ``python -m bench [--quick]``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.agent_peer import agent_available
from bench.context import BenchResult, Context
from bench.debs import install_packages
from bench.netconf_bench import latency_benchmark, startup_benchmark
from bench.processes import ProcessGroup
from bench.report import Target, Verdict, machine_section, section, targets_table

log = logging.getLogger("bench")

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "benchmarks.md"

Benchmark = Callable[[Context], BenchResult]


def _external(module_name: str, title: str) -> Benchmark:
    """Wrap a module whose ``run(quick) -> str`` returns its own Markdown section."""

    def run(context: Context) -> BenchResult:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            body = f"Not measured: `{module_name.replace('.', '/')}.py` does not exist yet.\n"
            return BenchResult(section(title, "-", body))
        markdown: str = module.run(context.quick)
        return BenchResult(markdown)

    return run


def _lazy(module_name: str, function: str) -> Benchmark:
    """Import a benchmark only when it runs, so one broken module spares the others."""

    def run(context: Context) -> BenchResult:
        benchmark: Benchmark = getattr(importlib.import_module(module_name), function)
        return benchmark(context)

    return run


BENCHMARKS: dict[str, Benchmark] = {
    "latency": latency_benchmark,
    "startup": startup_benchmark,
    "scale": _lazy("bench.scale", "scale_benchmark"),
    "enrollment": _lazy("bench.enrollment", "enrollment_benchmark"),
    "scep": _lazy("bench.scep_enroll", "scep_benchmark"),
    "slow-ca": _external("bench.slow_ca", "Latency while the CA is slow"),
    "profile": _lazy("bench.profile_bench", "profile_benchmark"),
}


def _failed(name: str, exc: BaseException) -> BenchResult:
    detail = "".join(traceback.format_exception_only(exc)).strip()
    body = f"The benchmark failed, so it has no figures in this run:\n\n```\n{detail}\n```\n"
    return BenchResult(section(f"{name} (failed)", f"bench/run --only {name}", body))


def run_benchmarks(context: Context, names: list[str]) -> list[tuple[str, BenchResult]]:
    """Run the named benchmarks in order; a failing one is reported, not fatal."""
    results = []
    for name in names:
        log.info("running benchmark %s", name)
        started = time.monotonic()
        try:
            result = BENCHMARKS[name](context)
        except Exception as exc:
            log.exception("benchmark %s failed", name)
            result = _failed(name, exc)
        log.info("benchmark %s took %.1f s", name, time.monotonic() - started)
        results.append((name, result))
    return results


def render(
    context: Context, results: list[tuple[str, BenchResult]], seconds: float, loads: list[float]
) -> str:
    """Render the whole benchmark page."""
    targets: list[Target] = [t for _, result in results for t in result.targets]
    met = sum(1 for t in targets if t.verdict is Verdict.MET)
    mode = "quick mode (`--quick`, fewer calls)" if context.quick else "full mode"
    parts = [
        "# Benchmarks\n",
        f"Written by `bench/run{' --quick' if context.quick else ''}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {seconds:.0f} s, {mode}. Every "
        "figure on this page comes from that one run; the command under each section "
        "repeats that section alone. All servers listened on 127.0.0.1 only. Times are "
        "wall-clock medians and nearest-rank 90th percentiles (p90). The client is "
        "`bench/netconf_client.py`, a raw asyncssh NETCONF client; stock ncclient is not "
        "used for timing because it polls its reply queue every 0.1 s.\n",
        "The 1-minute load average was "
        + " at the start and ".join(f"{load:.2f}" for load in loads)
        + f" at the end, on {os.cpu_count()} cores. A load above the number of cores "
        "means other work shared the CPUs, which raises every figure and most of all "
        "the p90s.\n",
        machine_section(),
        f"## Targets\n\n{met} of {len(targets)} targets met.\n\n" + targets_table(targets),
    ]
    parts += [result.markdown for _, result in results]
    return "\n".join(parts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of ``bench/run``."""
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls; under a minute")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        help="run only this benchmark (repeatable); the others are left out of the page",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=(
            f"Markdown file to write; default {OUTPUT.relative_to(REPO)} for a full run, "
            "standard output with --quick or --only, so a partial run never replaces "
            "the recorded figures"
        ),
    )
    parser.add_argument("--no-install", action="store_true", help="skip apt-get")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep logs and state under this directory instead of a temporary one",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Install the peers, run the benchmarks, write the page; return the exit status."""
    options = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    if not options.no_install:
        install_packages()
    started = time.monotonic()
    loads = [os.getloadavg()[0]]
    group = ProcessGroup()
    with tempfile.TemporaryDirectory(prefix="pki-agent-bench-") as temporary:
        workdir = options.keep or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        context = Context(options.quick, REPO, workdir.resolve(), group)
        context.agent_missing = agent_available(REPO)
        try:
            results = run_benchmarks(context, options.only or list(BENCHMARKS))
        finally:
            group.stop_all()
    loads.append(os.getloadavg()[0])
    page = render(context, results, time.monotonic() - started, loads)
    output = options.output
    if output is None and not (options.quick or options.only):
        output = OUTPUT
    if output is None:
        sys.stdout.write(page)
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page)
    log.info("wrote %s", output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
