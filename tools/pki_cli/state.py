"""Convert the ``pki`` subtree of a NETCONF reply to RFC 7951 JSON values.

The views and ``--format json`` work on that JSON form, which is also what
the backend contract of the agent uses. The node kinds below mirror
``yang/pki-agent.yang``; a test checks them against the module.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from tools.pki_cli.editxml import PKI_NS

JSONData = dict[str, Any]

MODULE = "pki-agent"

# Containers and list entries become JSON objects; lists and leaf-lists
# become JSON arrays (RFC 7951 §5.3, §5.4).
CONTAINER_NODES = frozenset({"pki", "daemon", "state", "cert", "san", "certificates"})
# The enrollment's state container has a leaf of the same name.
LEAF_IN_CONTAINER = frozenset({("state", "state")})
LIST_NODES = frozenset({"enroll-server", "enroll", "certificate"})
LEAF_LIST_NODES = frozenset({"capability", "warning", "ip-address", "dns-name", "email", "uri"})

# Integer types up to 32 bits are JSON numbers; 64-bit integers are
# strings (RFC 7951 §6.1). Booleans are JSON literals.
NUMBER_LEAVES = frozenset(
    {"id", "poll-interval", "server-check-interval", "renewal-threshold", "keysize",
     "attempts", "key-size"}
)
BOOLEAN_LEAVES = frozenset({"enabled", "renewing"})
IDENTITYREF_LEAVES = frozenset({"protocol"})


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def _identity(element: etree._Element) -> str:
    """Rewrite an identityref from XML prefix form to RFC 7951 module form."""
    text = (element.text or "").strip()
    prefix, colon, name = text.partition(":")
    if not colon:
        return f"{MODULE}:{text}"
    namespace = element.nsmap.get(prefix)
    module = MODULE if namespace == PKI_NS or namespace is None else prefix
    return f"{module}:{name}"


def _leaf_value(element: etree._Element) -> Any:
    name = _local_name(element)
    text = (element.text or "").strip()
    if name in NUMBER_LEAVES:
        return int(text)
    if name in BOOLEAN_LEAVES:
        return text == "true"
    if name in IDENTITYREF_LEAVES:
        return _identity(element)
    return element.text or ""


def _is_leaf(element: etree._Element) -> bool:
    name = _local_name(element)
    parent = element.getparent()
    if parent is not None and (_local_name(parent), name) in LEAF_IN_CONTAINER:
        return True
    return name not in CONTAINER_NODES and name not in LIST_NODES


def _convert(element: etree._Element) -> Any:
    if _is_leaf(element):
        return _leaf_value(element)
    result: JSONData = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        child_name = _local_name(child)
        value = _convert(child)
        if child_name in LIST_NODES or child_name in LEAF_LIST_NODES:
            result.setdefault(child_name, []).append(value)
        else:
            result[child_name] = value
    return result


def pki_from_xml(reply: etree._Element) -> JSONData:
    """Return ``{"pki-agent:pki": {...}}`` for the pki element found in a get reply.

    ``reply`` may be the rpc-reply, its data element, or the pki element.
    A reply without a pki element gives an empty container.
    """
    pki = reply if _local_name(reply) == "pki" else reply.find(f".//{{{PKI_NS}}}pki")
    if pki is None:
        return {f"{MODULE}:pki": {}}
    return {f"{MODULE}:pki": _convert(pki)}


def pki_body(data: JSONData) -> JSONData:
    """Return the contents of the top-level ``pki-agent:pki`` container."""
    body = data.get(f"{MODULE}:pki", {})
    return body if isinstance(body, dict) else {}
