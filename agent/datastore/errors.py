"""Errors of datastore operations; the NETCONF layer maps each class to an rpc-error."""

from __future__ import annotations

from agent.errors import AgentError
from agent.schema import ValidationIssue


class DatastoreError(AgentError):
    """A datastore operation failed; `path` names the data node when one is involved."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.message = message
        self.path = path
        super().__init__(message)


class LockDeniedError(DatastoreError):
    """A lock is held by another session (session 0: the candidate has uncommitted changes)."""

    def __init__(self, datastore: str, holder: int, message: str | None = None) -> None:
        self.holder = holder
        super().__init__(message or f"the {datastore} datastore is locked by session {holder}")


class InUseError(DatastoreError):
    """A write hits a datastore that another session has locked."""

    def __init__(self, datastore: str, holder: int) -> None:
        self.holder = holder
        super().__init__(f"the {datastore} datastore is locked by session {holder}")


class DataExistsError(DatastoreError):
    """edit-config create on a node that already exists."""

    def __init__(self, path: str) -> None:
        super().__init__(f"data already exists at {path}", path)


class DataMissingError(DatastoreError):
    """edit-config delete on a node that does not exist."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no data exists at {path} to delete", path)


class InvalidConfigError(DatastoreError):
    """Validation of a configuration failed; one issue per failing entry."""

    def __init__(self, issues: tuple[ValidationIssue, ...]) -> None:
        self.issues = issues
        super().__init__("; ".join(issue.message for issue in issues))


class LabelChangedError(DatastoreError):
    """A commit would change the label of a committed enroll-server."""


class InvalidValueError(DatastoreError):
    """A parameter value is not acceptable in the current state."""


class OperationFailedError(DatastoreError):
    """The operation cannot be done in the current state."""


class NotSupportedError(DatastoreError):
    """The request asks for something the datastores do not implement."""


class EditFailedError(DatastoreError):
    """edit-config produced one or more errors (several with continue-on-error)."""

    def __init__(self, errors: tuple[DatastoreError, ...]) -> None:
        self.errors = errors
        super().__init__("; ".join(error.message for error in errors))
