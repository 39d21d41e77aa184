"""The daemon's scheduling and state, with a scripted worker and a manual clock."""

from __future__ import annotations

import asyncio
import datetime
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from agent.enrollment import EnrollmentDaemon, EnrollmentRPCError
from agent.enrollment.outcomes import DiscoveryResult, ServerContext, StepKind, StepResult
from agent.enrollment.state import ServerStatus
from agent.hooks import BackendCondition, BackendError, Hooks
from agent.pki import CARole, PKIStore
from tests.enrollment.helpers import (
    ManualClock,
    ScriptedWorker,
    enroll_entry,
    running,
    server_entry,
)
from tests.pki.factory import make_certificate, make_name, rsa_key

Scenario = Callable[["Harness"], Awaitable[None]]


class Harness:
    """A daemon with a scripted worker, a manual clock and recorded notifications."""

    def __init__(self, tmp_path: Path) -> None:
        self.hooks = Hooks()
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        self.hooks.notification_sinks.append(
            lambda name, body: self.notifications.append((name, body)))
        self.clock = ManualClock()
        self.worker = ScriptedWorker()
        self.store = PKIStore(tmp_path / "pki")
        self.daemon = EnrollmentDaemon(self.hooks, self.store, self.worker, clock=self.clock,
                                       random=lambda: 0.5)
        self.daemon.attach()

    def commit(self, document: dict[str, Any]) -> None:
        for subscriber in self.hooks.commit_subscribers:
            subscriber({}, document)

    def state(self) -> dict[str, Any]:
        # The providers return disjoint children of pki-agent:pki.
        merged: dict[str, Any] = {}
        for provider in self.hooks.state_providers:
            merged.update(provider().get("pki-agent:pki", {}))
        return merged

    def enrollment_state(self, name: str = "mycert1") -> dict[str, Any]:
        entries = self.state()["cert"]["enroll"]
        return next(entry["state"] for entry in entries if entry["name"] == name)

    def server_state(self, server_id: int = 1) -> dict[str, Any]:
        entries = self.state()["enroll-server"]
        return next(entry["state"] for entry in entries if entry["id"] == server_id)

    def responding(self, label: str = "xpki-srv") -> DiscoveryResult:
        config = self.daemon.config.servers.get(label)
        assert config is not None
        return DiscoveryResult(status=ServerStatus.RESPONDING, capabilities=("POSTPKIOperation",),
                               context=ServerContext(config=config, trusted_ca=None,
                                                     capabilities=None))


def run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        harness = Harness(tmp_path)
        await harness.daemon.start(run_scheduler=False)
        try:
            await scenario(harness)
        finally:
            await harness.daemon.stop()

    asyncio.run(main())


PENDING = StepResult(kind=StepKind.PENDING, reason="waiting for the CA", sent=True,
                     new_request=True, transaction_id="TX1")


def issued_result(lifetime_days: int = 10) -> StepResult:
    certificate = make_certificate(make_name("mycert1.co.uk"),
                                   lifetime=datetime.timedelta(days=lifetime_days))
    return StepResult(kind=StepKind.ISSUED, reason="certificate issued", sent=True,
                      transaction_id="TX1", certificate=certificate)


def test_commit_shows_pending_at_once(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry(password=None, san={})]))

        state = h.enrollment_state()
        assert state["state"] == "pending"
        assert state["warning"] == ["challenge password missing",
                                    "SubjectAlternativeName missing"]
        assert h.server_state()["status"] == "not-checked"
        assert h.state()["daemon"]["status"] == "running"

    run(tmp_path, scenario)


def test_state_never_contains_password(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry(password="hunter2-secret")]))

        assert "hunter2-secret" not in repr(h.state())

    run(tmp_path, scenario)


def test_state_returns_while_worker_blocks(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.worker.gate = threading.Event()
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", h.responding())
        stepping = asyncio.create_task(h.daemon.run_due())
        await asyncio.sleep(0)

        assert h.server_state()["status"] == "not-checked"
        assert h.worker.discovered == []

        h.worker.gate.set()
        await stepping
        assert h.server_state()["status"] == "responding"

    run(tmp_path, scenario)


@pytest.mark.parametrize("status", [
    ServerStatus.SERVER_NOT_REACHABLE,
    ServerStatus.CA_NOT_DOWNLOADED,
    ServerStatus.CA_FINGERPRINT_MISMATCH,
    ServerStatus.NO_RA_CERT_FOUND,
    ServerStatus.CA_LABEL_CONFLICT,
])
def test_server_failure_status_shown(tmp_path: Path, status: ServerStatus) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", DiscoveryResult(status=status, message="detail"))

        await h.daemon.run_due()

        server = h.server_state()
        assert server["status"] == str(status)
        assert server["message"] == "detail"
        assert server["last-check"] == "2026-12-01T00:00:00Z"
        enrollment = h.enrollment_state()
        assert enrollment["state"] == "pending"
        assert str(status) in enrollment["reason"]
        assert h.worker.requests == []
        assert ("pki-agent:server-status-change",
                {"id": 1, "label": "xpki-srv", "status": str(status), "message": "detail"}
                ) in h.notifications

    run(tmp_path, scenario)


def test_unreachable_server_next_check(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", DiscoveryResult(
            status=ServerStatus.SERVER_NOT_REACHABLE,
            message="SCEP GetCACert failed: connection refused by 127.0.0.1:9"))
        checks = []
        for _ in range(3):
            await h.daemon.run_due()
            server = h.server_state()
            checks.append((server["last-check"], server["next-check"]))
            h.clock.moment = datetime.datetime.fromisoformat(server["next-check"])

        # The retry backs off from 60 s, doubling, well before the 3600 s check interval.
        assert checks == [
            ("2026-12-01T00:00:00Z", "2026-12-01T00:01:00Z"),
            ("2026-12-01T00:01:00Z", "2026-12-01T00:03:00Z"),
            ("2026-12-01T00:03:00Z", "2026-12-01T00:07:00Z"),
        ]
        assert h.worker.discovered == ["xpki-srv"] * 3

    run(tmp_path, scenario)


def test_disabled_server_not_contacted(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry(enabled=False)], [enroll_entry()]))

        await h.daemon.run_due()

        assert h.worker.discovered == []
        assert h.server_state()["status"] == "disabled"
        assert h.notifications[0] == ("pki-agent:server-status-change", {
            "id": 1, "label": "xpki-srv", "status": "disabled",
            "message": "server is disabled and not contacted"})

    run(tmp_path, scenario)


def test_pending_then_issued(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()], poll_interval=30))
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", PENDING, issued_result())

        await h.daemon.run_due()
        await h.daemon.run_due()
        state = h.enrollment_state()
        assert state["state"] == "pending"
        assert state["transaction-id"] == "TX1"
        assert state["attempts"] == 1
        assert state["next-attempt"] == "2026-12-01T00:00:30Z"

        h.clock.advance(30)
        await h.daemon.run_due()
        state = h.enrollment_state()
        assert state["state"] == "issued"
        assert state["attempts"] == 2
        assert state["next-renewal"] == "2026-12-09T00:00:00Z"
        changes = [body for name, body in h.notifications
                   if name == "pki-agent:enrollment-state-change"]
        assert changes[-1] == {"name": "mycert1", "state": "issued", "previous-state": "pending",
                               "reason": "certificate issued", "transaction-id": "TX1"}

    run(tmp_path, scenario)


def test_poll_waits_for_interval(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()], poll_interval=30))
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", PENDING)
        await h.daemon.run_due()
        await h.daemon.run_due()

        h.clock.advance(29)
        await h.daemon.run_due()

        assert len(h.worker.requests) == 1

    run(tmp_path, scenario)


def test_trigger_polls_now(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", h.responding(), h.responding())
        h.worker.queue_step("mycert1", PENDING, issued_result())
        await h.daemon.run_due()
        await h.daemon.run_due()

        h.clock.advance(10)
        await h.hooks.rpc_handlers["pki-agent:trigger"]({})
        # The state shows the checks that trigger scheduled before they run.
        assert h.server_state()["next-check"] == "2026-12-01T00:00:10Z"
        assert h.enrollment_state()["next-attempt"] == "2026-12-01T00:00:10Z"
        await h.daemon.run_due()
        await h.daemon.run_due()

        assert h.worker.discovered == ["xpki-srv", "xpki-srv"]
        assert h.enrollment_state()["state"] == "issued"

    run(tmp_path, scenario)


def test_rejection_shows_fail_info(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", StepResult(
            kind=StepKind.REJECTED, reason="rejected by the CA: failInfo badRequest",
            sent=True, new_request=True, transaction_id="TX1", fail_info="badRequest",
            hresult="0x80094800"))

        await h.daemon.run_due()
        await h.daemon.run_due()

        state = h.enrollment_state()
        assert state["state"] == "rejected"
        assert state["fail-info"] == "badRequest"
        assert state["hresult"] == "0x80094800"
        assert "next-attempt" not in state
        rows = h.state()["cert"]["certificates"]["certificate"]
        assert {"label": "mycert1", "type": "pub", "subject-hash": "REJECTED",
                "name": "mycert1.co.uk", "distribution": "scep", "server": "xpki-srv"} in rows

    run(tmp_path, scenario)


@pytest.mark.parametrize(("failures", "delay"), [(1, 120), (2, 240), (3, 480), (6, 3840),
                                                 (9, 3840)])
def test_error_backs_off(tmp_path: Path, failures: int, delay: int) -> None:
    error = StepResult(kind=StepKind.ERROR, reason="SCEP PKIOperation failed: HTTP 500",
                       sent=True, transaction_id="TX1")

    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", *[error] * failures)
        await h.daemon.run_due()
        for _ in range(failures):
            await h.daemon.run_due()
            record = h.daemon.enrollments["mycert1"]
            assert record.due is not None
            h.clock.moment = record.due

        state = h.enrollment_state()
        assert state["state"] == "failed"
        assert state["reason"] == "SCEP PKIOperation failed: HTTP 500"
        expected = h.clock.moment
        last = datetime.datetime.fromisoformat(state["last-attempt"])
        assert (expected - last).total_seconds() == delay

    run(tmp_path, scenario)


def test_edit_resets_request(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", StepResult(
            kind=StepKind.REJECTED, reason="rejected", sent=True, new_request=True,
            transaction_id="TX1", fail_info="badRequest"), PENDING)
        await h.daemon.run_due()
        await h.daemon.run_due()
        assert h.enrollment_state()["state"] == "rejected"

        h.commit(running([server_entry()], [enroll_entry(dn="CN=other, C=UK")]))
        assert h.enrollment_state()["state"] == "pending"
        await h.daemon.run_due()

        assert h.worker.requests[-1].reset
        assert h.worker.requests[-1].config.dn == "CN=other, C=UK"
        assert h.enrollment_state()["state"] == "pending"

    run(tmp_path, scenario)


def test_delete_purges_store(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.store.start_lineage("mycert1", "xpki-srv", "digest")
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", PENDING)
        await h.daemon.run_due()
        await h.daemon.run_due()

        h.commit(running([server_entry()], []))
        await h.daemon.run_due()

        assert h.store.lineage("mycert1") is None
        assert "enroll" not in h.state().get("cert", {})

    run(tmp_path, scenario)


@pytest.mark.parametrize(("rpc", "rpc_input", "condition", "path", "text"), [
    ("renew-now", {"name": "mycert1"}, BackendCondition.INVALID_VALUE,
     "/pki-agent:renew-now/name", "has no issued certificate to renew (state pending)"),
    ("renew-now", {"name": "absent"}, BackendCondition.DATA_MISSING,
     "/pki-agent:renew-now/name", "enrollment not found"),
    ("re-enroll", {"name": "absent"}, BackendCondition.DATA_MISSING,
     "/pki-agent:re-enroll/name", "enrollment not found"),
    ("remove-ca-certificate", {"label": "absent+ra"}, BackendCondition.DATA_MISSING,
     "/pki-agent:remove-ca-certificate/label", "no CA-local certificate with this label"),
], ids=["renew-without-certificate", "renew-unknown", "re-enroll-unknown", "remove-unknown"])
def test_rpc_errors_carry_condition(tmp_path: Path, rpc: str, rpc_input: dict[str, str],
                                    condition: BackendCondition, path: str, text: str) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))

        with pytest.raises(BackendError) as caught:
            await h.hooks.rpc_handlers[f"pki-agent:{rpc}"](rpc_input)

        assert isinstance(caught.value, EnrollmentRPCError)
        assert caught.value.condition is condition
        assert caught.value.path == path
        assert text in caught.value.message

    run(tmp_path, scenario)


def test_re_enroll_resets(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", issued_result(), PENDING)
        await h.daemon.run_due()
        await h.daemon.run_due()
        assert h.enrollment_state()["state"] == "issued"

        await h.hooks.rpc_handlers["pki-agent:re-enroll"]({"name": "mycert1"})
        assert h.enrollment_state()["state"] == "pending"
        await h.daemon.run_due()

        assert h.worker.requests[-1].reset
        assert h.enrollment_state()["attempts"] == 1

    run(tmp_path, scenario)


def test_issued_lineage_shown_after_restart(tmp_path: Path) -> None:
    store = PKIStore(tmp_path / "pki")
    store.load()
    from agent.enrollment.config import parse_config

    config = parse_config(running([server_entry()], [enroll_entry()]))
    store.start_lineage("mycert1", "xpki-srv", config.enrollments["mycert1"].request_digest())
    store.begin_request("mycert1", rsa_key(), renewal=False)
    certificate = make_certificate(make_name("mycert1.co.uk"))
    store.save_issued("mycert1", certificate)

    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))

        assert h.enrollment_state()["state"] == "issued"
        rows = h.state()["cert"]["certificates"]["certificate"]
        assert [(row["label"], row["type"]) for row in rows] == [("mycert1", "pub"),
                                                                 ("mycert1", "key")]
        assert rows[1]["key-size"] == 2048

    run(tmp_path, scenario)


def test_pending_lineage_shows_transaction(tmp_path: Path) -> None:
    store = PKIStore(tmp_path / "pki")
    store.load()
    from agent.enrollment.config import parse_config

    config = parse_config(running([server_entry()], [enroll_entry()]))
    store.start_lineage("mycert1", "xpki-srv", config.enrollments["mycert1"].request_digest())
    store.begin_request("mycert1", rsa_key(), renewal=False)
    store.save_pending("mycert1", {"transaction_id": "TX-STORED"})

    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))

        state = h.enrollment_state()
        assert state["state"] == "pending"
        assert state["transaction-id"] == "TX-STORED"

    run(tmp_path, scenario)


def test_rejected_reason_survives_restart(tmp_path: Path) -> None:
    store = PKIStore(tmp_path / "pki")
    store.load()
    from agent.enrollment.config import parse_config

    config = parse_config(running([server_entry()], [enroll_entry()]))
    store.start_lineage("mycert1", "xpki-srv", config.enrollments["mycert1"].request_digest())
    store.begin_request("mycert1", rsa_key(), renewal=False)
    reason = "rejected by the CA: failInfo badRequest, HRESULT 0x80070057 (-2147024809)"
    store.save_rejected("mycert1", {"reason": reason, "fail-info": "badRequest",
                                    "hresult": "0x80070057"})

    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))

        state = h.enrollment_state()
        assert h.server_state()["status"] == "not-checked"
        assert state["state"] == "rejected"
        assert state["reason"] == reason
        assert state["hresult"] == "0x80070057"

    run(tmp_path, scenario)


def test_renewal_start_notifies_expiring(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.store.start_lineage("mycert1", "xpki-srv", "digest")
        h.store.begin_request("mycert1", rsa_key(), renewal=False)
        old = make_certificate(make_name("mycert1.co.uk"), lifetime=datetime.timedelta(days=10))
        h.store.save_issued("mycert1", old)
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", StepResult(
            kind=StepKind.PENDING, reason="renewal request waiting for the CA", renewal=True,
            sent=True, new_request=True, transaction_id="TX2"))
        await h.daemon.run_due()
        await h.daemon.run_due()

        expiring = [body for name, body in h.notifications
                    if name == "pki-agent:certificate-expiring"]
        assert expiring == [{"label": "mycert1", "not-after": "2026-12-11T00:00:00Z",
                             "seconds-left": str(10 * 86400)}]
        assert h.enrollment_state()["renewing"] is True

    run(tmp_path, scenario)


def test_result_for_deleted_entry_dropped(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        h.worker.queue_discovery("xpki-srv", h.responding())
        await h.daemon.run_due()
        gate = threading.Event()
        original_step = h.worker.step

        def blocked_step(request: Any) -> StepResult:
            gate.wait(timeout=30)
            return original_step(request)

        h.worker.step = blocked_step  # type: ignore[method-assign]
        h.worker.queue_step("mycert1", issued_result(), PENDING)
        stepping = asyncio.create_task(h.daemon.run_due())
        await asyncio.sleep(0.05)

        h.commit(running([server_entry()], []))
        h.commit(running([server_entry()], [enroll_entry()]))
        gate.set()
        await stepping

        assert h.enrollment_state()["state"] == "pending"
        assert "transaction-id" not in h.enrollment_state()

    run(tmp_path, scenario)


def test_shorter_poll_interval_applies_now(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()], poll_interval=600))
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", PENDING, PENDING)
        await h.daemon.run_due()
        await h.daemon.run_due()
        assert h.enrollment_state()["next-attempt"] == "2026-12-01T00:10:00Z"

        h.clock.advance(5)
        h.commit(running([server_entry()], [enroll_entry()], poll_interval=10))

        assert h.enrollment_state()["next-attempt"] == "2026-12-01T00:00:15Z"
        assert h.server_state()["next-check"] == "2026-12-01T01:00:00Z"
        h.clock.advance(10)
        await h.daemon.run_due()
        assert len(h.worker.requests) == 2

    run(tmp_path, scenario)


def test_state_version_tracks_changes(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        provider = h.daemon.provide_state
        version_of = h.hooks.state_versions[provider]
        assert provider in h.hooks.state_providers
        seen: dict[object, dict[str, Any]] = {}

        def observe() -> object:
            version = version_of()
            state = provider()
            # One version must always stand for the same JSON.
            assert seen.setdefault(version, state) == state
            return version

        versions = [observe()]
        h.commit(running([server_entry()], [enroll_entry()]))
        versions.append(observe())
        h.worker.queue_discovery("xpki-srv", h.responding())
        h.worker.queue_step("mycert1", PENDING, issued_result())
        await h.daemon.run_due()
        versions.append(observe())
        await h.daemon.run_due()
        versions.append(observe())
        h.clock.advance(120)
        await h.daemon.run_due()
        versions.append(observe())
        await h.hooks.rpc_handlers["pki-agent:re-enroll"]({"name": "mycert1"})
        versions.append(observe())
        h.store.store_ca_certificate("xpki-srv", "xpki-srv", CARole.ROOT,
                                     make_certificate(make_name("Root"), ca=True))
        versions.append(observe())
        await h.hooks.rpc_handlers["pki-agent:remove-ca-certificate"]({"label": "xpki-srv"})
        versions.append(observe())

        assert len(set(versions)) == len(versions)
        assert h.enrollment_state()["state"] == "pending"

    run(tmp_path, scenario)


def test_state_version_ignores_clock(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.commit(running([server_entry()], [enroll_entry()]))
        version_of = h.hooks.state_versions[h.daemon.provide_state]
        before = version_of()
        uptime_before = h.state()["daemon"]["uptime"]

        h.clock.advance(5)

        assert version_of() == before
        assert h.state()["daemon"]["uptime"] != uptime_before
        assert h.daemon.provide_daemon_state not in h.hooks.state_versions

    run(tmp_path, scenario)
