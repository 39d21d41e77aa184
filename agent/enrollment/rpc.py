"""Handlers of the module's RPCs: trigger, renew-now, re-enroll, remove-ca-certificate.

Each handler only changes in-memory records and wakes the scheduler, except
remove-ca-certificate, which also deletes one small file.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from agent.enrollment.config import MODULE
from agent.enrollment.state import EnrollmentState, EnrollmentView
from agent.errors import AgentError
from agent.hooks import JSONData, RPCHandler

if TYPE_CHECKING:
    from agent.enrollment.daemon import EnrollmentDaemon

logger = logging.getLogger(__name__)


class EnrollmentRPCError(AgentError):
    """The enrollment named in an RPC input is missing or cannot do what the RPC requests."""

    def __init__(self, rpc: str, name: str, detail: str) -> None:
        self.rpc = rpc
        self.name = name
        self.detail = detail
        super().__init__(f"{rpc} {name!r} failed: {detail}")


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
                    server.due = now
            for record in daemon.enrollments.values():
                if record.view.state is not EnrollmentState.ISSUED or record.view.renewing:
                    record.due = now
        logger.info("trigger: checking %d servers and polling pending requests",
                    len(daemon.servers))
        daemon.wake()
        return None

    async def renew_now(self, rpc_input: JSONData) -> JSONData | None:
        """Start renewal of an issued certificate now."""
        name = _input_leaf(rpc_input, "name")
        record = self.daemon.enrollments.get(name)
        if record is None:
            raise EnrollmentRPCError("renew-now", name, "enrollment not found")
        lineage = self.daemon.store.lineage(name)
        if lineage is None or lineage.certificate is None:
            raise EnrollmentRPCError("renew-now", name,
                                     "no issued certificate to renew; use re-enroll")
        with self.daemon._lock:
            record.renew_now = True
            record.due = self.daemon.clock.now()
        logger.info("enrollment %s: renewal requested by renew-now", name)
        self.daemon.wake()
        return None

    async def re_enroll(self, rpc_input: JSONData) -> JSONData | None:
        """Discard the request or certificate of an enrollment and enroll with a new key."""
        name = _input_leaf(rpc_input, "name")
        daemon = self.daemon
        record = daemon.enrollments.get(name)
        if record is None:
            raise EnrollmentRPCError("re-enroll", name, "enrollment not found")
        previous = record.view.state
        with daemon._lock:
            record.generation += 1
            record.reset = True
            record.renew_now = False
            record.failures = 0
            record.due = daemon.clock.now()
            record.view = _fresh_view(record.view)
        daemon._announce(previous, record)
        daemon.wake()
        return None

    async def remove_ca_certificate(self, rpc_input: JSONData) -> JSONData | None:
        """Delete one CA-local row by label; the server is checked again at once."""
        label = _input_leaf(rpc_input, "label")
        row = self.daemon.store.remove_ca_certificate(label)
        logger.info("CA certificate %s of server %s removed", label, row.server)
        server = self.daemon.servers.get(row.server)
        if server is not None and server.config.enabled:
            server.due = self.daemon.clock.now()
            self.daemon.wake()
        return None


def _fresh_view(view: EnrollmentView) -> EnrollmentView:
    return replace(view, state=EnrollmentState.PENDING, reason="re-enroll requested",
                   fail_info=None, hresult=None, transaction_id=None, attempts=0,
                   last_attempt=None, renewing=False)


def _input_leaf(rpc_input: JSONData, leaf: str) -> str:
    # The core may pass the input with or without the module-qualified wrapper.
    for key, value in rpc_input.items():
        if isinstance(value, dict) and key.startswith(f"{MODULE}:"):
            rpc_input = value
            break
    value = rpc_input.get(leaf, rpc_input.get(f"{MODULE}:{leaf}"))
    if not isinstance(value, str) or not value:
        raise EnrollmentRPCError("rpc", str(value), f"input leaf {leaf!r} missing")
    return value
