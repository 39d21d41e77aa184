"""The running, candidate and startup datastores: edits, locks, commit and persistence."""

from agent.datastore.edit import EditOperation
from agent.datastore.errors import (
    DataExistsError,
    DataMissingError,
    DatastoreError,
    EditFailedError,
    InUseError,
    InvalidConfigError,
    InvalidValueError,
    LabelChangedError,
    LockDeniedError,
    NotSupportedError,
    OperationFailedError,
)
from agent.datastore.state import default_state
from agent.datastore.store import (
    DatastoreName,
    Datastores,
    ErrorOption,
    LockInfo,
    TestOption,
)
from agent.datastore.warnings import enrollment_warnings

__all__ = [
    "DataExistsError",
    "DataMissingError",
    "DatastoreError",
    "DatastoreName",
    "Datastores",
    "EditFailedError",
    "EditOperation",
    "ErrorOption",
    "InUseError",
    "InvalidConfigError",
    "InvalidValueError",
    "LabelChangedError",
    "LockDeniedError",
    "LockInfo",
    "NotSupportedError",
    "OperationFailedError",
    "TestOption",
    "default_state",
    "enrollment_warnings",
]
