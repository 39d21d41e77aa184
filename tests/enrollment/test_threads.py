"""Worker threads of the daemon: results and errors reach the event loop."""

from __future__ import annotations

import asyncio

import pytest

from agent.enrollment.threads import run_in_thread


def test_worker_thread_returns_result() -> None:
    assert asyncio.run(run_in_thread(int, "42")) == 42


def test_worker_thread_raises_error() -> None:
    def fail() -> None:
        raise ValueError("worker failed")

    with pytest.raises(ValueError, match="worker failed"):
        asyncio.run(run_in_thread(fail))
