"""Errors raised by the YANG engine layer, each carrying the data path involved."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agent.errors import AgentError


class IssueKind(StrEnum):
    """The class of a validation problem, which decides its NETCONF error-tag."""

    VALUE = "value"
    MISSING = "missing"
    REFERENCE = "reference"
    UNKNOWN_NODE = "unknown-node"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem that libyang found in a data tree.

    `message` is written for an operator. `path` is the data path with list
    keys, `schema_path` the schema node when libyang names only that, and
    `detail` libyang's own message, which is None when it would show a
    secret value.
    """

    message: str
    path: str | None = None
    app_tag: str | None = None
    schema_path: str | None = None
    value: str | None = None
    detail: str | None = None
    kind: IssueKind = IssueKind.OTHER


class SchemaError(AgentError):
    """The YANG module set cannot be loaded or used."""


class DataInvalidError(SchemaError):
    """Data failed parsing or validation against the YANG modules."""

    def __init__(self, issues: tuple[ValidationIssue, ...], *, parse: bool = False) -> None:
        self.issues = issues
        self.parse = parse
        super().__init__("; ".join(issue.message for issue in issues))


class UnknownElementError(SchemaError):
    """An element names no data node of any loaded module."""

    def __init__(self, element: str, path: str | None = None) -> None:
        self.element = element
        self.path = path
        super().__init__(f"unknown element {element!r}")
