"""The worker's use of shared resources: stored keys, pooled clients, CPU slots."""

from __future__ import annotations

import dataclasses
import datetime
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent.enrollment import worker as worker_module
from agent.enrollment.outcomes import StepKind, StepRequest
from agent.enrollment.worker import SCEPWorker
from agent.pki import PKIStore
from agent.scep.client import EnrollmentRequest, Issued, Pending
from tests.enrollment.fake_ca import FakeCA, FakeClient
from tests.enrollment.test_worker import context_of, enroll_config, server_config
from tests.pki.factory import rsa_key

NOW = datetime.datetime.now(datetime.UTC)


class CheckingClient(FakeClient):
    """A fake client that records the request key's file as it was when the request left."""

    def __init__(self, ca: FakeCA, store_dir: Path, seen: list[tuple[str, int] | None]) -> None:
        super().__init__(ca)
        self.store_dir = store_dir
        self.seen = seen

    def enroll(self, trusted: Any, caps: Any, request: EnrollmentRequest) -> Issued | Pending:
        keys = sorted((self.store_dir / "enrollments" / "mycert2").glob("key-*.pem"))
        if not keys:
            self.seen.append(None)
        else:
            mode = stat.S_IMODE(keys[-1].stat().st_mode)
            self.seen.append((keys[-1].read_text(encoding="ascii"), mode))
        return super().enroll(trusted, caps, request)


def test_key_stored_before_request(tmp_path: Path) -> None:
    ca = FakeCA()
    store = PKIStore(tmp_path)
    store.load()
    seen: list[tuple[str, int] | None] = []
    worker = SCEPWorker(store, client_factory=lambda url: CheckingClient(ca, tmp_path, seen),
                        key_factory=lambda size: rsa_key(140, size))
    context = context_of(worker, server_config(ca))

    result = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))

    assert result.kind is StepKind.ISSUED
    assert len(seen) == 1
    assert seen[0] is not None
    pem, mode = seen[0]
    assert mode == 0o600
    assert "PRIVATE KEY" in pem
    lineage = store.lineage("mycert2")
    assert lineage is not None
    assert lineage.key_file is not None
    assert (tmp_path / "enrollments" / "mycert2" / lineage.key_file).read_text(
        encoding="ascii") == pem


def test_client_reused_across_steps(tmp_path: Path) -> None:
    ca = FakeCA()
    store = PKIStore(tmp_path)
    store.load()
    created: list[str] = []

    def factory(url: str) -> FakeClient:
        created.append(url)
        return ca.client(url)

    keys = iter(range(150, 160))
    worker = SCEPWorker(store, client_factory=factory,
                        key_factory=lambda size: rsa_key(next(keys), size))
    context = context_of(worker, server_config(ca))

    first = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))
    second = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW,
                                     reset=True))

    assert first.kind is StepKind.ISSUED
    assert second.kind is StepKind.ISSUED
    assert created == ["http://127.0.0.1:9/scep"]


def test_failed_client_not_reused(tmp_path: Path) -> None:
    ca = FakeCA(mode="reject")
    store = PKIStore(tmp_path)
    store.load()
    created: list[FakeClient] = []

    def factory(url: str) -> FakeClient:
        created.append(ca.client(url))
        return created[-1]

    worker = SCEPWorker(store, client_factory=factory,
                        key_factory=lambda size: rsa_key(160, size))
    context = context_of(worker, server_config(ca))

    result = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))
    worker.discover(server_config(ca))

    assert result.kind is StepKind.REJECTED
    assert len(created) == 2
    assert created[0].closed
    assert not created[1].closed


def test_key_generation_limited_to_slots(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "CPU_SLOTS", 1)
    ca = FakeCA()
    running = 0
    max_running = 0
    count_lock = threading.Lock()
    keys = iter(range(170, 180))

    def slow_key(size: int) -> Any:
        nonlocal running, max_running
        with count_lock:
            running += 1
            max_running = max(max_running, running)
            seed = next(keys)
        # Long enough that two unlimited generations would overlap.
        time.sleep(0.05)
        with count_lock:
            running -= 1
        return rsa_key(seed, size)

    store = PKIStore(tmp_path)
    store.load()
    worker = SCEPWorker(store, client_factory=ca.client, key_factory=slow_key)
    context = context_of(worker, server_config(ca))
    results: list[StepKind] = []

    def run(name: str) -> None:
        config = dataclasses.replace(enroll_config(), name=name)
        results.append(worker.step(StepRequest(config=config, context=context, now=NOW)).kind)

    names = ["mycert2", "mycert3", "mycert4"]
    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == [StepKind.ISSUED] * 3
    assert max_running == 1

