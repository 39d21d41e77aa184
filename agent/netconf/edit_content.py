"""Preparation of edit-config content for libyang.

RFC 6241 §7.2 lets a client delete or remove a leaf by sending it empty,
which is not a valid value of most types, so libyang cannot parse it.
Such leaves are taken out of the XML and turned into data paths before
the rest is parsed.
"""

from __future__ import annotations

import libyang
from lxml import etree

from agent.datastore import EditOperation
from agent.netconf.errors import BASE_NS, ErrorTag, ErrorType, RPCError
from agent.schema import DataTree, Schema
from agent.schema.filters import quote_literal

_OPERATION = f"{{{BASE_NS}}}operation"
_REMOVING = {EditOperation.DELETE.value, EditOperation.REMOVE.value}


def parse_edit_content(
    schema: Schema, config: etree._Element,
) -> tuple[DataTree, list[tuple[str, EditOperation]]]:
    """Parse the children of <config> and return the tree and the empty leaves to delete."""
    content = etree.fromstring(etree.tostring(config))
    removals: list[tuple[str, EditOperation]] = []
    for element in list(content.iter()):
        if not isinstance(element.tag, str) or element is content:
            continue
        if element.get(_OPERATION) in _REMOVING and len(element) == 0 \
                and not (element.text or "").strip():
            path = _data_path(schema, element, content)
            if path is not None and not _is_list_or_container(schema, path):
                removals.append((path, EditOperation(element.get(_OPERATION))))
                element.getparent().remove(element)
    return parse_config_children(schema, content), removals


def parse_config_children(schema: Schema, config: etree._Element) -> DataTree:
    """Parse the element children of a <config> element with libyang, without validation."""
    parts = [etree.tostring(child, encoding="unicode")
             for child in config if isinstance(child.tag, str)]
    if not parts:
        return DataTree(schema.context, None)
    return schema.parse_xml("".join(parts))


def _data_path(schema: Schema, element: etree._Element, top: etree._Element) -> str | None:
    chain = []
    node = element
    while node is not None and node is not top:
        chain.append(node)
        node = node.getparent()
    steps = []
    schema_path = ""
    module = None
    for item in reversed(chain):
        qname = etree.QName(item)
        item_module = schema.module_name(qname.namespace) if qname.namespace else module
        if item_module is None:
            raise RPCError(ErrorType.APPLICATION, ErrorTag.UNKNOWN_NAMESPACE,
                           f"no module has the namespace {qname.namespace!r}",
                           info=(("bad-element", qname.localname),
                                 ("bad-namespace", qname.namespace or "")))
        step = qname.localname if item_module == module else f"{item_module}:{qname.localname}"
        module = item_module
        schema_path += "/" + step
        steps.append(step + _key_predicates(schema, schema_path, item))
    return "/" + "/".join(steps)


def _key_predicates(schema: Schema, schema_path: str, element: etree._Element) -> str:
    snode = _schema_node(schema, schema_path)
    if not isinstance(snode, libyang.SList):
        return ""
    predicates = []
    key_nodes = list(snode.keys())
    for key in key_nodes:
        value = element.findtext(f"{{{etree.QName(element).namespace}}}{key.name()}")
        if value is None:
            raise RPCError(ErrorType.PROTOCOL, ErrorTag.MISSING_ELEMENT,
                           f"list entry {schema_path} lacks its key {key.name()}",
                           info=(("bad-element", key.name()),))
        predicates.append(f"[{key.name()}={quote_literal(value.strip())}]")
    return "".join(predicates)


def _schema_node(schema: Schema, schema_path: str) -> libyang.SNode | None:
    try:
        return next(schema.context.find_path(schema_path), None)
    except libyang.LibyangError:
        return None


def _is_list_or_container(schema: Schema, path: str) -> bool:
    schema_path = "/".join(step.split("[", 1)[0] for step in path.split("/"))
    snode = _schema_node(schema, schema_path)
    return isinstance(snode, libyang.SList | libyang.SContainer)
