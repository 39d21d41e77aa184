"""The daemon's blocking work: SCEP exchanges and store writes, run in worker threads.

Nothing here touches the daemon's records; each call takes immutable inputs
and returns an outcome value that the event loop applies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from cryptography import x509

from agent.enrollment import scep_calls
from agent.enrollment.config import ServerConfig
from agent.enrollment.outcomes import (
    DiscoveryResult,
    ServerContext,
    StepKind,
    StepRequest,
    StepResult,
)
from agent.enrollment.state import ServerStatus
from agent.enrollment.timing import is_expired, renewal_time
from agent.pki import (
    CALabelConflictError,
    CARole,
    Lineage,
    PKIStore,
    StoreCorruptError,
    subject_hash,
)
from agent.scep import errors as scep_errors
from agent.scep.cacerts import certificate_der

logger = logging.getLogger(__name__)

# Key generations that may run at once: one less than the cores, at least one.
# cryptography releases the GIL while it generates a key, so more of them would
# take the CPU that the event loop needs for NETCONF replies during a burst.
# The threads keep the normal priority: at niceness 10, other busy processes
# delayed every enrollment (bench/run --only enrollment, 2 shared cores).
CPU_SLOTS = max(1, (os.cpu_count() or 2) - 1)

# Server status for each SCEPError class that a CA download raises.  The first
# class in the exception's MRO that is listed here gives the status.
_TRUST_STATUS: dict[type[scep_errors.SCEPError], ServerStatus] = {
    scep_errors.FingerprintMismatch: ServerStatus.CA_FINGERPRINT_MISMATCH,
    scep_errors.NoRACertificate: ServerStatus.NO_RA_CERT_FOUND,
    scep_errors.CANotDownloaded: ServerStatus.CA_NOT_DOWNLOADED,
    scep_errors.ChainError: ServerStatus.CA_NOT_DOWNLOADED,
    scep_errors.TransportError: ServerStatus.SERVER_NOT_REACHABLE,
    scep_errors.SCEPError: ServerStatus.CA_NOT_DOWNLOADED,
}


def discovery_status(exc: scep_errors.SCEPError) -> ServerStatus:
    """Return the server status for a failed CA download.

    A server that sent an HTTP reply, such as HTTP 500, is reachable, so its
    status is "CA not downloaded".  Only connection failures and timeouts
    make it "server not reachable".
    """
    if isinstance(exc, scep_errors.TransportError) and exc.answered:
        return ServerStatus.CA_NOT_DOWNLOADED
    return next(_TRUST_STATUS[kind] for kind in type(exc).__mro__ if kind in _TRUST_STATUS)


class Worker(Protocol):
    """The blocking operations the daemon runs in threads."""

    def discover(self, server: ServerConfig) -> DiscoveryResult:
        """Check a server: caps, CA certificates, fingerprint, RA selection."""
        ...

    def step(self, request: StepRequest) -> StepResult:
        """Advance one enrollment by one message at most."""
        ...


class SCEPWorker:
    """The real worker: SCEP over HTTP, results kept in the PKI store."""

    def __init__(self, store: PKIStore,
                 client_factory: Callable[[str], Any] = scep_calls.new_client,
                 key_factory: Callable[[int], Any] = scep_calls.generate_key) -> None:
        self.store = store
        self.client_factory = client_factory
        self.key_factory = key_factory
        # Idle clients by server URL.  A client is used by one thread at a time,
        # and returning it lets the next request reuse its HTTP connection.
        # NOTE: clients of a URL that is no longer configured stay here until
        # the agent stops; each is one requests.Session.
        self._idle_clients: dict[str, list[Any]] = {}
        self._clients_lock = threading.Lock()
        self._cpu_slots = threading.BoundedSemaphore(CPU_SLOTS)

    @contextlib.contextmanager
    def _client(self, url: str) -> Iterator[Any]:
        """Lend an idle client for `url`, or a new one, and take it back afterwards."""
        with self._clients_lock:
            idle = self._idle_clients.get(url)
            client = idle.pop() if idle else None
        if client is None:
            client = self.client_factory(url)
        try:
            yield client
        except BaseException:
            # A client whose request raised is closed and dropped, so a broken
            # connection is not reused and its session does not wait for the collector.
            client.close()
            raise
        with self._clients_lock:
            self._idle_clients.setdefault(url, []).append(client)

    # Discovery

    def discover(self, server: ServerConfig) -> DiscoveryResult:
        """Download and verify the CA certificates, then store them as CA-local rows."""
        with self._client(server.url) as client:
            capabilities = scep_calls.get_capabilities(client)
            names = scep_calls.capability_names(capabilities)
            try:
                trusted = scep_calls.get_trusted_ca(client, server.fingerprint,
                                                    server.fingerprint_alg)
            except scep_errors.SCEPError as exc:
                return DiscoveryResult(status=discovery_status(exc), message=str(exc),
                                       capabilities=names)
        try:
            labels = self._store_ca_rows(server.label, trusted)
        except CALabelConflictError as exc:
            return DiscoveryResult(status=ServerStatus.CA_LABEL_CONFLICT, message=str(exc),
                                   capabilities=names)
        context = ServerContext(config=server, trusted_ca=trusted, capabilities=capabilities)
        return DiscoveryResult(
            status=ServerStatus.RESPONDING,
            capabilities=names,
            context=context,
            encryption_certificate=labels.get(certificate_der(trusted.recipient)),
            signer_certificate=labels.get(certificate_der(trusted.signer)),
        )

    def _store_ca_rows(self, label: str, trusted: Any) -> dict[bytes, str]:
        """Store root, RA and intermediate rows; return the label of each certificate."""
        rows: list[tuple[str, CARole, x509.Certificate]] = [(label, CARole.ROOT, trusted.root)]
        for index, ra in enumerate(trusted.ras, start=1):
            suffix = "+ra" if index == 1 else f"+ra-{index}"
            rows.append((f"{label}{suffix}", CARole.RA, ra))
        for index, intermediate in enumerate(trusted.intermediates, start=1):
            rows.append((f"{label}-{index}.{subject_hash(intermediate)}", CARole.INTERMEDIATE,
                         intermediate))
        self.store.store_ca_certificates(label, rows)
        return {certificate_der(certificate): row_label for row_label, _, certificate in rows}

    # Enrollment

    def step(self, request: StepRequest) -> StepResult:
        """Advance one enrollment: send a request, poll, or renew, as its lineage requires."""
        config = request.config
        lineage = self.store.lineage(config.name)
        if (request.reset or lineage is None
                or lineage.request_digest != config.request_digest()):
            return self._begin(request, renewal=False, start=True)
        if lineage.pending_file is not None:
            return self._poll(request, lineage)
        if lineage.next_key_file is not None:
            return self._send(request, lineage, new_request=False)
        if lineage.rejection is not None:
            return StepResult(kind=StepKind.IDLE, reason="rejected by the CA")
        if lineage.certificate is None:
            return self._begin(request, renewal=False)
        if is_expired(lineage.certificate, request.now):
            logger.warning("enrollment %s: certificate expired at %s; enrolling again",
                           config.name, lineage.certificate.not_valid_after_utc)
            return self._begin(request, renewal=False)
        due = renewal_time(lineage.certificate, config.renewal_threshold)
        if request.renew_now or request.now >= due:
            return self._begin(request, renewal=True)
        return StepResult(kind=StepKind.IDLE, reason="certificate issued")

    def _begin(self, request: StepRequest, renewal: bool, start: bool = False) -> StepResult:
        """Generate a key, store it, then send its request.

        `start` replaces the stored lineage, as a new or changed entry needs.
        The store has written the key (0600) and the lineage pointing to it
        before `_send` runs, so a crash after sending cannot lose the key.
        """
        config = request.config
        with self._cpu_slots:
            key = self.key_factory(config.keysize)
        if start:
            lineage = self.store.start_request(config.name, config.server,
                                               config.request_digest(), key)
        else:
            lineage = self.store.begin_request(config.name, key, renewal=renewal)
        return self._send(request, lineage, new_request=True, key=key)

    def _send(self, request: StepRequest, lineage: Lineage, new_request: bool,
              key: Any = None) -> StepResult:
        """Send the request of the lineage's next key; `key` spares reading it back."""
        assert lineage.next_key_file is not None
        name = request.config.name
        if key is None:
            key = self.store.private_key(name, lineage.next_key_file)
        transaction_id = scep_calls.transaction_id(key)
        current = None
        if lineage.renewal and lineage.certificate is not None and lineage.key_file is not None:
            current = (lineage.certificate, self.store.private_key(name, lineage.key_file))
        logger.debug("enrollment %s: sending %s (transaction %s)", name,
                     "renewal" if current is not None else "PKCSReq", transaction_id)
        try:
            with self._client(request.context.config.url) as client:
                reply = scep_calls.send_request(client, request.context, request.config, key,
                                                current)
        except scep_errors.SCEPError as exc:
            return self._failure(request, lineage, exc, transaction_id, new_request)
        return self._reply(request, reply, transaction_id, lineage.renewal, new_request)

    def _poll(self, request: StepRequest, lineage: Lineage) -> StepResult:
        name = request.config.name
        try:
            transaction = self.store.pending_transaction(name)
            assert transaction is not None
            pending = scep_calls.load_pending(transaction)
        except (StoreCorruptError, scep_errors.ProtocolError) as exc:
            # Sending a new request here would regenerate the key silently.
            logger.error("enrollment %s: stored pending transaction unreadable: %s", name, exc)
            return StepResult(kind=StepKind.ERROR, renewal=lineage.renewal,
                              reason=f"stored pending transaction unreadable ({exc}); "
                                     "use re-enroll to send a new request")
        transaction_id = scep_calls.pending_transaction_id(pending)
        logger.debug("enrollment %s: sending CertPoll (transaction %s)", name, transaction_id)
        try:
            with self._client(request.context.config.url) as client:
                reply = scep_calls.poll(client, request.context, pending)
        except scep_errors.SCEPError as exc:
            return self._failure(request, lineage, exc, transaction_id, new_request=False)
        return self._reply(request, reply, transaction_id, lineage.renewal, new_request=False)

    def _reply(self, request: StepRequest, reply: Any, transaction_id: str, renewal: bool,
               new_request: bool) -> StepResult:
        name = request.config.name
        issued = scep_calls.issued_certificate(reply)
        if issued is not None:
            certificate, chain = issued
            self.store.save_issued(name, certificate, chain)
            # The daemon logs the state change at INFO; this adds the certificate's details.
            logger.debug("enrollment %s: certificate issued (transaction %s), serial %x, "
                        "notAfter %s", name, transaction_id, certificate.serial_number,
                        certificate.not_valid_after_utc)
            return StepResult(kind=StepKind.ISSUED, reason="certificate issued",
                              renewal=renewal, sent=True, new_request=new_request,
                              transaction_id=transaction_id, certificate=certificate)
        self.store.save_pending(name, scep_calls.pending_to_json(reply))
        reason = ("renewal request waiting for the CA" if renewal
                  else "waiting for the CA to issue the certificate")
        return StepResult(kind=StepKind.PENDING, reason=reason, renewal=renewal, sent=True,
                          new_request=new_request, transaction_id=transaction_id)

    def _failure(self, request: StepRequest, lineage: Lineage, exc: scep_errors.SCEPError,
                 transaction_id: str, new_request: bool) -> StepResult:
        name = request.config.name
        renewal = lineage.renewal
        if isinstance(exc, scep_errors.CARejected):
            reason = rejection_reason(exc)
            hresult = scep_errors.hresult_hex(exc.hresult) if exc.hresult else None
            details = {key: value for key, value in (
                ("reason", reason), ("fail-info", exc.fail_info), ("hresult", hresult),
            ) if value is not None}
            if renewal:
                self.store.abandon_request(name)
            else:
                self.store.save_rejected(name, details)
            return StepResult(kind=StepKind.REJECTED, reason=reason, renewal=renewal,
                              sent=True, new_request=new_request, transaction_id=transaction_id,
                              fail_info=exc.fail_info, hresult=hresult)
        logger.warning("enrollment %s (transaction %s): %s; retrying later", name,
                       transaction_id, exc)
        return StepResult(kind=StepKind.ERROR, reason=str(exc), renewal=renewal, sent=True,
                          new_request=new_request, transaction_id=transaction_id)


# Hints for the failInfo names of RFC 8894 §3.2.1.4.
_FAIL_INFO_HINTS = {
    "badAlg": "the CA does not accept the algorithm; check the cipher setting",
    "badMessageCheck": "the CA could not verify the request's signature",
    "badRequest": "the CA refused the request; check the challenge password, DN and profile",
    "badTime": "the signing time is out of range; check the device clock",
    "badCertId": "the CA does not know the certificate; use re-enroll",
}


def rejection_reason(exc: scep_errors.CARejected) -> str:
    """Return the state's reason for a rejection: failInfo, HRESULT and a hint."""
    parts = [f"rejected by the CA: failInfo {exc.fail_info or 'absent'}"]
    if exc.hresult:
        parts.append(f"HRESULT {scep_errors.describe_hresult(exc.hresult)}")
    hint = _FAIL_INFO_HINTS.get(exc.fail_info or "", "check the CA's log for the reason")
    return f"{', '.join(parts)}; {hint}"
