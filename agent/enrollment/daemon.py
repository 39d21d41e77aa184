"""The enrollment daemon: turns committed configuration into SCEP work and state.

Commit subscribers, the state provider and RPC handlers only update
in-memory records and wake the scheduler, so they return at once.  All SCEP
I/O and store writes run in worker threads, one job at a time per server and
per enrollment.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import random as random_module
import threading
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from agent.enrollment import runtime
from agent.enrollment.config import DaemonConfig, ServerConfig, parse_config
from agent.enrollment.outcomes import DiscoveryResult, StepKind, StepRequest, StepResult
from agent.enrollment.rpc import RPCHandlers
from agent.enrollment.state import (
    EnrollmentState,
    EnrollmentView,
    ServerStatus,
    ServerView,
    Snapshot,
    render_daemon_state,
    render_state,
)
from agent.enrollment.threads import run_in_thread
from agent.enrollment.timing import Clock, SystemClock, format_time
from agent.hooks import Hooks, JSONData
from agent.pki import PKIStore

if TYPE_CHECKING:
    from agent.enrollment.worker import Worker

logger = logging.getLogger(__name__)


# The scheduler wakes at least this often, so a clock jump cannot stall it.
MAX_SLEEP_SECONDS = 60.0
# Worker threads that may run at once.  Building SCEP messages is partly pure
# Python, so many runnable threads would delay the event loop's NETCONF work
# through the GIL.  NOTE: with a CA that replies slowly, jobs beyond this
# number wait their turn; eight suits a device with a handful of enrollments.
MAX_CONCURRENT_JOBS = 8


class EnrollmentDaemon:
    """Server checks, enrollment state machine, polling and renewal."""

    def __init__(self, hooks: Hooks, store: PKIStore, worker: Worker,
                 clock: Clock | None = None,
                 random: Callable[[], float] = random_module.random) -> None:
        self.hooks = hooks
        self.store = store
        self.worker = worker
        self.clock = clock or SystemClock()
        self.random = random
        self.config = DaemonConfig()
        self.servers: dict[str, runtime.ServerRecord] = {}
        self.enrollments: dict[str, runtime.EnrollmentRecord] = {}
        self.started: datetime.datetime | None = None
        self._pending_config: JSONData | None = None
        self._busy: set[str] = set()
        self._purge: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_JOBS)
        self._state_inputs: tuple[object, ...] = ()
        self._state_version = 0
        self.rpc = RPCHandlers(self)

    @classmethod
    def create(cls, hooks: Hooks, state_dir: Path, **options: Any) -> EnrollmentDaemon:
        """Build a daemon with the SCEP worker and the store under `state_dir/pki`."""
        store = PKIStore(state_dir / "pki")
        return cls(hooks, store, DeferredSCEPWorker(store), **options)

    def attach(self) -> None:
        """Register the commit subscriber, state providers and RPC handlers.

        The daemon container's uptime changes every second, so it has its own
        provider without a version.  The versioned provider lets the NETCONF
        core reuse its parsed tree until a server, enrollment or stored
        certificate changes.
        """
        self.hooks.commit_subscribers.append(self.on_commit)
        self.hooks.state_providers.append(self.provide_daemon_state)
        self.hooks.state_providers.append(self.provide_state)
        self.hooks.state_versions[self.provide_state] = self.state_version
        self.hooks.rpc_handlers.update(self.rpc.table())

    async def start(self, run_scheduler: bool = True) -> None:
        """Load the store and start the scheduler (tests may step it with `run_due`)."""
        await run_in_thread(self.store.load)
        self.started = self.clock.now()
        self._wake = asyncio.Event()
        if self._pending_config is not None:
            document, self._pending_config = self._pending_config, None
            self._apply_config(document)
        if run_scheduler:
            self._loop_task = asyncio.create_task(self._run(), name="enrollment-daemon")
        logger.info("enrollment daemon started with store %s", self.store.directory)

    async def stop(self) -> None:
        """Stop the scheduler; jobs already in a worker thread finish on their own."""
        tasks = [task for task in (self._loop_task, *self._tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None
        self.started = None
        logger.info("enrollment daemon stopped")

    # Backend contract

    def on_commit(self, old: JSONData, new: JSONData) -> None:
        """Take the new running configuration; the work itself is scheduled."""
        del old
        if self._wake is None:
            self._pending_config = new
            return
        self._apply_config(new)

    def provide_daemon_state(self) -> JSONData:
        """Return the daemon container (status, start time, uptime) as RFC 7951 JSON."""
        return render_daemon_state(self.started, self.clock.now())

    def provide_state(self) -> JSONData:
        """Return the servers', enrollments' and certificates' state as RFC 7951 JSON."""
        with self._lock:
            servers, enrollments = self._views()
            snapshot = Snapshot(
                servers=servers,
                enrollments=enrollments,
                ca_certificates=self.store.ca_certificates(),
                lineages=self.store.lineages(),
            )
        return render_state(snapshot)

    def state_version(self) -> int:
        """Return a number that changes whenever `provide_state` would return other JSON.

        Views are immutable and replaced on every change, and the store counts
        its own changes, so comparing them with the last call finds every
        change without a counter at each place that changes a view.
        """
        with self._lock:
            inputs = (*self._views(), self.store.version)
        if inputs != self._state_inputs:
            self._state_inputs = inputs
            self._state_version += 1
        return self._state_version

    def _views(self) -> tuple[tuple[ServerView, ...], tuple[EnrollmentView, ...]]:
        """Return the server and enrollment views; the caller holds `_lock`."""
        return (tuple(record.view for record in self.servers.values()),
                tuple(record.view for record in self.enrollments.values()))

    async def run_due(self) -> None:
        """Start every job that is due now and wait until all jobs finish.

        The scheduler task does the same on its own; this lets tests with an
        injected clock step the daemon without waiting for real time.
        """
        if self._wake is None:
            self._wake = asyncio.Event()
        with self._lock:
            self._launch_due(self.clock.now())
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def wake(self) -> None:
        """Make the scheduler look for due work now."""
        if self._wake is not None:
            self._wake.set()

    # Configuration

    def _apply_config(self, document: JSONData) -> None:
        config = parse_config(document)
        now = self.clock.now()
        with self._lock:
            self._apply_servers(config, now)
            self._apply_enrollments(config, now)
            self._shorten_waits(config, now)
            self.config = config
        self.wake()

    def _apply_servers(self, config: DaemonConfig, now: datetime.datetime) -> None:
        for label in set(self.servers) - set(config.servers):
            del self.servers[label]
            logger.info("enrollment server %s removed", label)
        for label, server in config.servers.items():
            record = self.servers.get(label)
            if record is not None and record.config == server:
                continue
            if record is not None and record.config.discovery_key() == server.discovery_key():
                # Cipher or renew-request changed: keep the verified CA, use the new settings.
                record.config = server
                record.view = replace(record.view, id=server.id)
                if record.context is not None:
                    record.context = replace(record.context, config=server)
                continue
            fresh = runtime.new_server_record(server, now)
            fresh.generation = record.generation + 1 if record is not None else 0
            self.servers[label] = fresh
            self._set_server_waiting(label)
            if fresh.view.status is ServerStatus.DISABLED:
                self._publish_server(fresh)

    def _apply_enrollments(self, config: DaemonConfig, now: datetime.datetime) -> None:
        for name in set(self.enrollments) - set(config.enrollments):
            removed = self.enrollments.pop(name)
            self._purge.add(name)
            logger.info("enrollment %s removed (transaction %s); deleting its key and "
                        "certificate", name, removed.view.transaction_id)
        lineages = self.store.lineages()
        for name, enroll in config.enrollments.items():
            record = self.enrollments.get(name)
            if record is not None and record.config == enroll:
                continue
            # A changed entry, or one deleted and added back before its files
            # were purged, starts over with a new key.
            reset = record is not None or name in self._purge
            self._purge.discard(name)
            view = runtime.initial_enrollment_view(enroll, None if reset else lineages.get(name))
            fresh = runtime.EnrollmentRecord(config=enroll, view=view, reset=reset, due=now)
            if record is not None:
                fresh.generation = record.generation + 1
            self.enrollments[name] = fresh
            self._set_enrollment_waiting(fresh)
            self._announce(record.view.state if record is not None else None, fresh)

    def _shorten_waits(self, config: DaemonConfig, now: datetime.datetime) -> None:
        # A shorter interval applies at once, not after the wait that the old one set.
        poll_limit = now + datetime.timedelta(seconds=config.poll_interval)
        for record in self.enrollments.values():
            polling = record.view.state is not EnrollmentState.ISSUED or record.view.renewing
            if polling and record.due is not None and record.due > poll_limit:
                record.due = poll_limit
                record.view = replace(record.view, next_attempt=poll_limit)
        check_limit = now + datetime.timedelta(seconds=config.server_check_interval)
        for server in self.servers.values():
            if server.due is not None and server.due > check_limit:
                server.due = check_limit
                server.view = replace(server.view, next_check=check_limit)

    def _set_server_waiting(self, label: str) -> None:
        for record in self.enrollments.values():
            if record.config.server == label:
                self._set_enrollment_waiting(record)

    def _set_enrollment_waiting(self, record: runtime.EnrollmentRecord) -> None:
        server = self.servers.get(record.config.server)
        if server is not None and server.context is not None:
            record.waiting_for_server = False
            return
        record.waiting_for_server = True
        status = server.view.status if server is not None else "not configured"
        # An issued or rejected entry keeps its reason, which a restart must not hide.
        if record.view.state in (EnrollmentState.PENDING, EnrollmentState.FAILED):
            record.view = replace(record.view, next_attempt=None,
                                  reason=f"waiting for enrollment server "
                                         f"{record.config.server}: {status}")

    # Scheduler

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            now = self.clock.now()
            with self._lock:
                self._launch_due(now)
                delay = self._seconds_until_due(now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def _launch_due(self, now: datetime.datetime) -> None:
        for label, server in self.servers.items():
            if server.due is not None and server.due <= now and f"s:{label}" not in self._busy:
                self._spawn(f"s:{label}", self._discover(label, server.generation))
        for name in list(self._purge):
            if f"e:{name}" not in self._busy:
                self._purge.discard(name)
                self._spawn(f"e:{name}", self._purge_enrollment(name))
        for name, record in self.enrollments.items():
            if (record.due is not None and record.due <= now and not record.waiting_for_server
                    and f"e:{name}" not in self._busy):
                self._spawn(f"e:{name}", self._step(name, record))

    def _seconds_until_due(self, now: datetime.datetime) -> float:
        times = [s.due for s in self.servers.values() if s.due is not None]
        times += [e.due for e in self.enrollments.values()
                  if e.due is not None and not e.waiting_for_server]
        if not times:
            return MAX_SLEEP_SECONDS
        return min(max((min(times) - now).total_seconds(), 0.0), MAX_SLEEP_SECONDS)

    def _spawn(self, key: str, job: Coroutine[Any, Any, None]) -> None:
        self._busy.add(key)
        task = asyncio.create_task(job, name=key)
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._busy.discard(key)
            self.wake()

        task.add_done_callback(finished)

    # Jobs

    async def _discover(self, label: str, generation: int) -> None:
        record = self.servers.get(label)
        if record is None:
            return
        async with self._slots:
            result = await run_in_thread(self._run_discovery, record.config)
        current = self.servers.get(label)
        # A server changed, or deleted and added back, while the check ran is checked again.
        if current is not record or current.generation != generation:
            return
        now = self.clock.now()
        with self._lock:
            changed = runtime.apply_discovery(current, result, now,
                                              self.config.server_check_interval, self.random)
            for enrollment in self.enrollments.values():
                if enrollment.config.server == label:
                    self._set_enrollment_waiting(enrollment)
                    if enrollment.due is None and result.context is not None and changed:
                        runtime.schedule_attempt(enrollment, now)
        if changed:
            self._publish_server(current)

    async def _purge_enrollment(self, name: str) -> None:
        if name in self.enrollments:
            return
        async with self._slots:
            await run_in_thread(self.store.delete_lineage, name)

    async def _step(self, name: str, record: runtime.EnrollmentRecord) -> None:
        server = self.servers.get(record.config.server)
        if server is None or server.context is None:
            record.waiting_for_server = True
            return
        request = StepRequest(config=record.config, context=server.context,
                              now=self.clock.now(), reset=record.reset,
                              renew_now=record.renew_now)
        generation = record.generation
        lineage = self.store.lineage(name)
        certificate = lineage.certificate if lineage is not None else None
        record.reset = False
        record.renew_now = False
        async with self._slots:
            result = await run_in_thread(self._run_step, request)
        current = self.enrollments.get(name)
        # The result of a request that was edited, re-enrolled or deleted meanwhile is dropped.
        if current is not record or current.generation != generation:
            return
        before = current.view
        with self._lock:
            runtime.apply_step(current, result, self.clock.now(), self.config.poll_interval,
                               self.random)
        after = current.view
        # One log line and one notification per change, not one per CertPoll.
        if _change_key(before) != _change_key(after):
            self._announce(before.state, current)
        self._check_expiring(current, result, certificate)

    def _run_discovery(self, server: ServerConfig) -> DiscoveryResult:
        try:
            return self.worker.discover(server)
        except Exception as exc:
            # A bug or a store write error must not stop the checks; retried with backoff.
            logger.exception("enrollment server %s: check failed unexpectedly", server.label)
            return DiscoveryResult(status=ServerStatus.CA_NOT_DOWNLOADED,
                                   message=f"internal error: {type(exc).__name__}: {exc}")

    def _run_step(self, request: StepRequest) -> StepResult:
        try:
            return self.worker.step(request)
        except Exception as exc:
            # A bug or an unreadable store must not stop the daemon; the step is retried.
            logger.exception("enrollment %s: step failed unexpectedly", request.config.name)
            return StepResult(kind=StepKind.ERROR, reason=f"internal error: {type(exc).__name__}")

    # Events

    def _announce(self, previous: EnrollmentState | None,
                  record: runtime.EnrollmentRecord) -> None:
        view = record.view
        logger.info("enrollment %s: %s (transaction %s): %s", view.name, view.state,
                    view.transaction_id or "none", view.reason)
        body: dict[str, Any] = {"name": view.name, "state": str(view.state)}
        if previous is not None:
            body["previous-state"] = str(previous)
        if view.reason:
            body["reason"] = view.reason
        if view.transaction_id:
            body["transaction-id"] = view.transaction_id
        self.hooks.publish("pki-agent:enrollment-state-change", body)

    def _check_expiring(self, record: runtime.EnrollmentRecord, result: StepResult,
                        certificate: x509.Certificate | None) -> None:
        # The step that starts a renewal is the moment the threshold was reached.
        if certificate is None or not (result.renewal and result.new_request):
            return
        not_after = certificate.not_valid_after_utc
        seconds_left = int((not_after - self.clock.now()).total_seconds())
        logger.info("enrollment %s: certificate reached its renewal threshold, expires %s",
                    record.config.name, format_time(not_after))
        # RFC 7951 §6.1: int64 values are JSON strings.
        self.hooks.publish("pki-agent:certificate-expiring", {
            "label": record.config.name, "not-after": format_time(not_after),
            "seconds-left": str(seconds_left)})

    def _publish_server(self, record: runtime.ServerRecord) -> None:
        view = record.view
        healthy = view.status in (ServerStatus.RESPONDING, ServerStatus.DISABLED)
        logger.log(logging.INFO if healthy else logging.WARNING,
                   "enrollment server %s (id %d): %s%s", record.config.label, record.config.id,
                   view.status, f": {view.message}" if view.message else "")
        body: dict[str, Any] = {"id": record.config.id, "label": record.config.label,
                                "status": str(view.status)}
        if view.message:
            body["message"] = view.message
        self.hooks.publish("pki-agent:server-status-change", body)


class DeferredSCEPWorker:
    """The SCEP worker, created on the first server check or step.

    Creating it imports requests, asn1crypto and the SCEP modules, which an
    agent with no enrollment server never needs, so its idle memory stays lower.
    """

    def __init__(self, store: PKIStore) -> None:
        self.store = store
        self._worker: Worker | None = None
        self._lock = threading.Lock()

    def discover(self, server: ServerConfig) -> DiscoveryResult:
        """Check a server with the SCEP worker."""
        return self._load().discover(server)

    def step(self, request: StepRequest) -> StepResult:
        """Advance one enrollment with the SCEP worker."""
        return self._load().step(request)

    def _load(self) -> Worker:
        with self._lock:
            if self._worker is None:
                from agent.enrollment.worker import SCEPWorker

                self._worker = SCEPWorker(self.store)
            return self._worker


def _change_key(view: EnrollmentView) -> tuple[object, ...]:
    return (view.state, view.renewing, view.transaction_id, view.fail_info, view.hresult)
