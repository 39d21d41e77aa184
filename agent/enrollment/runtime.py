"""Per-server and per-enrollment bookkeeping of the daemon, and the view transitions.

Only the event loop touches these records.  Each change replaces the
immutable view, which the state provider reads.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from agent.enrollment.config import EnrollConfig, ServerConfig
from agent.enrollment.outcomes import DiscoveryResult, ServerContext, StepKind, StepResult
from agent.enrollment.state import EnrollmentState, EnrollmentView, ServerStatus, ServerView
from agent.enrollment.timing import backoff_delay, renewal_time
from agent.pki import Lineage

logger = logging.getLogger(__name__)


@dataclass
class ServerRecord:
    """A configured server, its last discovery and its next check."""

    config: ServerConfig
    view: ServerView
    context: ServerContext | None = None
    due: datetime.datetime | None = None
    failures: int = 0
    generation: int = 0


@dataclass
class EnrollmentRecord:
    """A configured enrollment, what the next step must do, and when."""

    config: EnrollConfig
    view: EnrollmentView
    due: datetime.datetime | None = None
    failures: int = 0
    generation: int = 0
    reset: bool = False
    renew_now: bool = False
    waiting_for_server: bool = True


def schedule_check(record: ServerRecord, when: datetime.datetime) -> None:
    """Check the server at `when`, and show that time as its next-check."""
    record.due = when
    record.view = replace(record.view, next_check=when)


def schedule_attempt(record: EnrollmentRecord, when: datetime.datetime) -> None:
    """Run the enrollment's next step at `when`, and show that time as its next-attempt.

    An enrollment that waits for its server keeps no next-attempt, because
    the step runs only after the server responds.
    """
    record.due = when
    if not record.waiting_for_server:
        record.view = replace(record.view, next_attempt=when)


def new_server_record(config: ServerConfig, now: datetime.datetime) -> ServerRecord:
    """Create the record of a newly configured or changed server."""
    if not config.enabled:
        view = ServerView(id=config.id, label=config.label, status=ServerStatus.DISABLED,
                          message="server is disabled and not contacted")
        return ServerRecord(config=config, view=view)
    view = ServerView(id=config.id, label=config.label, next_check=now)
    return ServerRecord(config=config, view=view, due=now)


def initial_enrollment_view(config: EnrollConfig, lineage: Lineage | None) -> EnrollmentView:
    """Return the view of an enrollment at start-up or after a commit.

    A stored lineage for the same request shows its last known result, so a
    restart does not turn an issued certificate back into PENDING.
    """
    view = EnrollmentView(name=config.name, server=config.server, dn=config.dn,
                          warnings=config.warnings(), reason="request not yet sent")
    if lineage is None or lineage.request_digest != config.request_digest():
        return view
    if lineage.rejection is not None:
        return replace(view, state=EnrollmentState.REJECTED,
                       reason=lineage.rejection.get("reason"),
                       fail_info=lineage.rejection.get("fail-info"),
                       hresult=lineage.rejection.get("hresult"))
    if lineage.certificate is not None:
        return replace(view, state=EnrollmentState.ISSUED, reason="certificate issued",
                       renewing=lineage.renewal,
                       next_renewal=renewal_time(lineage.certificate, config.renewal_threshold))
    if lineage.pending_file is not None:
        return replace(view, reason="waiting for the CA to issue the certificate",
                       transaction_id=lineage.transaction_id)
    return view


def apply_discovery(record: ServerRecord, result: DiscoveryResult, now: datetime.datetime,
                    check_interval: int, random: Callable[[], float]) -> bool:
    """Update a server record from a discovery; return True when the status changed."""
    previous = record.view.status
    if result.status is ServerStatus.RESPONDING:
        record.failures = 0
        delay = float(check_interval)
    else:
        record.failures += 1
        delay = min(backoff_delay(60.0, record.failures, random), float(check_interval))
    record.context = result.context
    record.due = now + datetime.timedelta(seconds=delay)
    record.view = replace(record.view, status=result.status, message=result.message,
                          last_check=now, next_check=record.due,
                          capabilities=result.capabilities,
                          encryption_certificate=result.encryption_certificate,
                          signer_certificate=result.signer_certificate)
    return previous is not result.status


def apply_step(record: EnrollmentRecord, result: StepResult, now: datetime.datetime,
               poll_interval: int, random: Callable[[], float]) -> None:
    """Update an enrollment record from the result of one step."""
    view = record.view
    attempts = 0 if result.new_request else view.attempts
    if result.sent:
        attempts += 1
    view = replace(view, attempts=attempts,
                   last_attempt=now if result.sent else view.last_attempt,
                   transaction_id=result.transaction_id or view.transaction_id)
    record.view = _TRANSITIONS[result.kind](record, view, result, now, poll_interval, random)
    record.view = replace(record.view, next_attempt=record.due)


def _on_issued(record: EnrollmentRecord, view: EnrollmentView, result: StepResult,
               now: datetime.datetime, poll_interval: int,
               random: Callable[[], float]) -> EnrollmentView:
    record.failures = 0
    assert result.certificate is not None
    renew_at = renewal_time(result.certificate, record.config.renewal_threshold)
    record.due = max(renew_at, now)
    return replace(view, state=EnrollmentState.ISSUED, reason=result.reason, fail_info=None,
                   hresult=None, renewing=False, next_renewal=renew_at)


def _on_pending(record: EnrollmentRecord, view: EnrollmentView, result: StepResult,
                now: datetime.datetime, poll_interval: int,
                random: Callable[[], float]) -> EnrollmentView:
    record.failures = 0
    record.due = now + datetime.timedelta(seconds=poll_interval)
    if result.renewal:
        return replace(view, renewing=True, reason=result.reason)
    return replace(view, state=EnrollmentState.PENDING, reason=result.reason, fail_info=None,
                   hresult=None)


def _on_rejected(record: EnrollmentRecord, view: EnrollmentView, result: StepResult,
                 now: datetime.datetime, poll_interval: int,
                 random: Callable[[], float]) -> EnrollmentView:
    view = replace(view, reason=result.reason, fail_info=result.fail_info,
                   hresult=result.hresult)
    if result.renewal:
        # The current certificate stays in use, and renewal is retried later.
        record.failures += 1
        record.due = now + datetime.timedelta(
            seconds=backoff_delay(poll_interval, record.failures, random))
        return replace(view, renewing=True)
    record.due = None
    return replace(view, state=EnrollmentState.REJECTED, renewing=False)


def _on_error(record: EnrollmentRecord, view: EnrollmentView, result: StepResult,
              now: datetime.datetime, poll_interval: int,
              random: Callable[[], float]) -> EnrollmentView:
    record.failures += 1
    record.due = now + datetime.timedelta(
        seconds=backoff_delay(poll_interval, record.failures, random))
    view = replace(view, reason=result.reason)
    if result.renewal:
        return replace(view, renewing=True)
    return replace(view, state=EnrollmentState.FAILED)


def _on_idle(record: EnrollmentRecord, view: EnrollmentView, result: StepResult,
             now: datetime.datetime, poll_interval: int,
             random: Callable[[], float]) -> EnrollmentView:
    record.due = None
    if view.next_renewal is not None and view.state is EnrollmentState.ISSUED:
        record.due = max(view.next_renewal, now)
    return view


_TRANSITIONS = {
    StepKind.ISSUED: _on_issued,
    StepKind.PENDING: _on_pending,
    StepKind.REJECTED: _on_rejected,
    StepKind.ERROR: _on_error,
    StepKind.IDLE: _on_idle,
}
