"""Commit and get latency while the SCEP test CA delays every reply by 10 s.

The enrollment daemon must never make a NETCONF operation wait for a CA.  This
benchmark starts the test CA (openxpki personality, automatic approval) with a
10-second delay on GetCACaps, GetCACert and PKIOperation, and points the agent
at it.  It then times edit-config plus commit (each adding one enrollment) and
a get of the whole `pki` subtree while server checks and requests wait.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

from bench import workload
from bench.agent_peer import start_agent, wait_for_hello
from bench.enrollment import server_status
from bench.latency import checked_rpc, load_config
from bench.netconf_client import NetconfClient
from bench.processes import ProcessGroup, wait_for_path
from bench.report import ms, section, table
from bench.stats import Summary, summarize
from tools.scep_ca.announcement import parse_announcement

log = logging.getLogger(__name__)

TITLE = "Commit and get while the CA delays every reply by 10 s"
COMMAND = "bench/run --only slow-ca"
CA_DELAY_SECONDS = 10.0
DELAYED_OPERATIONS = "GetCACaps,GetCACert,PKIOperation"
REPO = Path(__file__).resolve().parents[1]
ROUNDS = {True: 5, False: 20}
ROUND_PAUSE_SECONDS = 0.25
"""Pause between rounds, so several delayed exchanges are outstanding at once."""
RESPONDING_TIMEOUT = 3 * CA_DELAY_SECONDS + 30


def start_ca(group: ProcessGroup, workdir: Path) -> dict[str, str]:
    """Start the delaying test CA and return its announced KEY=VALUE settings."""
    state = workdir / "ca"
    argv = [
        sys.executable,
        "-m",
        "tools.scep_ca",
        "--personality",
        "openxpki",
        "--state",
        str(state),
        "--approval",
        "auto",
        "--no-challenge",
        "--delay",
        str(CA_DELAY_SECONDS),
        "--fault-operations",
        DELAYED_OPERATIONS,
    ]
    process = group.start("scep-ca", argv, workdir / "ca.log", cwd=REPO)
    announcement = state / "server.env"
    wait_for_path(announcement, process, timeout=30.0)
    # The CA writes server.env with write_atomic, so once it exists it is complete.
    return parse_announcement(announcement.read_text())


def add_enrollment(index: int) -> str:
    entry = workload.enrollment_xml(index)
    return (
        "<edit-config><target><candidate/></target>"
        f'<config><pki xmlns="{workload.PKI_NS}"><cert>{entry}</cert></pki></config>'
        "</edit-config>"
    )


async def measure_rounds(
    client: NetconfClient, first_index: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Add one enrollment per round; return (edit+commit seconds, get seconds)."""
    commits: list[float] = []
    gets: list[float] = []
    for index in range(first_index, first_index + rounds):
        edit, _ = await checked_rpc(client, add_enrollment(index))
        commit, _ = await checked_rpc(client, workload.COMMIT)
        commits.append(edit + commit)
        elapsed, _ = await checked_rpc(client, workload.GET_PKI)
        gets.append(elapsed)
        await asyncio.sleep(ROUND_PAUSE_SECONDS)
    return commits, gets


async def wait_for_responding(client: NetconfClient) -> float:
    """Wait until the daemon reports the slow server responding; return the seconds waited."""
    started = time.perf_counter()
    while True:
        _, reply = await checked_rpc(client, workload.GET_PKI)
        if server_status(reply) == "responding":
            return time.perf_counter() - started
        if time.perf_counter() - started > RESPONDING_TIMEOUT:
            raise TimeoutError(f"server not responding after {RESPONDING_TIMEOUT} s")
        await asyncio.sleep(0.5)


async def measure(workdir: Path, quick: bool) -> dict[str, Summary | float]:
    group = ProcessGroup()
    try:
        ca = start_ca(group, workdir)
        peer = start_agent(group, workdir, REPO)
        await wait_for_hello(peer)
        client = NetconfClient(peer.target)
        await client.connect()
        server = workload.server_xml(
            enabled=True, url=ca["SCEP_URL"], fingerprint=ca["SCEP_CA_SHA256"]
        )
        await load_config(
            client, f'<pki xmlns="{workload.PKI_NS}"><poll-interval>1</poll-interval>{server}</pki>'
        )
        rounds = ROUNDS[quick]
        commits, gets = await measure_rounds(client, 0, rounds)
        figures: dict[str, Summary | float] = {
            "commit during discovery": summarize(commits),
            "get during discovery": summarize(gets),
        }
        if not quick:
            figures["discovery seconds"] = await wait_for_responding(client)
            commits, gets = await measure_rounds(client, rounds, rounds)
            figures["commit during requests"] = summarize(commits)
            figures["get during requests"] = summarize(gets)
        await client.close()
        return figures
    finally:
        group.stop_all()


def render(figures: dict[str, Summary | float], quick: bool) -> str:
    rows = []
    for name, value in figures.items():
        if isinstance(value, Summary):
            rows.append([name, value.count, ms(value.median), ms(value.p90), ms(value.maximum)])
    body = (
        f"The test CA delays each GetCACaps, GetCACert and PKIOperation reply by "
        f"{CA_DELAY_SECONDS:.0f} s. One session adds an enrollment per round "
        "(edit-config plus commit) and then reads the whole `pki` subtree with get. "
        "'During discovery' rounds run while the server check is still waiting for the CA; "
        "'during requests' rounds run after it, while every new enrollment's PKCSReq waits. "
        f"{'Quick run: discovery phase only. ' if quick else ''}"
        "Times are from sending the RPC to the full reply, on loopback.\n\n"
        + table(["operation", "n", "median ms", "p90 ms", "max ms"], rows)
    )
    discovery = figures.get("discovery seconds")
    if isinstance(discovery, float):
        body += (
            f"\nThe server check took {discovery:.1f} s after the first round began, "
            "as expected from two delayed replies.\n"
        )
    return section(TITLE, COMMAND, body)


def run(quick: bool) -> str:
    """Run the benchmark and return its Markdown section."""
    with tempfile.TemporaryDirectory(prefix="pki-agent-slow-ca-") as directory:
        figures = asyncio.run(measure(Path(directory), quick))
    return render(figures, quick)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
