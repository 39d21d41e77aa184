"""Read node kinds, base types and defaults of the pki-agent module with pyang."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pyang import context, repository

YANG_FILE = Path(__file__).resolve().parents[2] / "yang" / "pki-agent.yang"
PYANG_MODULES = Path(sys.prefix) / "share" / "yang" / "modules"


@dataclass(frozen=True, slots=True)
class Node:
    """One data node of the module."""

    keyword: str
    name: str
    parent: str
    base_type: str
    default: str | None


def _base_type(statement: object) -> str:
    type_statement = statement.search_one("type")  # type: ignore[attr-defined]
    while getattr(type_statement, "i_typedef", None) is not None:
        type_statement = type_statement.i_typedef.search_one("type")
    return str(type_statement.arg)


def _walk(statement: object, parent: str) -> Iterator[Node]:
    for child in getattr(statement, "i_children", []):
        if child.keyword in ("leaf", "leaf-list"):
            default = child.search_one("default")
            yield Node(child.keyword, child.arg, parent, _base_type(child),
                       None if default is None else default.arg)
            continue
        if child.keyword in ("container", "list"):
            yield Node(child.keyword, child.arg, parent, "", None)
            yield from _walk(child, child.arg)


def module_nodes() -> list[Node]:
    """Return every data node of /pki, in schema order."""
    search_path = ":".join(str(PYANG_MODULES / sub) for sub in ("ietf", "iana"))
    ctx = context.Context(repository.FileRepository(search_path, use_env=False))
    module = ctx.add_module(str(YANG_FILE), YANG_FILE.read_text())
    assert module is not None, "pyang could not parse the pki-agent module"
    ctx.validate()
    return [node for node in _walk(module, "") if node.name != "pki" or node.parent]
