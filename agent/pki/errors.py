"""Errors of the key and certificate store."""

from __future__ import annotations

from pathlib import Path

from agent.errors import AgentError


class PKIError(AgentError):
    """Base class of the store's errors."""


class InvalidLabelError(PKIError):
    """A label cannot be used as a file name in the store."""

    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(f"invalid certificate label {label!r}: use letters, digits, '_', '-', "
                         "'+' and '.', not starting with '.'")


class StoreCorruptError(PKIError):
    """A store file cannot be read."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"unreadable store file {path}: {detail}")


class CALabelConflictError(PKIError):
    """A CA-local row with the same label but other content already exists."""

    def __init__(self, label: str, existing_sha256: str, new_sha256: str) -> None:
        self.label = label
        self.existing_sha256 = existing_sha256
        self.new_sha256 = new_sha256
        super().__init__(
            f"CA certificate label {label!r} is already used by certificate "
            f"sha256 {existing_sha256}, not {new_sha256}; remove it with "
            "remove-ca-certificate to accept the new one"
        )


class CACertificateNotFoundError(PKIError):
    """No CA-local row has the requested label."""

    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(f"CA certificate {label!r} not found in the certificate table")


class LineageNotFoundError(PKIError):
    """The store contains nothing for an enrollment name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no keys or certificates stored for enrollment {name!r}")
