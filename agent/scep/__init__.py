"""SCEP client (RFC 8894): message core, HTTP transport and troubleshooting command.

The enrollment daemon uses this API, synchronously, from a worker thread::

    client = SCEPClient(url, connect_timeout=5.0, read_timeout=30.0)
    caps = client.get_ca_caps()          # Capabilities; empty if GetCACaps fails
    certs = client.get_ca_cert()         # CACertificates
    ca = certs.verify(fingerprint, "sha256")   # TrustedCA with recipient and signer
    request = prepare_enrollment(key, "CN=host, C=UK", sans, challenge, profile, cipher)
    result = client.enroll(ca, caps, request)  # Issued or Pending
    result = client.poll(ca, caps, pending.transaction)
    certificate = client.get_cert(ca, caps, serial_number, signer_cert, signer_key)
    result = renew(client, ca, caps, new_key, csr, current_cert, current_key, mode)

Errors (all `SCEPError`, which derives from `AgentError`):

- `TransportError`: retryable.  HTTP status, timeout, refused connection, or a
  PKIOperation reply that is not CMS.
- `CARejected`: pkiStatus FAILURE, with ``fail_info`` (``badRequest`` or the
  number), ``hresult`` (Windows NDES) and ``text``.
- `ProtocolError`: bad signature, malformed reply, transactionID or nonce
  mismatch, SUCCESS without a certificate for our key.
- `TrustError`: `CANotDownloaded` (GetCACert body without a usable
  certificate), `FingerprintMismatch`, `NoRACertificate`, `ChainError`.
- `InvalidInput`: a DN, SAN, fingerprint or key size given by the caller.

`Pending.transaction` is a `PendingTransaction`; `to_json()` and `from_json()`
carry everything polling needs across a restart, including the signer's
private key but never the challenge password.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.scep.algorithms import ContentCipher, RenewRequest
    from agent.scep.attributes import FailInfo, MessageType, PKIStatus
    from agent.scep.cacerts import (
        CACertificates,
        TrustedCA,
        fingerprint,
        normalize_fingerprint,
        parse_ca_certificates,
    )
    from agent.scep.capabilities import Capabilities, parse_capabilities
    from agent.scep.client import (
        EnrollmentRequest,
        Issued,
        Pending,
        PendingTransaction,
        SCEPClient,
        prepare_enrollment,
        renew,
    )
    from agent.scep.csr import (
        build_csr,
        parse_dn,
        parse_san,
        self_signed_signer,
        transaction_id_for,
    )
    from agent.scep.envelope import KeyTransport
    from agent.scep.errors import (
        CANotDownloaded,
        CARejected,
        ChainError,
        FingerprintMismatch,
        InvalidInput,
        NoRACertificate,
        ProtocolError,
        SCEPError,
        TransportError,
        TrustError,
    )
    from agent.scep.keys import generate_key

# Each name is imported from its module on first use, so that importing one
# submodule, such as `agent.scep.errors`, does not load requests and asn1crypto.
_EXPORTS = {
    "CACertificates": "agent.scep.cacerts",
    "CANotDownloaded": "agent.scep.errors",
    "CARejected": "agent.scep.errors",
    "Capabilities": "agent.scep.capabilities",
    "ChainError": "agent.scep.errors",
    "ContentCipher": "agent.scep.algorithms",
    "EnrollmentRequest": "agent.scep.client",
    "FailInfo": "agent.scep.attributes",
    "FingerprintMismatch": "agent.scep.errors",
    "InvalidInput": "agent.scep.errors",
    "Issued": "agent.scep.client",
    "KeyTransport": "agent.scep.envelope",
    "MessageType": "agent.scep.attributes",
    "NoRACertificate": "agent.scep.errors",
    "PKIStatus": "agent.scep.attributes",
    "Pending": "agent.scep.client",
    "PendingTransaction": "agent.scep.client",
    "ProtocolError": "agent.scep.errors",
    "RenewRequest": "agent.scep.algorithms",
    "SCEPClient": "agent.scep.client",
    "SCEPError": "agent.scep.errors",
    "TransportError": "agent.scep.errors",
    "TrustError": "agent.scep.errors",
    "TrustedCA": "agent.scep.cacerts",
    "build_csr": "agent.scep.csr",
    "fingerprint": "agent.scep.cacerts",
    "generate_key": "agent.scep.keys",
    "normalize_fingerprint": "agent.scep.cacerts",
    "parse_ca_certificates": "agent.scep.cacerts",
    "parse_capabilities": "agent.scep.capabilities",
    "parse_dn": "agent.scep.csr",
    "parse_san": "agent.scep.csr",
    "prepare_enrollment": "agent.scep.client",
    "renew": "agent.scep.client",
    "self_signed_signer": "agent.scep.csr",
    "transaction_id_for": "agent.scep.csr",
}

__all__ = [
    "CACertificates",
    "CANotDownloaded",
    "CARejected",
    "Capabilities",
    "ChainError",
    "ContentCipher",
    "EnrollmentRequest",
    "FailInfo",
    "FingerprintMismatch",
    "InvalidInput",
    "Issued",
    "KeyTransport",
    "MessageType",
    "NoRACertificate",
    "PKIStatus",
    "Pending",
    "PendingTransaction",
    "ProtocolError",
    "RenewRequest",
    "SCEPClient",
    "SCEPError",
    "TransportError",
    "TrustError",
    "TrustedCA",
    "build_csr",
    "fingerprint",
    "generate_key",
    "normalize_fingerprint",
    "parse_ca_certificates",
    "parse_capabilities",
    "parse_dn",
    "parse_san",
    "prepare_enrollment",
    "renew",
    "self_signed_signer",
    "transaction_id_for",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
