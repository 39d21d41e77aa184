"""Enrollment against micromdm: the agent's commit-to-issued time next to scepclient.

Both clients enroll the same subject with 2048-bit RSA keys on the same
micromdm/scep server, in alternating runs, so drift of the machine's load
affects both alike.  The burst part commits many enrollments at once and
times get-config on a second session while the daemon works.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from bench import workload
from bench.agent_peer import AgentPeer, start_agent, wait_for_hello
from bench.context import BenchResult, Context
from bench.latency import checked_rpc, load_config, time_calls
from bench.netconf_client import NetconfClient
from bench.report import check, format_number, ms, section, table
from bench.stats import ratio, summarize

log = logging.getLogger(__name__)

CHALLENGE = workload.CHALLENGE
SUBJECT = {"CN": "bench-enroll", "OU": "MDM", "O": "scep-client", "C": "US"}
KEY_SIZE = 2048
POLL_INTERVAL = 0.01
BURST_POLL_INTERVAL = 0.25
"""Seconds between two state polls in the burst; a full get of 100 entries costs ~10 ms."""
ISSUE_TIMEOUT = 60.0
TITLE = "Enrollment against micromdm"


class EnrollmentTimeoutError(TimeoutError):
    """The agent did not report an enrollment as issued in time."""

    def __init__(self, states: dict[str, str], timeout: float) -> None:
        examples = "; ".join(f"{name}: {state}" for name, state in sorted(states.items())[:3])
        super().__init__(
            f"{len(states)} enrollments not issued after {timeout:.0f} s, for example {examples}"
        )
        self.states = states


class EnrollmentRejectedError(RuntimeError):
    """The CA rejected a single enrollment, so it has no commit-to-issued time."""

    def __init__(self, name: str, state: str) -> None:
        super().__init__(f"enrollment {name} was not issued: {state}")
        self.name = name
        self.state = state


@dataclass(frozen=True, slots=True)
class ScepServer:
    """A running micromdm/scep server started through the peer script."""

    url: str
    ca_sha256: str
    directory: Path
    script: Path


def scep_peer_script(repo: Path) -> Path:
    """Return the path of the micromdm peer script, beside the repository."""
    return repo.parent / "shared" / "peers" / "scep-server"


def start_scep_server(repo: Path, directory: Path) -> ScepServer:
    """Start micromdm on a free 127.0.0.1 port with the benchmark challenge."""
    script = scep_peer_script(repo)
    result = subprocess.run(
        [str(script), "start", str(directory), "auto", CHALLENGE],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return ScepServer(values["SCEP_URL"], values["SCEP_CA_SHA256"], directory, script)


def stop_scep_server(server: ScepServer) -> None:
    """Stop micromdm; the peer script kills only the pids it recorded."""
    subprocess.run([str(server.script), "stop", str(server.directory)], check=False, timeout=60)


def time_scepclient(server: ScepServer, workdir: Path) -> float:
    """Enroll once with micromdm's scepclient, key generation included; return seconds."""
    for name in ("key.pem", "cert.pem", "csr.pem"):
        (workdir / name).unlink(missing_ok=True)
    argv = [
        "scepclient",
        "-server-url", server.url,
        "-challenge", CHALLENGE,
        "-cn", SUBJECT["CN"],
        "-ou", SUBJECT["OU"],
        "-organization", SUBJECT["O"],
        "-country", SUBJECT["C"],
        "-keySize", str(KEY_SIZE),
        "-private-key", str(workdir / "key.pem"),
        "-certificate", str(workdir / "cert.pem"),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(argv, cwd=workdir, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - started


def subject_dn(common_name: str) -> str:
    """Return the benchmark DN with ``common_name``, most significant part last."""
    return ", ".join(
        f"{key}={common_name if key == 'CN' else value}" for key, value in SUBJECT.items()
    )


DN = subject_dn(SUBJECT["CN"])


def enrollment_config(names: list[str], distinct_subjects: bool = False) -> str:
    """Return an edit-config that adds enrollments, with the common DN or one DN each.

    micromdm revokes the previous certificate of a DN when it issues a new one,
    so concurrent requests for one DN conflict in its file depot and some get
    badRequest.  Concurrent enrollments therefore use distinct subjects.
    """
    entries = "".join(
        f"<enroll><name>{name}</name><server>{workload.SERVER_LABEL}</server>"
        f"<password>{CHALLENGE}</password>"
        f"<dn>{subject_dn(name) if distinct_subjects else DN}</dn>"
        f"<keysize>{KEY_SIZE}</keysize></enroll>"
        for name in names
    )
    return (
        "<edit-config><target><candidate/></target>"
        f'<config><pki xmlns="{workload.PKI_NS}"><cert>{entries}</cert></pki></config>'
        "</edit-config>"
    )


def enrollment_states(reply: str) -> dict[str, str]:
    """Map each enrollment name in a get reply to "STATE (REASON)"."""
    root = etree.fromstring(reply.encode())
    namespaces = {"pki": workload.PKI_NS}
    states = {}
    for enroll in root.iterfind(".//pki:cert/pki:enroll", namespaces):
        name = enroll.findtext("pki:name", namespaces=namespaces) or ""
        state = enroll.findtext("pki:state/pki:state", namespaces=namespaces)
        reason = enroll.findtext("pki:state/pki:reason", namespaces=namespaces)
        states[name] = f"{state} ({reason})" if reason else str(state)
    return states


def server_status(reply: str) -> str | None:
    """Return the status of the benchmark enroll-server in a get reply, if present."""
    root = etree.fromstring(reply.encode())
    namespaces = {"pki": workload.PKI_NS}
    return root.findtext(".//pki:enroll-server/pki:state/pki:status", namespaces=namespaces)


TERMINAL_STATES = ("issued", "rejected")
"""Enrollment states that the daemon leaves only on a configuration change or an RPC."""


async def wait_until_settled(
    client: NetconfClient, names: list[str], timeout: float, interval: float = POLL_INTERVAL
) -> tuple[float, dict[str, str]]:
    """Poll state until every enrollment of ``names`` is issued or rejected.

    Returns the time of the poll that saw the last one settle, and the state of
    each enrollment, as "STATE (REASON)".
    """
    deadline = time.perf_counter() + timeout
    while True:
        _, reply = await checked_rpc(client, workload.GET_PKI)
        states = enrollment_states(reply)
        pending = [name for name in names if not states.get(name, "").startswith(TERMINAL_STATES)]
        if not pending:
            return time.perf_counter(), {name: states[name] for name in names}
        if time.perf_counter() > deadline:
            raise EnrollmentTimeoutError(
                {name: states.get(name, "missing") for name in pending}, timeout
            )
        await asyncio.sleep(interval)


async def configure_server(client: NetconfClient, server: ScepServer) -> None:
    """Commit the enabled enroll-server and wait until the daemon reports it responding."""
    entry = workload.server_xml(enabled=True, url=server.url, fingerprint=server.ca_sha256)
    config = f'<pki xmlns="{workload.PKI_NS}">{entry}</pki>'
    await load_config(client, config)
    deadline = time.perf_counter() + ISSUE_TIMEOUT
    status = None
    while status != "responding":
        if time.perf_counter() > deadline:
            raise TimeoutError(f"enroll-server status is {status!r}, not responding")
        await asyncio.sleep(POLL_INTERVAL)
        _, reply = await checked_rpc(client, workload.GET_PKI)
        status = server_status(reply)


async def time_agent_enrollment(client: NetconfClient, name: str) -> float:
    """Commit one enrollment and return seconds from sending commit until it is issued."""
    await checked_rpc(client, enrollment_config([name]))
    started = time.perf_counter()
    await checked_rpc(client, workload.COMMIT)
    finished, states = await wait_until_settled(client, [name], ISSUE_TIMEOUT)
    if not states[name].startswith("issued"):
        raise EnrollmentRejectedError(name, states[name])
    return finished - started


@dataclass(frozen=True, slots=True)
class BurstFigures:
    """The burst: total time, rejections, and get-config latency idle and during the burst."""

    enrollments: int
    total_seconds: float
    rejected: dict[str, str]
    idle: list[float]
    busy: list[float]


async def _get_config_until(client: NetconfClient, done: asyncio.Event) -> list[float]:
    samples = []
    while not done.is_set():
        elapsed, _ = await checked_rpc(client, workload.GET_CONFIG)
        samples.append(elapsed)
    return samples


async def measure_burst(peer: AgentPeer, count: int, calls: int) -> BurstFigures:
    """Commit ``count`` enrollments at once; time get-config on a second session meanwhile."""
    control, probe = NetconfClient(peer.target), NetconfClient(peer.target)
    await control.connect()
    await probe.connect()
    try:
        idle = await time_calls(probe, lambda _: workload.GET_CONFIG, calls)
        names = [f"burst-{index:03d}" for index in range(count)]
        await checked_rpc(control, enrollment_config(names, distinct_subjects=True))
        done = asyncio.Event()
        started = time.perf_counter()
        await checked_rpc(control, workload.COMMIT)
        sampler = asyncio.create_task(_get_config_until(probe, done))
        try:
            finished, states = await wait_until_settled(
                control, names, ISSUE_TIMEOUT * 2, BURST_POLL_INTERVAL
            )
        finally:
            done.set()
            busy = await sampler
    finally:
        await probe.close()
        await control.close()
    rejected = {name: state for name, state in states.items() if state.startswith("rejected")}
    return BurstFigures(count, finished - started, rejected, idle, busy)


async def measure_single(
    peer: AgentPeer, server: ScepServer, workdir: Path, runs: int
) -> tuple[list[float], list[float]]:
    """Alternate scepclient and agent enrollments; return both lists of seconds."""
    await wait_for_hello(peer)
    client = NetconfClient(peer.target)
    await client.connect()
    agent, scepclient = [], []
    try:
        await configure_server(client, server)
        for run in range(runs):
            scepclient.append(await asyncio.to_thread(time_scepclient, server, workdir))
            agent.append(await time_agent_enrollment(client, f"single-{run:02d}"))
    finally:
        await client.close()
    return agent, scepclient


def time_key_generation(runs: int) -> list[float]:
    """Time RSA key generation of the benchmark size with cryptography, in this process.

    Key generation is part of both clients' times and varies a lot from key to
    key, because the search for primes takes a random number of tries.
    """
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        samples.append(time.perf_counter() - started)
    return samples


def _render(
    agent: list[float], scepclient: list[float], keygen: list[float], burst: BurstFigures
) -> tuple[str, float, float]:
    runs = len(agent)
    ours, theirs, keys = summarize(agent), summarize(scepclient), summarize(keygen)
    idle, busy = summarize(burst.idle), summarize(burst.busy)
    single_ratio = ratio(ours.median, theirs.median)
    busy_ratio = ratio(busy.median, idle.median)
    rows = [
        ["agent, commit to issued", ms(ours.median), ms(ours.p90)],
        ["scepclient, process start to certificate", ms(theirs.median), ms(theirs.p90)],
        [f"RSA-{KEY_SIZE} key generation alone (cryptography)", ms(keys.median), ms(keys.p90)],
        [f"get-config, idle ({len(burst.idle)} calls)", ms(idle.median), ms(idle.p90)],
        [f"get-config during the burst ({len(burst.busy)} calls)", ms(busy.median), ms(busy.p90)],
    ]
    body = (
        f"{runs} alternating runs of micromdm's `scepclient` and of the agent on one "
        f"micromdm/scep server, both enrolling `{DN}` with a new {KEY_SIZE}-bit RSA key. "
        "Key generation is included on both sides, and the key generation row times "
        "cryptography's `rsa.generate_private_key` alone, in the benchmark process, after "
        "those runs. The agent's time runs from sending "
        "commit to the first get whose state shows the enrollment as `issued` (polled "
        f"every {POLL_INTERVAL * 1000:.0f} ms), so it includes up to one poll interval.\n\n"
        + table(["figure", "median ms", "p90 ms"], rows)
        + f"\nagent/scepclient (medians): {format_number(single_ratio)}\n\n"
        f"Burst: {burst.enrollments} enrollments in one commit, each with its own subject, "
        f"were all settled after {burst.total_seconds:.2f} s: "
        f"{burst.enrollments - len(burst.rejected)} issued, {len(burst.rejected)} rejected "
        "by the CA. State was polled every "
        f"{BURST_POLL_INTERVAL} s on one session while a second session sent get-config "
        f"back to back. get-config during the burst / idle (medians): "
        f"{format_number(busy_ratio)}.\n"
    )
    if burst.rejected:
        name, state = sorted(burst.rejected.items())[0]
        body += (
            f"\nIn this run micromdm/scep 2.1.0 answered {len(burst.rejected)} of the "
            f"concurrent PKCSReq messages with failInfo badRequest, for example `{name}`: "
            f"{state}. micromdm logs `failed to sign CSR` with `could not convert  to serial "
            "number` for these, most likely because one request read the depot's serial file "
            "while another one rewrote it. A rejected enrollment stays "
            "rejected until it is changed or re-enrolled, so it ends the wait like an "
            "issued one.\n"
        )
    return body, single_ratio, busy_ratio


def enrollment_benchmark(context: Context) -> BenchResult:
    """Time the agent's enrollments against micromdm next to scepclient."""
    single_name, burst_name = "enrollment time, agent/scepclient", "get-config during burst / idle"
    if context.agent_missing:
        targets = (
            check(single_name, 1.2, None, "x", TITLE),
            check(burst_name, 2.0, None, "x", TITLE),
        )
        return BenchResult(section(TITLE, "-", f"Not measured: {context.agent_missing}\n"), targets)
    runs = 3 if context.quick else 10
    burst_count = 20 if context.quick else 100
    workdir = context.workdir / "enrollment"
    workdir.mkdir(parents=True, exist_ok=True)
    server = start_scep_server(context.repo, workdir / "scep")
    try:
        peer = start_agent(context.group, workdir / "agent", context.repo)
        try:
            agent, scepclient = asyncio.run(measure_single(peer, server, workdir, runs))
            keygen = time_key_generation(runs)
            burst = asyncio.run(measure_burst(peer, burst_count, context.calls))
        finally:
            context.group.stop(peer.process)
    finally:
        stop_scep_server(server)
    body, single_ratio, busy_ratio = _render(agent, scepclient, keygen, burst)
    targets = (
        check(single_name, 1.2, single_ratio, "x", TITLE),
        check(burst_name, 2.0, busy_ratio, "x", TITLE),
    )
    return BenchResult(section(TITLE, context.command("enrollment"), body), targets)
