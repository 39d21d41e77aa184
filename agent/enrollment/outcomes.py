"""Values that cross between the daemon's event loop and its worker threads."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography import x509

from agent.enrollment.config import EnrollConfig, ServerConfig
from agent.enrollment.state import ServerStatus


@dataclass(frozen=True, slots=True)
class ServerContext:
    """A discovered server: the verified CA certificates and capabilities requests need."""

    config: ServerConfig
    trusted_ca: Any
    capabilities: Any


@dataclass(frozen=True, slots=True)
class DiscoveryResult:
    """Outcome of GetCACaps, GetCACert, the fingerprint check and the RA selection."""

    status: ServerStatus
    message: str | None = None
    capabilities: tuple[str, ...] = ()
    context: ServerContext | None = None
    encryption_certificate: str | None = None
    signer_certificate: str | None = None


class StepKind(StrEnum):
    """Result of one enrollment step."""

    ISSUED = "issued"
    PENDING = "pending"
    REJECTED = "rejected"
    ERROR = "error"
    IDLE = "idle"


@dataclass(frozen=True, slots=True)
class StepRequest:
    """Input of one enrollment step, run in a worker thread."""

    config: EnrollConfig
    context: ServerContext
    now: datetime.datetime
    reset: bool = False
    renew_now: bool = False


@dataclass(frozen=True, slots=True)
class StepResult:
    """Output of one enrollment step.

    `renewal` is true when the step concerned a renewal, so a failure keeps
    the current certificate in use.  `sent` is true when a message was handed
    to the transport, which counts as one attempt.
    """

    kind: StepKind
    reason: str
    renewal: bool = False
    sent: bool = False
    new_request: bool = False
    transaction_id: str | None = None
    fail_info: str | None = None
    hresult: str | None = None
    certificate: x509.Certificate | None = None
