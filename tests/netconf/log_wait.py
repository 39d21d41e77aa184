"""Bounded waits for lines in the agent log."""

from __future__ import annotations

import time

from tests.fixtures.agent import RunningAgent

LOG_DEADLINE = 10.0


def log_contains(agent: RunningAgent, text: str, timeout: float = LOG_DEADLINE) -> bool:
    """Poll the agent log until it contains `text`, for at most `timeout` seconds.

    The agent may write a log line after the event that a test observes,
    such as a reply or an open port, so a single read can miss it.
    """
    deadline = time.monotonic() + timeout
    while text not in agent.log():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
