"""The CA's decisions and records: enroll, poll, approve, reject, challenges, faults.

This layer does not parse or build CMS: `tools.scep_ca.operation` turns
pkiMessages into calls here and outcomes into CertRep replies.
"""

from __future__ import annotations

import datetime
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.scep.attributes import FailInfo, PKIStatus
from agent.scep.envelope import ContentCipher, KeyTransport
from tools.scep_ca.challenges import ChallengeBook, Clock, utc_now
from tools.scep_ca.errors import (
    AmbiguousRequestError,
    InvalidSettingError,
    RequestNotFoundError,
    RequestStateError,
)
from tools.scep_ca.faults import FaultSettings, parse_faults
from tools.scep_ca.hierarchy import Hierarchy, load_or_create
from tools.scep_ca.issuing import issue_certificate
from tools.scep_ca.personality import (
    HRESULT_ADMIN_DENIED,
    PERSONALITIES,
    PROFILES,
    Action,
    Approval,
    Decision,
    EnrollmentRequest,
    Personality,
    PolicyContext,
)
from tools.scep_ca.store import StateStore

logger = logging.getLogger(__name__)

DEFAULT_CERT_LIFETIME = datetime.timedelta(days=365)
DEFAULT_RENEWAL_WINDOW = datetime.timedelta(days=60)


@dataclass(frozen=True, slots=True)
class CAOptions:
    """Start-up settings that are not stored in DIR."""

    approval: Approval = Approval.AUTO
    renewal_window: datetime.timedelta = DEFAULT_RENEWAL_WINDOW
    static_challenge: str | None = field(default=None, repr=False)
    challenge_required: bool = True
    reply_cipher: ContentCipher | None = None
    """Overrides the personality's CertRep cipher (ndes: 3DES or AES)."""
    key_transport: KeyTransport | None = None
    """Overrides the personality's key transport (ndes: PKCS#1 v1.5 or OAEP)."""
    max_query_length: int | None = None
    """Overrides the personality's GET query limit in bytes, and 0 removes the limit."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a PKCSReq, RenewalReq or CertPoll."""

    status: PKIStatus
    certificate: x509.Certificate | None = None
    fail_info: FailInfo | None = None
    hresult: int | None = None


class CertificateAuthority:
    """One test CA: a personality, its hierarchy and the records in DIR."""

    def __init__(
        self,
        store: StateStore,
        personality: Personality,
        hierarchy: Hierarchy,
        options: CAOptions | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.personality = personality
        self.hierarchy = hierarchy
        self.options = options or CAOptions()
        self.challenges = ChallengeBook(store, clock)
        self._clock = clock

    @property
    def reply_cipher(self) -> ContentCipher | None:
        return self.options.reply_cipher or self.personality.reply_cipher

    @property
    def key_transport(self) -> KeyTransport:
        return self.options.key_transport or self.personality.key_transport

    @property
    def max_query_length(self) -> int | None:
        """Return the longest GET query string served, or None for no limit."""
        if self.options.max_query_length is None:
            return self.personality.max_query_length
        return self.options.max_query_length or None

    # SCEP operations

    def enroll(self, request: EnrollmentRequest) -> Outcome:
        """Decide on a PKCSReq or RenewalReq and store the record.

        A repeated transactionID with the same CSR gets the stored result.
        """
        record = self.store.read_request(request.transaction_id)
        if record is not None:
            csr_pem = request.csr.public_bytes(serialization.Encoding.PEM).decode()
            if record["csr"] == csr_pem:
                logger.info("repeated request %s is %s", request.transaction_id, record["status"])
                return self._outcome_of(record)
            if record["status"] == "pending":
                logger.warning(
                    "request %s reuses the transactionID of a pending request with another CSR",
                    request.transaction_id,
                )
                return Outcome(PKIStatus.FAILURE, fail_info=FailInfo.BAD_REQUEST)
            # A finished transactionID with a new CSR starts a new request.
        decision = self.personality.decide(request, self._policy_context())
        record = self._new_record(request, decision)
        if decision.action is Action.ISSUE:
            self._issue(record)
        with self.store.locked():
            self.store.write_request(record)
        logger.info(
            "request %s for %s: %s (%s)",
            request.transaction_id,
            record["subject"],
            record["status"],
            decision.reason,
        )
        return self._outcome_of(record)

    def poll(self, transaction_id: str) -> Outcome:
        """Return the result of a CertPoll (GetCertInitial), looked up by transactionID."""
        record = self.store.read_request(transaction_id)
        if record is None:
            logger.info("CertPoll for unknown transaction %s", transaction_id)
            return Outcome(PKIStatus.FAILURE, fail_info=FailInfo.BAD_CERT_ID)
        return self._outcome_of(record)

    def find_certificate(self, serial_number: int) -> x509.Certificate | None:
        return self.store.load_issued(serial_number)

    def _policy_context(self) -> PolicyContext:
        return PolicyContext(
            self.hierarchy,
            self.options.approval,
            self.options.renewal_window,
            self._clock(),
            self._check_challenge,
        )

    def _check_challenge(self, candidate: str | None) -> bool:
        if not self.options.challenge_required:
            return True
        if candidate is None:
            return False
        static = self.options.static_challenge
        if static is not None and hmac.compare_digest(static.encode(), candidate.encode()):
            return True
        return self.challenges.consume(candidate)

    def _new_record(self, request: EnrollmentRequest, decision: Decision) -> dict[str, Any]:
        status = {Action.ISSUE: "issued", Action.PENDING: "pending", Action.REJECT: "rejected"}
        csr_pem = request.csr.public_bytes(serialization.Encoding.PEM).decode()
        return {
            "transaction_id": request.transaction_id,
            "message_type": request.message_type.name,
            "status": status[decision.action],
            "reason": decision.reason,
            "subject": request.csr.subject.rfc4514_string(),
            "profile": decision.profile,
            "csr": csr_pem,
            "created": self._clock().isoformat(),
            "fail_info": decision.fail_info.value if decision.action is Action.REJECT else None,
            "hresult": decision.hresult if decision.action is Action.REJECT else None,
            "serial": None,
        }

    def _issue(self, record: dict[str, Any]) -> x509.Certificate:
        csr = x509.load_pem_x509_csr(record["csr"].encode())
        public_key = csr.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise InvalidSettingError("CSR key", type(public_key).__name__, "an RSA key")
        lifetime = DEFAULT_CERT_LIFETIME
        seconds = self.faults().cert_lifetime
        if seconds is not None:
            lifetime = datetime.timedelta(seconds=seconds)
        profile = PROFILES[record["profile"]]
        certificate = issue_certificate(
            self.hierarchy.issuer, csr.subject, public_key, profile, lifetime, list(csr.extensions)
        )
        self.store.save_issued(certificate)
        record["status"] = "issued"
        record["serial"] = f"{certificate.serial_number:x}"
        logger.info(
            "issued certificate serial %x for %s, notAfter %s",
            certificate.serial_number,
            record["subject"],
            certificate.not_valid_after_utc.isoformat(),
        )
        return certificate

    def _outcome_of(self, record: dict[str, Any]) -> Outcome:
        if record["status"] == "pending":
            return Outcome(PKIStatus.PENDING)
        if record["status"] == "rejected":
            fail_info = FailInfo(record["fail_info"])
            return Outcome(PKIStatus.FAILURE, None, fail_info, record["hresult"])
        certificate = self.store.load_issued(int(record["serial"], 16))
        if certificate is None:
            logger.error("issued certificate %s is missing from DIR/issued", record["serial"])
            return Outcome(PKIStatus.FAILURE, fail_info=FailInfo.BAD_CERT_ID)
        return Outcome(PKIStatus.SUCCESS, certificate)

    # operator actions

    def pending(self) -> list[dict[str, Any]]:
        """Return the pending requests, oldest first, without their CSRs."""
        return [
            {key: value for key, value in record.items() if key != "csr"}
            for record in self.store.list_requests()
            if record["status"] == "pending"
        ]

    def approve(self, transaction_id: str | None = None) -> dict[str, Any]:
        """Issue the certificate of a pending request; None picks the only pending one."""
        with self.store.locked():
            record = self._pending_record(transaction_id)
            self._issue(record)
            record["reason"] = "approved by an operator"
            self.store.write_request(record)
        logger.info("request %s approved, serial %s", record["transaction_id"], record["serial"])
        return {key: value for key, value in record.items() if key != "csr"}

    def reject(
        self, transaction_id: str | None = None, fail_info: FailInfo = FailInfo.BAD_REQUEST
    ) -> dict[str, Any]:
        """Reject a pending request; the next CertPoll gets FAILURE with `fail_info`."""
        with self.store.locked():
            record = self._pending_record(transaction_id)
            record["status"] = "rejected"
            record["reason"] = "rejected by an operator"
            record["fail_info"] = fail_info.value
            if self.personality.failure_hresult:
                record["hresult"] = HRESULT_ADMIN_DENIED
            self.store.write_request(record)
        logger.info("request %s rejected with %s", record["transaction_id"], fail_info.label)
        return {key: value for key, value in record.items() if key != "csr"}

    def _pending_record(self, transaction_id: str | None) -> dict[str, Any]:
        if transaction_id is None:
            pending = [r for r in self.store.list_requests() if r["status"] == "pending"]
            if len(pending) != 1:
                raise AmbiguousRequestError(len(pending))
            return pending[0]
        record = self.store.read_request(transaction_id)
        if record is None:
            raise RequestNotFoundError(transaction_id)
        if record["status"] != "pending":
            raise RequestStateError(transaction_id, record["status"])
        return record

    def issue_challenge(self) -> tuple[str, datetime.datetime]:
        """Create a one-time challenge password; the caller hands it to the device owner."""
        value, expires = self.challenges.issue()
        logger.info("challenge issued, valid until %s", expires.isoformat())
        return value, expires

    def faults(self) -> FaultSettings:
        return parse_faults(self.store.read_faults())

    def set_faults(self, settings: FaultSettings) -> None:
        with self.store.locked():
            self.store.write_faults(settings.to_json())
        logger.info("fault settings: %s", settings.to_json())

    def use_reply_fault(self, operation: str) -> FaultSettings:
        """Return the faults for one reply to `operation`, counting down a limited fault."""
        with self.store.locked():
            settings = self.faults()
            if settings.applies_to(operation) and settings.count is not None:
                self.store.write_faults(settings.after_use().to_json())
        return settings


def open_authority(
    store: StateStore, options: CAOptions | None = None, clock: Clock = utc_now
) -> CertificateAuthority:
    """Load the CA of an existing state directory, for the server or the admin command."""
    config = store.require_config()
    personality = PERSONALITIES[config["personality"]]
    hierarchy = load_or_create(store, personality.name)
    return CertificateAuthority(store, personality, hierarchy, options, clock)
