"""RFC 6241 §7.2 edit-config semantics applied to a libyang data tree.

This module does no I/O: it changes a DataTree in memory and returns the
errors it met.
"""

from __future__ import annotations

from enum import StrEnum

import libyang
from _libyang import ffi, lib

from agent.datastore.errors import (
    DataExistsError,
    DataMissingError,
    DatastoreError,
    InvalidValueError,
)
from agent.schema import DataTree


class EditOperation(StrEnum):
    """Values of the `operation` attribute and of default-operation (RFC 6241 §7.2)."""

    MERGE = "merge"
    REPLACE = "replace"
    CREATE = "create"
    DELETE = "delete"
    REMOVE = "remove"
    NONE = "none"


_FINGERPRINT_PATH = "/pki-agent:pki/enroll-server/fingerprint"


class DuplicateNodeError(InvalidValueError):
    """A leaf, container, list entry or leaf-list value that an edit gives twice."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} appears more than once in the edit; give each node once",
                         path)


class StateNodeError(InvalidValueError):
    """A config false node in an edit. Only the agent itself sets such nodes."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} is operational state (config false) and cannot be edited",
                         path)


def check_edit_content(edit: DataTree) -> list[DatastoreError]:
    """Check an edit for config false nodes and nodes given twice, with one error for each.

    libyang parses edit content without validation, so a second instance of
    a leaf would silently replace the first, and state data would only be
    rejected at commit.
    """
    errors: list[DatastoreError] = []
    root = edit.root
    if root is not None:
        _check_siblings(list(root.siblings()), errors)
    return errors


def _check_siblings(nodes: list[libyang.DNode], errors: list[DatastoreError]) -> None:
    seen: set[str] = set()
    for node in nodes:
        path = node.path()
        if node.schema().config_false():
            errors.append(StateNodeError(path))
            continue
        if path in seen:
            errors.append(DuplicateNodeError(path))
            continue
        seen.add(path)
        if node.schema().nodetype() in (libyang.SNode.CONTAINER, libyang.SNode.LIST):
            _check_siblings(list(node.children()), errors)  # type: ignore[attr-defined]


def apply_edit(
    target: DataTree, edit: DataTree, default_operation: EditOperation, *, stop_on_error: bool,
) -> list[DatastoreError]:
    """Apply an edit tree to `target` in place and return the errors met.

    With stop_on_error the walk ends at the first error, leaving the changes
    made before it; otherwise every node is tried (continue-on-error).
    """
    errors: list[DatastoreError] = []
    root = edit.root
    for node in root.siblings() if root is not None else []:
        _apply_node(target, node, default_operation, errors)
        if errors and stop_on_error:
            break
    return errors


def apply_removals(
    target: DataTree, removals: list[tuple[str, EditOperation]], *, stop_on_error: bool,
) -> list[DatastoreError]:
    """Delete or remove leaves named by data path, as given without a value in an edit."""
    errors: list[DatastoreError] = []
    for path, op in removals:
        existing = target.find(path)
        if existing is not None:
            target.remove(existing)
        elif op is EditOperation.DELETE:
            errors.append(DataMissingError(path))
            if stop_on_error:
                break
    return errors


def _operation(node: libyang.DNode, inherited: EditOperation) -> EditOperation:
    value = node.get_meta("operation")
    return EditOperation(value) if value else inherited


def _leaf_value(node: libyang.DNode) -> str:
    return ffi.string(lib.lyd_get_value(node.cdata)).decode()


def _apply_node(
    target: DataTree, node: libyang.DNode, inherited: EditOperation, errors: list[DatastoreError],
) -> None:
    op = _operation(node, inherited)
    path = node.path()
    existing = target.find(path)
    kind = node.schema().nodetype()

    if op in (EditOperation.DELETE, EditOperation.REMOVE):
        if existing is not None:
            target.remove(existing)
        elif op is EditOperation.DELETE:
            errors.append(DataMissingError(path))
        return
    if op is EditOperation.CREATE and existing is not None:
        errors.append(DataExistsError(path))
        return
    if op is EditOperation.NONE and kind in (libyang.SNode.LEAF, libyang.SNode.LEAFLIST):
        return
    if kind == libyang.SNode.LEAF:
        target.new_path(path, _leaf_value(node))
        return
    if kind == libyang.SNode.LEAFLIST:
        target.new_path(path)
        return

    # A container or list entry: replace drops the old content first, and
    # the children of a new or replaced node are merged into it.
    if op is EditOperation.REPLACE and existing is not None:
        target.remove(existing)
        existing = None
    if existing is None and op is not EditOperation.NONE:
        target.new_path(path)
    child_op = EditOperation.MERGE if op in (EditOperation.CREATE, EditOperation.REPLACE) else op
    for child in node.children(no_keys=True):  # type: ignore[attr-defined]
        _apply_node(target, child, child_op, errors)


def normalize_fingerprints(tree: DataTree) -> None:
    """Store fingerprints as lower-case hex without separators, as the module promises."""
    for node in tree.select(_FINGERPRINT_PATH):
        value = _leaf_value(node)
        normalized = value.replace(":", "").replace(" ", "").lower()
        if normalized != value:
            tree.new_path(node.path(), normalized)
