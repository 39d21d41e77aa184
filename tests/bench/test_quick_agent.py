"""Run the latency benchmark's client and workload against a real agent, briefly."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.agent_peer import start_agent, wait_for_hello
from bench.latency import measure_latency
from bench.processes import ProcessGroup

REPO = Path(__file__).resolve().parents[2]


def test_latency_workload_against_agent(tmp_path: Path) -> None:
    group = ProcessGroup()
    try:
        peer = start_agent(group, tmp_path, REPO)
        asyncio.run(wait_for_hello(peer))
        figures = asyncio.run(measure_latency(peer.target, calls=5, warmup=1))
    finally:
        group.stop_all()
    assert figures.get_config.count == 5
    assert figures.edit_commit.count == 5
    assert figures.commit.minimum > 0
    assert peer.process.returncode is not None
