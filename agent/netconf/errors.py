"""The NETCONF rpc-error (RFC 6241 §4.3, Appendix A) and the table that maps domain errors to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

from agent.datastore import (
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
from agent.errors import AgentError
from agent.hooks import BackendError
from agent.schema import DataInvalidError, IssueKind, ValidationIssue

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"


class ErrorType(StrEnum):
    """RFC 6241 error-type: the layer where the error occurred."""

    TRANSPORT = "transport"
    RPC = "rpc"
    PROTOCOL = "protocol"
    APPLICATION = "application"


class ErrorTag(StrEnum):
    """RFC 6241 Appendix A error-tag values."""

    IN_USE = "in-use"
    INVALID_VALUE = "invalid-value"
    TOO_BIG = "too-big"
    MISSING_ATTRIBUTE = "missing-attribute"
    BAD_ATTRIBUTE = "bad-attribute"
    UNKNOWN_ATTRIBUTE = "unknown-attribute"
    MISSING_ELEMENT = "missing-element"
    BAD_ELEMENT = "bad-element"
    UNKNOWN_ELEMENT = "unknown-element"
    UNKNOWN_NAMESPACE = "unknown-namespace"
    ACCESS_DENIED = "access-denied"
    LOCK_DENIED = "lock-denied"
    RESOURCE_DENIED = "resource-denied"
    ROLLBACK_FAILED = "rollback-failed"
    DATA_EXISTS = "data-exists"
    DATA_MISSING = "data-missing"
    OPERATION_NOT_SUPPORTED = "operation-not-supported"
    OPERATION_FAILED = "operation-failed"
    PARTIAL_OPERATION = "partial-operation"
    MALFORMED_MESSAGE = "malformed-message"


class ErrorSeverity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class RPCError(AgentError):
    """One rpc-error element, where `info` contains the error-info children (base namespace)."""

    type: ErrorType
    tag: ErrorTag
    message: str | None = None
    severity: ErrorSeverity = ErrorSeverity.ERROR
    app_tag: str | None = None
    path: str | None = None
    info: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.tag}: {self.message or ''}"

    def to_element(self, namespaces: dict[str, str]) -> etree._Element:
        """Build the rpc-error element; `namespaces` declares the prefixes used in error-path."""
        error = etree.Element(f"{{{BASE_NS}}}rpc-error", nsmap={None: BASE_NS})
        _child(error, "error-type", self.type)
        _child(error, "error-tag", self.tag)
        _child(error, "error-severity", self.severity)
        if self.app_tag:
            _child(error, "error-app-tag", self.app_tag)
        if self.path:
            # error-path uses module names as prefixes, as libyang prints
            # paths, so each one is declared on the element.
            nsmap: dict[str | None, str] = {None: BASE_NS}
            nsmap.update((name, uri) for name, uri in namespaces.items()
                         if f"{name}:" in self.path)
            path = etree.Element(f"{{{BASE_NS}}}error-path", nsmap=nsmap)
            path.text = self.path
            error.append(path)
        if self.message:
            message = _child(error, "error-message", self.message)
            message.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        if self.info:
            info = _child(error, "error-info")
            for name, value in self.info:
                _child(info, name, value)
        return error


class RPCErrors(AgentError):
    """Several rpc-errors for one request, e.g. one per failing list entry at commit."""

    def __init__(self, errors: tuple[RPCError, ...]) -> None:
        self.errors = errors
        super().__init__("; ".join(map(str, errors)))


def _child(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{BASE_NS}}}{name}")
    if text is not None:
        element.text = text
    return element


# The apply-time messages of the device CLI, for the libyang errors that
# report the same problems. The must-statement messages already come from
# the module.
_REFERENCE_MESSAGES = {
    "/server": "server label {value} not defined in the system",
}

# RFC 7950 §15: error-tag for each libyang error-app-tag.
_APP_TAG_TAGS = {
    "must-violation": ErrorTag.OPERATION_FAILED,
    "instance-required": ErrorTag.DATA_MISSING,
    "data-not-unique": ErrorTag.OPERATION_FAILED,
    "too-many-elements": ErrorTag.OPERATION_FAILED,
    "too-few-elements": ErrorTag.OPERATION_FAILED,
    "missing-choice": ErrorTag.DATA_MISSING,
}

_KIND_TAGS = {
    IssueKind.MISSING: ErrorTag.DATA_MISSING,
    IssueKind.REFERENCE: ErrorTag.DATA_MISSING,
    IssueKind.UNKNOWN_NODE: ErrorTag.UNKNOWN_ELEMENT,
}


def from_issue(issue: ValidationIssue) -> RPCError:
    """Map one libyang validation problem to an rpc-error with its error-path."""
    message = issue.message
    if issue.kind is IssueKind.REFERENCE and issue.path:
        for suffix, text in _REFERENCE_MESSAGES.items():
            if issue.path.endswith(suffix):
                message = text.format(value=f"'{issue.value}'")
    tag = _APP_TAG_TAGS.get(issue.app_tag or "") or _KIND_TAGS.get(issue.kind,
                                                                   ErrorTag.INVALID_VALUE)
    return RPCError(ErrorType.APPLICATION, tag, message, app_tag=issue.app_tag, path=issue.path)


def _from_parse(exc: DataInvalidError) -> tuple[RPCError, ...]:
    errors = []
    for issue in exc.issues:
        tag = ErrorTag.UNKNOWN_ELEMENT if issue.kind is IssueKind.UNKNOWN_NODE \
            else ErrorTag.INVALID_VALUE
        errors.append(RPCError(ErrorType.APPLICATION, tag, issue.message, path=issue.path))
    return tuple(errors)


def _simple(kind: ErrorType, tag: ErrorTag) -> Converter:
    def convert(exc: AgentError) -> tuple[RPCError, ...]:
        assert isinstance(exc, DatastoreError)
        return (RPCError(kind, tag, exc.message, path=exc.path),)
    return convert


def _holder(tag: ErrorTag) -> Converter:
    def convert(exc: AgentError) -> tuple[RPCError, ...]:
        assert isinstance(exc, DatastoreError)
        holder = getattr(exc, "holder", 0)
        info = (("session-id", str(holder)),)
        return (RPCError(ErrorType.PROTOCOL, tag, exc.message, info=info),)
    return convert


def _from_backend(exc: AgentError) -> tuple[RPCError, ...]:
    assert isinstance(exc, BackendError)
    return (RPCError(ErrorType.APPLICATION, ErrorTag(exc.condition.value), exc.message,
                     path=exc.path),)


def _from_invalid_config(exc: AgentError) -> tuple[RPCError, ...]:
    assert isinstance(exc, InvalidConfigError)
    return tuple(from_issue(issue) for issue in exc.issues)


def _from_edit(exc: AgentError) -> tuple[RPCError, ...]:
    assert isinstance(exc, EditFailedError)
    return tuple(error for inner in exc.errors for error in to_rpc_errors(inner))


def _from_data_invalid(exc: AgentError) -> tuple[RPCError, ...]:
    assert isinstance(exc, DataInvalidError)
    return _from_parse(exc)


Converter = Callable[[AgentError], tuple[RPCError, ...]]

# Each domain error class and how it becomes rpc-errors; a class that is not
# listed uses the entry of its nearest listed base class.
_ERROR_TABLE: dict[type[AgentError], Converter] = {
    InvalidConfigError: _from_invalid_config,
    EditFailedError: _from_edit,
    DataInvalidError: _from_data_invalid,
    BackendError: _from_backend,
    LockDeniedError: _holder(ErrorTag.LOCK_DENIED),
    InUseError: _holder(ErrorTag.IN_USE),
    DataExistsError: _simple(ErrorType.APPLICATION, ErrorTag.DATA_EXISTS),
    DataMissingError: _simple(ErrorType.APPLICATION, ErrorTag.DATA_MISSING),
    LabelChangedError: _simple(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE),
    InvalidValueError: _simple(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE),
    OperationFailedError: _simple(ErrorType.APPLICATION, ErrorTag.OPERATION_FAILED),
    NotSupportedError: _simple(ErrorType.PROTOCOL, ErrorTag.OPERATION_NOT_SUPPORTED),
    DatastoreError: _simple(ErrorType.APPLICATION, ErrorTag.OPERATION_FAILED),
}


def to_rpc_errors(exc: AgentError) -> tuple[RPCError, ...]:
    """Map a domain error to its rpc-errors."""
    if isinstance(exc, RPCError):
        return (exc,)
    if isinstance(exc, RPCErrors):
        return exc.errors
    for kind in type(exc).__mro__:
        convert = _ERROR_TABLE.get(kind)
        if convert is not None:
            return convert(exc)
    return (RPCError(ErrorType.APPLICATION, ErrorTag.OPERATION_FAILED, str(exc)),)
