"""The NETCONF hello exchange (RFC 6241 §8.1): the server hello and client hello checks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

from agent.errors import AgentError

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"


class BaseCapability(StrEnum):
    """The base protocol capabilities, which also select the framing (RFC 6242 §4.1)."""

    V1_0 = "urn:ietf:params:netconf:base:1.0"
    V1_1 = "urn:ietf:params:netconf:base:1.1"


BASE_VERSIONS = {BaseCapability.V1_1: "1.1", BaseCapability.V1_0: "1.0"}


class HelloError(AgentError):
    """The client hello is invalid, so the session must be closed without a reply."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid client hello: {reason}")


@dataclass(frozen=True, slots=True)
class ClientHello:
    """A client hello that passed the checks, with the negotiated base version."""

    capabilities: tuple[str, ...]
    base_version: str


def _make_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network; libxml2's default depth
    # limit applies because huge_tree is off.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def build_server_hello(capabilities: list[str], session_id: int) -> bytes:
    """Render the server hello: the capabilities and a session-id, with no message-id."""
    hello = etree.Element(f"{{{BASE_NS}}}hello", nsmap={None: BASE_NS})
    container = etree.SubElement(hello, f"{{{BASE_NS}}}capabilities")
    for uri in capabilities:
        etree.SubElement(container, f"{{{BASE_NS}}}capability").text = uri
    etree.SubElement(hello, f"{{{BASE_NS}}}session-id").text = str(session_id)
    return bytes(etree.tostring(hello, xml_declaration=True, encoding="UTF-8"))


def parse_client_hello(message: bytes, server_capabilities: list[str]) -> ClientHello:
    """Check a client hello and choose the base version both sides offer.

    Raises:
        HelloError: the message is not XML, is not a hello (an ``<rpc>`` sent
            before the hello is one case), carries a session-id (RFC 6241
            §8.1), or shares no base version with the server.
    """
    try:
        root = etree.fromstring(message, _make_parser())
    except etree.XMLSyntaxError as exc:
        raise HelloError(f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise HelloError("a document type declaration is not allowed")
    if root.tag != f"{{{BASE_NS}}}hello":
        raise HelloError(f"expected a hello element in {BASE_NS}, got {root.tag}")
    if root.find(f"{{{BASE_NS}}}session-id") is not None:
        raise HelloError("a client hello must not contain a session-id")
    capabilities = tuple(
        (element.text or "").strip()
        for element in root.iterfind(f"{{{BASE_NS}}}capabilities/{{{BASE_NS}}}capability")
    )
    if "" in capabilities:
        raise HelloError("empty capability element")
    for capability, version in BASE_VERSIONS.items():
        if capability in capabilities and capability in server_capabilities:
            return ClientHello(capabilities, version)
    raise HelloError(
        f"no common base capability: the client offers "
        f"{[uri for uri in capabilities if uri in BASE_VERSIONS] or 'none'}"
    )
