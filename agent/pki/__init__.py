"""The key and certificate store: keys (0600), certificates, pending transactions, CA rows."""

from agent.pki.errors import (
    CACertificateNotFoundError,
    CALabelConflictError,
    InvalidLabelError,
    LineageNotFoundError,
    PKIError,
    StoreCorruptError,
)
from agent.pki.lineage import Lineage
from agent.pki.store import CACertificate, CARole, PKIStore, certificate_sha256, check_label
from agent.pki.subject_hash import name_hash, subject_hash

__all__ = [
    "CACertificate",
    "CACertificateNotFoundError",
    "CALabelConflictError",
    "CARole",
    "InvalidLabelError",
    "Lineage",
    "LineageNotFoundError",
    "PKIError",
    "PKIStore",
    "StoreCorruptError",
    "certificate_sha256",
    "check_label",
    "name_hash",
    "subject_hash",
]
