"""A manual clock, a scripted worker and configuration builders for daemon tests."""

from __future__ import annotations

import datetime
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from agent.enrollment.config import ServerConfig
from agent.enrollment.outcomes import DiscoveryResult, StepRequest, StepResult
from tests.pki.factory import EPOCH


class ManualClock:
    """A clock that moves only when the test advances it."""

    def __init__(self, start: datetime.datetime = EPOCH) -> None:
        self.moment = start

    def now(self) -> datetime.datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += datetime.timedelta(seconds=seconds)


@dataclass
class ScriptedWorker:
    """A worker that returns queued results and records what it was asked."""

    discoveries: dict[str, deque[DiscoveryResult]] = field(default_factory=dict)
    steps: dict[str, deque[StepResult]] = field(default_factory=dict)
    discovered: list[str] = field(default_factory=list)
    requests: list[StepRequest] = field(default_factory=list)
    gate: threading.Event | None = None

    def queue_discovery(self, label: str, *results: DiscoveryResult) -> None:
        self.discoveries.setdefault(label, deque()).extend(results)

    def queue_step(self, name: str, *results: StepResult) -> None:
        self.steps.setdefault(name, deque()).extend(results)

    def discover(self, server: ServerConfig) -> DiscoveryResult:
        if self.gate is not None:
            self.gate.wait(timeout=30)
        self.discovered.append(server.label)
        queue = self.discoveries[server.label]
        # The last queued result repeats, for the periodic re-checks.
        return queue.popleft() if len(queue) > 1 else queue[0]

    def step(self, request: StepRequest) -> StepResult:
        self.requests.append(request)
        return self.steps[request.config.name].popleft()


def server_entry(server_id: int = 1, label: str = "xpki-srv", **extra: Any) -> dict[str, Any]:
    entry = {"id": server_id, "label": label, "url": "http://127.0.0.1:9/scep",
             "fingerprint": "AA:" * 31 + "AA", "fingerprint-alg": "sha256"}
    entry.update(extra)
    return entry


def enroll_entry(name: str = "mycert1", server: str = "xpki-srv", **extra: Any) -> dict[str, Any]:
    entry = {"name": name, "server": server, "dn": f"CN={name}.co.uk, C=UK",
             "password": "secret-challenge", "san": {"ip-address": ["192.168.100.101"]}}
    entry.update(extra)
    return entry


def running(servers: list[dict[str, Any]], enrollments: list[dict[str, Any]],
            poll_interval: int = 120) -> dict[str, Any]:
    return {"pki-agent:pki": {"poll-interval": poll_interval, "enroll-server": servers,
                              "cert": {"enroll": enrollments}}}
