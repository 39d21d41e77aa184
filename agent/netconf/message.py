"""Parsing of client rpc messages with a hardened XML parser, and rendering of rpc-reply."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from agent.netconf.errors import BASE_NS, ErrorTag, ErrorType, RPCError

MAX_DEPTH = 64
"""Deepest element nesting accepted in an rpc; the pki-agent data is about 10 levels deep."""

_REPLY_PLACEHOLDER = "@@pki-agent-reply-body@@"


def _make_parser() -> etree.XMLParser:
    # No entities, no network access and no DTD loading, so an rpc cannot
    # read files or expand entity bombs. Comments and processing
    # instructions are dropped, so an XML comment inside an rpc is ignored.
    # huge_tree lifts libxml2's 10,000,000-byte limit on one text node or
    # comment, which is below the maximum message size. The framing layer
    # already rejects a message above that size before it is parsed, and
    # MAX_DEPTH is checked after parsing.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=True, remove_comments=True, remove_pis=True,
    )


# lxml parsers keep no document state between calls but are not thread
# safe. Every rpc is parsed on the event loop's thread, so one parser
# serves all sessions and is not rebuilt per message.
_PARSER = _make_parser()


# lxml reports UTF-8 when the declaration names no encoding.
_UTF8_NAMES = frozenset({"UTF-8", "UTF8"})


class MalformedMessageError(RPCError):
    """The message is not well-formed XML or not an rpc."""


def parse_message(message: bytes) -> etree._Element:
    """Parse one rpc message.

    Raises:
        RPCError: malformed-message for XML that is not well-formed, has a
            DOCTYPE or nests deeper than MAX_DEPTH.
    """
    try:
        root = etree.fromstring(message, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise _malformed(f"the message is not well-formed XML: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype:
        raise _malformed("a DOCTYPE declaration is not allowed in a NETCONF message")
    if docinfo.encoding.upper() not in _UTF8_NAMES:
        raise _malformed(f"the message declares encoding {docinfo.encoding!r}, "
                         "but NETCONF messages must be UTF-8 (RFC 6241 §3)")
    if _depth(root) > MAX_DEPTH:
        raise _malformed(f"the message nests elements deeper than {MAX_DEPTH} levels")
    return root


def _malformed(text: str) -> RPCError:
    return RPCError(ErrorType.RPC, ErrorTag.MALFORMED_MESSAGE, text)


def _depth(root: etree._Element) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in element if isinstance(child.tag, str))
    return deepest


def render_reply(rpc_attributes: Iterable[tuple[str, str]], body: str) -> bytes:
    """Wrap a reply body (an XML fragment) in rpc-reply, echoing the rpc's attributes.

    RFC 6241 §4.2: the reply carries every attribute of the rpc, and is in
    the base namespace whatever prefix the client used.
    """
    reply = etree.Element(f"{{{BASE_NS}}}rpc-reply", nsmap={None: BASE_NS})
    for name, value in rpc_attributes:
        reply.set(name, value)
    reply.text = _REPLY_PLACEHOLDER
    text = etree.tostring(reply, encoding="unicode")
    # The element text follows every attribute, so the last occurrence is
    # the placeholder even if a client echoed the same string in one.
    head, _, tail = text.rpartition(_REPLY_PLACEHOLDER)
    return (head + body + tail).encode()


def render_errors(errors: Iterable[RPCError], namespaces: dict[str, str]) -> str:
    return "".join(
        etree.tostring(error.to_element(namespaces), encoding="unicode") for error in errors)
