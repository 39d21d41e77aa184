"""Handlers of the module's RPCs: trigger, renew-now, re-enroll, remove-ca-certificate.

Each handler only changes in-memory records and wakes the scheduler, except
remove-ca-certificate, which also deletes one small file.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from agent.enrollment import runtime
from agent.enrollment.config import MODULE
from agent.enrollment.state import EnrollmentState, EnrollmentView
from agent.hooks import BackendCondition, BackendError, JSONData, RPCHandler
from agent.pki import CACertificateNotFoundError

if TYPE_CHECKING:
    from agent.enrollment.daemon import EnrollmentDaemon

logger = logging.getLogger(__name__)


class EnrollmentRPCError(BackendError):
    """The enrollment or label named in an RPC input is missing or cannot take the request.

    The NETCONF core sends it as an rpc-error with `condition` as error-tag
    and the input leaf as error-path.
    """

    def __init__(self, rpc: str, name: str, detail: str,
                 condition: BackendCondition = BackendCondition.OPERATION_FAILED,
                 leaf: str = "name") -> None:
        self.rpc = rpc
        self.name = name
        self.detail = detail
        super().__init__(f"{rpc} {name!r} failed: {detail}", condition,
                         path=f"/{MODULE}:{rpc}/{leaf}")


class RPCHandlers:
    """The RPC handlers of one daemon, keyed by qualified name in `table`."""

    def __init__(self, daemon: EnrollmentDaemon) -> None:
        self.daemon = daemon

    def table(self) -> dict[str, RPCHandler]:
        """Return the handlers keyed by qualified RPC name."""
        return {
            f"{MODULE}:trigger": self.trigger,
            f"{MODULE}:renew-now": self.renew_now,
            f"{MODULE}:re-enroll": self.re_enroll,
            f"{MODULE}:remove-ca-certificate": self.remove_ca_certificate,
        }

    async def trigger(self, rpc_input: JSONData) -> JSONData | None:
        """Check every enabled server and poll every pending or failed request now."""
        del rpc_input
        daemon = self.daemon
        now = daemon.clock.now()
        with daemon._lock:
            for server in daemon.servers.values():
                if server.config.enabled:
                    runtime.schedule_check(server, now)
            for record in daemon.enrollments.values():
                if record.view.state is not EnrollmentState.ISSUED or record.view.renewing:
                    runtime.schedule_attempt(record, now)
        logger.info("trigger: checking %d servers and polling pending requests",
                    len(daemon.servers))
        daemon.wake()
        return None

    async def renew_now(self, rpc_input: JSONData) -> JSONData | None:
        """Start renewal of an issued certificate now."""
        name = _input_leaf(rpc_input, "renew-now", "name")
        record = self.daemon.enrollments.get(name)
        if record is None:
            raise EnrollmentRPCError("renew-now", name, "enrollment not found",
                                     BackendCondition.DATA_MISSING)
        lineage = self.daemon.store.lineage(name)
        if lineage is None or lineage.certificate is None:
            raise EnrollmentRPCError(
                "renew-now", name,
                f"the enrollment has no issued certificate to renew (state {record.view.state}); "
                "wait for the certificate or use re-enroll", BackendCondition.INVALID_VALUE)
        with self.daemon._lock:
            record.renew_now = True
            runtime.schedule_attempt(record, self.daemon.clock.now())
        logger.info("enrollment %s: renewal requested by renew-now", name)
        self.daemon.wake()
        return None

    async def re_enroll(self, rpc_input: JSONData) -> JSONData | None:
        """Discard the request or certificate of an enrollment and enroll with a new key."""
        name = _input_leaf(rpc_input, "re-enroll", "name")
        daemon = self.daemon
        record = daemon.enrollments.get(name)
        if record is None:
            raise EnrollmentRPCError("re-enroll", name, "enrollment not found",
                                     BackendCondition.DATA_MISSING)
        previous = record.view.state
        with daemon._lock:
            record.generation += 1
            record.reset = True
            record.renew_now = False
            record.failures = 0
            record.view = _fresh_view(record.view)
            runtime.schedule_attempt(record, daemon.clock.now())
        daemon._announce(previous, record)
        daemon.wake()
        return None

    async def remove_ca_certificate(self, rpc_input: JSONData) -> JSONData | None:
        """Delete one CA-local row by label; the server is checked again at once."""
        label = _input_leaf(rpc_input, "remove-ca-certificate", "label")
        try:
            row = self.daemon.store.remove_ca_certificate(label)
        except CACertificateNotFoundError as exc:
            raise EnrollmentRPCError(
                "remove-ca-certificate", label,
                "no CA-local certificate with this label in the certificate table",
                BackendCondition.DATA_MISSING, leaf="label") from exc
        logger.info("CA certificate %s of server %s removed", label, row.server)
        server = self.daemon.servers.get(row.server)
        if server is not None and server.config.enabled:
            with self.daemon._lock:
                runtime.schedule_check(server, self.daemon.clock.now())
            self.daemon.wake()
        return None


def _fresh_view(view: EnrollmentView) -> EnrollmentView:
    return replace(view, state=EnrollmentState.PENDING, reason="re-enroll requested",
                   fail_info=None, hresult=None, transaction_id=None, attempts=0,
                   last_attempt=None, renewing=False)


def _input_leaf(rpc_input: JSONData, rpc: str, leaf: str) -> str:
    # The core may pass the input with or without the module-qualified wrapper.
    for key, value in rpc_input.items():
        if isinstance(value, dict) and key.startswith(f"{MODULE}:"):
            rpc_input = value
            break
    value = rpc_input.get(leaf, rpc_input.get(f"{MODULE}:{leaf}"))
    if not isinstance(value, str) or not value:
        raise EnrollmentRPCError(rpc, str(value), f"input leaf {leaf!r} missing",
                                 BackendCondition.INVALID_VALUE, leaf=leaf)
    return value
