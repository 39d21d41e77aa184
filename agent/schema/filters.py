"""RFC 6241 §6 subtree filters and xpath filters, evaluated with libyang XPath."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import libyang
from _libyang import ffi, lib
from lxml import etree

from agent.errors import AgentError
from agent.schema.prefixes import qualify_value
from agent.schema.tree import DataTree, take_issues

ModuleForNamespace = Callable[[str], "str | None"]


class InvalidXPathError(AgentError):
    """libyang could not evaluate a filter XPath; `reason` is its message."""

    def __init__(self, xpath: str, reason: str) -> None:
        self.xpath = xpath
        self.reason = reason
        super().__init__(f"invalid xpath {xpath!r}: {reason}")


def quote_literal(value: str) -> str:
    """Quote a value for a libyang data path, whose predicates take no concat().

    XPath 1.0 literals have no escape, so pick the quote the value lacks.
    NOTE: a value with both quote kinds cannot be written this way; filters
    use xpath_literal() instead.
    """
    if "'" not in value:
        return f"'{value}'"
    return f'"{value}"'


def xpath_literal(value: str) -> str:
    """Return an XPath 1.0 expression whose string value is exactly `value`.

    A value with both quote kinds is built with concat() from pieces that
    each lack one of them, so no value can end the literal early.
    """
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    pieces = [f"'{piece}'" for piece in value.split("'")]
    return "concat(" + ", \"'\", ".join(pieces) + ")"


def _local(element: etree._Element) -> tuple[str | None, str]:
    qname = etree.QName(element)
    return qname.namespace, qname.localname


def _is_content_match(element: etree._Element) -> bool:
    return len(element) == 0 and bool((element.text or "").strip())


def subtree_to_xpaths(
    filter_children: list[etree._Element], module_for: ModuleForNamespace,
    top_level_modules: Callable[[str], list[str]],
) -> list[str]:
    """Translate the top-level elements of a subtree filter into XPath selections.

    Each returned XPath selects nodes whose whole subtree belongs to the
    output (RFC 6241 §6.2.3 selection nodes, and §6.2.5 sibling sets that
    hold only content-match nodes).
    """
    xpaths: list[str] = []
    for element in filter_children:
        namespace, name = _local(element)
        module = module_for(namespace) if namespace else None
        if module is not None:
            modules = [module]
        elif namespace:
            modules = []  # a namespace of no loaded module selects nothing
        else:
            # An unqualified top-level node matches that name in any module.
            modules = top_level_modules(name)
        for mod in modules:
            _translate(element, f"/{mod}:{name}", mod, module_for, xpaths)
    return xpaths


def _translate(
    element: etree._Element, path: str, module: str,
    module_for: ModuleForNamespace, out: list[str],
) -> None:
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        out.append(path)
        return
    predicates = []
    others = []
    for child in children:
        namespace, name = _local(child)
        child_module = module_for(namespace) if namespace else module
        if child_module is None:
            return  # a namespace no module has selects nothing
        step = name if child_module == module else f"{child_module}:{name}"
        if _is_content_match(child):
            # RFC 7950 §9.10.3: an identityref value's prefix is resolved in
            # the namespace context of its own element.
            # NOTE: a string leaf whose value starts with a declared prefix,
            # such as 'x:1', is matched in its module-name form as well.
            value = qualify_value((child.text or "").strip(), child.nsmap, module_for)
            predicates.append((step, value))
        else:
            others.append((step, child, child_module))
    selected = path + "".join(f"[{step}={xpath_literal(value)}]" for step, value in predicates)
    if not others:
        out.append(selected)
        return
    out.extend(f"{selected}/{step}" for step, _ in predicates)
    for step, child, child_module in others:
        _translate(child, f"{selected}/{step}", child_module, module_for, out)


def select(tree: DataTree, xpaths: list[str]) -> DataTree:
    """Copy the subtrees the XPaths select, with their ancestors and list keys."""
    result = DataTree(tree.context, None)
    copied: set[int] = set()
    for xpath in xpaths:
        for node in find_xpath(tree, xpath):
            # A node inside a subtree that is already copied adds nothing, and
            # copying it again would make `//*` cost the tree size times its depth.
            if _inside(node.cdata, copied):
                continue
            copied.add(_address(node.cdata))
            _copy_with_parents(result, node)
    return result


def _address(cdata: Any) -> int:
    return int(ffi.cast("uintptr_t", cdata))


def _inside(cdata: Any, copied: set[int]) -> bool:
    """Tell whether a node or one of its ancestors is in `copied`."""
    while cdata:
        if _address(cdata) in copied:
            return True
        cdata = cdata.parent
    return False


def find_xpath(tree: DataTree, xpath: str) -> list[libyang.DNode]:
    """Return the nodes an XPath 1.0 expression selects.

    Raises:
        InvalidXPathError: the expression is invalid, or its result is not a node-set.
    """
    root = tree.root
    if root is None:
        return []
    node_set = ffi.new("struct ly_set **")
    if lib.lyd_find_xpath(root.cdata, xpath.encode(), node_set) != lib.LY_SUCCESS:
        issues = take_issues(tree.context)
        reason = "; ".join(issue.message for issue in issues) or "libyang cannot evaluate it"
        raise InvalidXPathError(xpath, reason)
    # Warnings stored on success would otherwise be reported with a later error.
    lib.ly_err_clean(tree.context.cdata, ffi.NULL)
    found = node_set[0]
    try:
        return [libyang.DNode.new(tree.context, found.dnodes[i]) for i in range(found.count)]
    finally:
        lib.ly_set_free(found, ffi.NULL)


def _copy_with_parents(result: DataTree, node: libyang.DNode) -> None:
    if node.schema().nodetype() not in _DATA_NODE_TYPES:
        return
    dup = ffi.new("struct lyd_node **")
    flags = lib.LYD_DUP_RECURSIVE | lib.LYD_DUP_WITH_PARENTS | lib.LYD_DUP_WITH_FLAGS
    if lib.lyd_dup_single(node.cdata, ffi.NULL, flags, dup) != lib.LY_SUCCESS:
        return
    top = dup[0]
    while top.parent:
        top = ffi.cast("struct lyd_node *", top.parent)
    fragment = DataTree(result.context, libyang.DNode.new(result.context, top))
    result.merge(fragment, consume=True)


_DATA_NODE_TYPES = {
    libyang.SNode.CONTAINER, libyang.SNode.LIST, libyang.SNode.LEAF, libyang.SNode.LEAFLIST,
}


Step = tuple[str | None, str, list[tuple[str, str]]]
_STEP = re.compile(r"^(?:([A-Za-z_][\w.\-]*):)?([A-Za-z_][\w.\-]*)$")
_PREDICATE = re.compile(
    r"""^\[(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)=(?:'([^']*)'|"([^"]*)")\]""")


def prune_json(document: dict[str, Any], xpath: str) -> dict[str, Any] | None:
    """Cut RFC 7951 JSON down to what one filter XPath can select, before libyang parses it.

    The result is a superset of the selection: list entries are kept whole
    once their key predicates match.  None means the XPath is not a plain
    path with equality predicates, so the document cannot be cut.
    """
    steps = _split_steps(xpath)
    if steps is None:
        return None
    return _prune(document, steps, None)


def _split_steps(xpath: str) -> list[Step] | None:
    if not xpath.startswith("/"):
        return None
    steps: list[Step] = []
    rest = xpath[1:]
    while rest:
        cut = re.match(r"[^/\[]*", rest)
        assert cut is not None
        match = _STEP.match(cut.group(0))
        if match is None:
            return None
        rest = rest[cut.end():]
        predicates = []
        while rest.startswith("["):
            found = _PREDICATE.match(rest)
            if found is None:
                return None
            value = found.group(2) if found.group(2) is not None else found.group(3)
            predicates.append((found.group(1), value))
            rest = rest[found.end():]
        steps.append((match.group(1), match.group(2), predicates))
        if rest and not rest.startswith("/"):
            return None
        rest = rest[1:]
    return steps


def _json_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _prune(node: dict[str, Any], steps: list[Step], module: str | None) -> dict[str, Any]:
    if not steps:
        return node
    (step_module, name, predicates), rest = steps[0], steps[1:]
    step_module = step_module or module
    key = f"{step_module}:{name}" if f"{step_module}:{name}" in node else name
    if key not in node:
        return {}
    value = node[key]
    if isinstance(value, list):
        kept = [entry for entry in value if isinstance(entry, dict) and all(
            _json_text(entry.get(leaf)) == expected for leaf, expected in predicates)]
        return {key: kept} if kept else {}
    if isinstance(value, dict) and not predicates:
        inner = _prune(value, rest, step_module)
        return {key: inner} if inner else {}
    return {key: value}
