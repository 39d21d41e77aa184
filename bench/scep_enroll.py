"""Benchmark ``pki-agent scep enroll`` against micromdm's ``scepclient`` on one micromdm server.

Both clients generate a 2048-bit RSA key and enroll once per run, in a fresh
directory, against the same server on 127.0.0.1.  Runs alternate between the
two clients (and swap which goes first) so that machine load hits both alike.
The target is a median ratio of at most 1.2.

Run alone with ``python -m bench.scep_enroll [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.context import BenchResult, Context
from bench.report import check
from bench.stats import Summary, median_ratio_interval, ratio, summarize

REPO = Path(__file__).resolve().parents[1]
SCEP_SERVER = REPO.parent / "shared" / "peers" / "scep-server"
PKI_AGENT = Path(sys.executable).with_name("pki-agent")
CHALLENGE = "s3cret"
KEY_SIZE = 2048
TARGET_RATIO = 1.2
TARGET_NAME = "`pki-agent scep enroll` time, pki-agent/scepclient"
TITLE = "SCEP enrollment against micromdm"
RUN_TIMEOUT = 120


def _start_server(directory: Path) -> dict[str, str]:
    result = subprocess.run(
        [str(SCEP_SERVER), "start", str(directory), "auto", CHALLENGE],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    values = {}
    for line in result.stdout.splitlines():
        key, separator, value = line.partition("=")
        if separator:
            values[key] = value
    return values


def _our_command(server: dict[str, str], out: Path) -> list[str]:
    return [
        str(PKI_AGENT),
        "scep",
        "enroll",
        server["SCEP_URL"],
        "--dn",
        "CN=bench, C=UK",
        "--challenge",
        CHALLENGE,
        "--fingerprint",
        server["SCEP_CA_SHA256"],
        "--keysize",
        str(KEY_SIZE),
        "--out",
        str(out),
    ]


def _their_command(server: dict[str, str], out: Path) -> list[str]:
    return [
        "scepclient",
        "-server-url",
        server["SCEP_URL"],
        "-challenge",
        CHALLENGE,
        "-private-key",
        str(out / "key.pem"),
        "-certificate",
        str(out / "cert.pem"),
        "-cn",
        "bench",
        "-ca-fingerprint",
        server["SCEP_CA_SHA256"],
        "-keySize",
        str(KEY_SIZE),
    ]


def _time_run(command: list[str], out: Path) -> float:
    """Run one enrollment in the fresh directory `out`; return its wall time in seconds."""
    out.mkdir(parents=True)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, timeout=RUN_TIMEOUT, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or not (out / "cert.pem").exists():
        raise RuntimeError(
            f"{command[0]} failed with {result.returncode}: {result.stderr.decode()[-400:]}"
        )
    return elapsed


def _measure(server: dict[str, str], work: Path, runs: int) -> tuple[list[float], list[float]]:
    ours: list[float] = []
    theirs: list[float] = []
    # One unrecorded run each warms the page cache and the server.
    _time_run(_our_command(server, work / "warm-ours"), work / "warm-ours")
    _time_run(_their_command(server, work / "warm-theirs"), work / "warm-theirs")
    for index in range(runs):
        pair = [("ours", ours, _our_command), ("theirs", theirs, _their_command)]
        if index % 2:
            pair.reverse()
        for name, samples, command in pair:
            out = work / f"{name}-{index}"
            samples.append(_time_run(command(server, out), out))
    return ours, theirs


def _measure_in_process(server: dict[str, str], runs: int) -> list[float]:
    """Time the same enrollment through the client API, without process start-up."""
    from agent.scep.client import SCEPClient, prepare_enrollment
    from agent.scep.keys import generate_key

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        client = SCEPClient(server["SCEP_URL"])
        caps = client.get_ca_caps()
        ca = client.get_ca_cert().verify(server["SCEP_CA_SHA256"])
        request = prepare_enrollment(generate_key(KEY_SIZE), "CN=bench, C=UK", (), CHALLENGE)
        client.enroll(ca, caps, request)
        client.close()
        samples.append(time.perf_counter() - started)
    return samples


IMPORT_GROUPS = {
    "cryptography": "cryptography",
    "requests": "requests and its dependencies",
    "urllib3": "requests and its dependencies",
    "charset_normalizer": "requests and its dependencies",
    "idna": "requests and its dependencies",
    "certifi": "requests and its dependencies",
    "asn1crypto": "asn1crypto",
    "agent": "pki-agent's own modules",
}
OTHER_GROUP = "Python standard library and others"
IMPORT_CODE = "import agent.cli, agent.scep.keys, agent.scep.commands"
"""The imports of ``pki-agent scep enroll`` before it sends anything."""


def _time_bare_interpreter(runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=RUN_TIMEOUT)
        samples.append(time.perf_counter() - started)
    return samples


def _import_seconds_by_group(code: str, runs: int) -> dict[str, float]:
    """Sum the self times of `python -X importtime -c CODE` by package group; medians."""
    groups: dict[str, list[float]] = {}
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                                capture_output=True, text=True, check=True, timeout=RUN_TIMEOUT)
        totals: dict[str, float] = {}
        for line in result.stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if len(fields) != 3 or not fields[0].strip().isdigit():
                continue
            package = fields[2].strip().split(".")[0]
            group = IMPORT_GROUPS.get(package, OTHER_GROUP)
            totals[group] = totals.get(group, 0.0) + int(fields[0]) / 1_000_000
        for group, seconds in totals.items():
            groups.setdefault(group, []).append(seconds)
    return {group: summarize(samples).median for group, samples in groups.items()}


def _imports_beyond_start(command: dict[str, float], start: dict[str, float]) -> dict[str, float]:
    """Subtract what the interpreter imports for ``-c pass`` (site, encodings)."""
    return {group: seconds - start.get(group, 0.0) for group, seconds in command.items()}


def _measure_start_up(runs: int) -> list[str]:
    """Time the bare interpreter and the imports of the scep subcommand; return Markdown."""
    bare = summarize(_time_bare_interpreter(runs))
    start = _import_seconds_by_group("pass", runs)
    imports = _imports_beyond_start(_import_seconds_by_group(IMPORT_CODE, runs), start)
    requests_only = _imports_beyond_start(_import_seconds_by_group("import requests", runs), start)
    ordered = sorted(imports.items(), key=lambda item: -item[1])
    rows = [f"| bare interpreter (`python -c pass`), wall time | {_milliseconds(bare.median)} |"]
    rows += [f"| imports: {group} | {_milliseconds(seconds)} |" for group, seconds in ordered]
    rows.append(f"| imports, total | {_milliseconds(sum(imports.values()))} |")
    rows.append("| `import requests` alone, with the standard-library modules it loads | "
                f"{_milliseconds(sum(requests_only.values()))} |")
    return [
        f"Where the process start-up goes: medians of {runs} runs of a bare interpreter and of "
        f"`python -X importtime -c '{IMPORT_CODE}'`, with the self time of each module summed "
        "by package and what `-c pass` imports subtracted. `-X importtime` adds its own "
        "overhead, so the import figures are upper estimates.",
        "",
        "| part | median |",
        "| --- | --- |",
        *rows,
        "",
        "The `scep` subcommand imports no NETCONF, YANG or asyncio module (a test checks "
        "`sys.modules`). `enroll` starts key generation in a thread before it imports the "
        "rest; OpenSSL does not hold the GIL while it searches for primes, so the key is "
        "usually ready when the imports end. The cyclic garbage collector is off for one-shot "
        "commands, and they end with `os._exit` once their files are closed and their output "
        "is flushed, without the interpreter's teardown. What remains is the interpreter and "
        "the libraries the protocol needs: cryptography for keys and certificates, asn1crypto "
        "for CMS and requests for HTTP. requests is the largest part, because it loads "
        "http.client, ssl and email from the standard library. scepclient is a statically "
        "linked Go binary and pays none of this.",
        "",
        "The two clients spend their time on different work: scepclient mostly on generating "
        "the key, whose time varies widely from run to run, and pki-agent mostly on starting "
        "Python and importing. The ratio therefore changes with the CPU and its load, from "
        "one machine to another and from one run to the next, which is why the runs "
        "alternate and the ratio below comes with a bootstrap interval.",
        "",
    ]


def _milliseconds(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def _row(client: str, summary: Summary) -> str:
    cells = [summary.median, summary.p90, summary.minimum, summary.maximum]
    return f"| {client} | {summary.count} | " + " | ".join(_milliseconds(c) for c in cells) + " |"


def _report(
    ours: Summary, theirs: Summary, in_process: Summary, load: tuple[float, float], runs: int,
    start_up: list[str], interval: tuple[float, float],
) -> str:
    median_ratio = ratio(ours.median, theirs.median)
    verdict = "met" if median_ratio <= TARGET_RATIO else "not met"
    return "\n".join(
        [
            f"## {TITLE}",
            "",
            f"Each client enrolls a new RSA-{KEY_SIZE} key {runs} times against one micromdm/scep "
            "2.1.0 server on 127.0.0.1 (`scep-server`, network-namespace mode, challenge "
            "enforced), alternating runs. Times are wall-clock for the whole process, key "
            "generation included.",
            "",
            "```sh",
            "pki-agent scep enroll URL --dn 'CN=bench, C=UK' --challenge PW --fingerprint SHA256 "
            f"--keysize {KEY_SIZE} --out DIR",
            "scepclient -server-url URL -challenge PW -private-key DIR/key.pem "
            f"-certificate DIR/cert.pem -cn bench -ca-fingerprint SHA256 -keySize {KEY_SIZE}",
            "```",
            "",
            "| client | runs | median | p90 | min | max |",
            "| --- | --- | --- | --- | --- | --- |",
            _row("`pki-agent scep enroll`", ours),
            _row("micromdm `scepclient`", theirs),
            _row("pki-agent client API, in process", in_process),
            "",
            "The in-process row times the same steps (GetCACaps, GetCACert, key generation, "
            "PKCSReq) through `SCEPClient` inside one Python process; its difference to the "
            "first row is interpreter and import start-up.",
            "",
            *start_up,
            f"Median ratio (pki-agent / scepclient): **{median_ratio:.2f}**; target at most "
            f"{TARGET_RATIO}: **{verdict}**. The 95% bootstrap interval of the ratio, from "
            f"2,000 resamples of both series, is {interval[0]:.2f} to {interval[1]:.2f}. "
            f"Load average before and after: {load[0]:.2f}, {load[1]:.2f} on "
            f"{os.cpu_count()} CPUs.",
            "",
        ]
    )


def scep_benchmark(context: Context) -> BenchResult:
    """Run the benchmark for ``bench/run``: its section and its target line."""
    markdown, median_ratio = measure(context.quick)
    return BenchResult(markdown, (check(TARGET_NAME, TARGET_RATIO, median_ratio, "x", TITLE),))


def run(quick: bool) -> str:
    """Run the benchmark and return its Markdown section."""
    return measure(quick)[0]


def measure(quick: bool) -> tuple[str, float | None]:
    """Run the benchmark; return its Markdown section and the median ratio, if measured."""
    if not SCEP_SERVER.exists():
        return f"## {TITLE}\n\nSkipped: the scep-server peer is missing.\n", None
    if shutil.which("scepclient") is None:
        return f"## {TITLE}\n\nSkipped: scepclient is not installed.\n", None
    # One scepclient run takes from 45 to over 300 ms on a 2-core machine.  With 21 or
    # 41 runs its median moved by up to a third from one benchmark run to the next.
    runs = 5 if quick else 101
    work = Path(tempfile.mkdtemp(prefix="bench-scep-"))
    try:
        server = _start_server(work / "server")
        load_before = os.getloadavg()[0]
        ours, theirs = _measure(server, work / "runs", runs)
        in_process = _measure_in_process(server, runs)
        start_up = _measure_start_up(min(runs, 7))
        load_after = os.getloadavg()[0]
    finally:
        subprocess.run(
            [str(SCEP_SERVER), "stop", str(work / "server")],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(work, ignore_errors=True)
    summaries = (summarize(ours), summarize(theirs), summarize(in_process))
    interval = median_ratio_interval(ours, theirs)
    markdown = _report(*summaries, (load_before, load_after), runs, start_up, interval)
    return markdown, ratio(summaries[0].median, summaries[1].median)


def main() -> None:
    """Print the benchmark's Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs per client instead of 101")
    print(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
