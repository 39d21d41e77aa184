"""The YANG engine: libyang context, data trees, validation, filters and printing."""

from agent.schema.engine import MODULE, NAMESPACE, ModuleInfo, Schema
from agent.schema.errors import (
    DataInvalidError,
    IssueKind,
    SchemaError,
    UnknownElementError,
    ValidationIssue,
)
from agent.schema.tree import DataTree, WithDefaults, release_soon

__all__ = [
    "MODULE",
    "NAMESPACE",
    "DataInvalidError",
    "DataTree",
    "IssueKind",
    "ModuleInfo",
    "Schema",
    "SchemaError",
    "UnknownElementError",
    "ValidationIssue",
    "WithDefaults",
    "release_soon",
]
