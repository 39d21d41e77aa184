"""Worker threads of the daemon: results, errors and their lower CPU priority."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from agent.enrollment.threads import WORKER_NICENESS, run_in_thread


def _own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux")
def test_worker_thread_runs_nicer() -> None:
    loop_niceness = _own_niceness()

    worker_niceness = asyncio.run(run_in_thread(_own_niceness))

    assert worker_niceness == min(loop_niceness + WORKER_NICENESS, 19)
    assert _own_niceness() == loop_niceness


def test_worker_thread_result_and_error() -> None:
    def fail() -> None:
        raise ValueError("worker failed")

    assert asyncio.run(run_in_thread(int, "42")) == 42
    with pytest.raises(ValueError, match="worker failed"):
        asyncio.run(run_in_thread(fail))
