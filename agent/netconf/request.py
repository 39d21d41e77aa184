"""The input of an operation handler: the shared services, the session and its parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from agent.datastore import DatastoreName, Datastores
from agent.hooks import Hooks
from agent.netconf.cache import ConfigReplyCache, StateTreeCache
from agent.netconf.errors import BASE_NS, ErrorTag, ErrorType, RPCError
from agent.netconf.session import Session, SessionManager
from agent.schema import Schema, WithDefaults

WITH_DEFAULTS_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"


@dataclass
class Statistics:
    """Server-wide RPC counters of ietf-netconf-monitoring, over every session so far."""

    in_rpcs: int = 0
    in_bad_rpcs: int = 0
    out_rpc_errors: int = 0


@dataclass
class Services:
    """The long-lived objects every operation may use."""

    schema: Schema
    datastores: Datastores
    hooks: Hooks
    sessions: SessionManager
    capabilities: list[str] = field(default_factory=list)
    statistics: Statistics = field(default_factory=Statistics)
    config_replies: ConfigReplyCache = field(default_factory=ConfigReplyCache)
    state_trees: StateTreeCache = field(default_factory=StateTreeCache)
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Request:
    """One operation of an rpc, with its parameters by local name."""

    services: Services
    session: Session
    operation: etree._Element
    params: dict[str, etree._Element]


Handler = Callable[[Request], Awaitable[str | None]]
"""Returns the reply body as an XML fragment, or None for <ok/>."""


@dataclass(frozen=True, slots=True)
class Operation:
    """An implemented operation and the parameters it accepts, by local name and namespace."""

    handler: Handler
    params: dict[str, str]
    required: tuple[str, ...] = ()


def collect_params(operation: etree._Element, spec: Operation) -> dict[str, etree._Element]:
    """Index the parameters of an operation, rejecting unknown ones (never ignoring them)."""
    params: dict[str, etree._Element] = {}
    for child in operation:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if spec.params.get(qname.localname) != _parameter_namespace(qname):
            raise RPCError(
                ErrorType.PROTOCOL, ErrorTag.OPERATION_NOT_SUPPORTED,
                f"parameter {qname.localname!r} of {etree.QName(operation).localname} "
                "is not supported", info=(("bad-element", qname.localname),))
        if qname.localname in params:
            raise RPCError(ErrorType.PROTOCOL, ErrorTag.BAD_ELEMENT,
                           f"parameter {qname.localname!r} is given twice",
                           info=(("bad-element", qname.localname),))
        params[qname.localname] = child
    for name in spec.required:
        if name not in params:
            raise RPCError(ErrorType.PROTOCOL, ErrorTag.MISSING_ELEMENT,
                           f"parameter {name!r} is missing", info=(("bad-element", name),))
    return params


def _parameter_namespace(qname: etree.QName) -> str | None:
    """Read an unqualified parameter as a base-namespace one.

    ncclient sends the ``<config>`` string its users write, commonly with no
    namespace, inside a base-namespace ``<edit-config>``; servers in the field
    accept that, so a parameter in no namespace counts as base.
    """
    return BASE_NS if qname.namespace is None else qname.namespace


def base_params(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, BASE_NS)


def datastore_of(request: Request, param: str) -> DatastoreName:
    """Read `<target><running/></target>`-style datastore parameters; url is refused."""
    element = request.params[param]
    children = [child for child in element if isinstance(child.tag, str)]
    if len(children) != 1:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.MISSING_ELEMENT if not children
                       else ErrorTag.BAD_ELEMENT,
                       f"{param} must name exactly one datastore", info=(("bad-element", param),))
    qname = etree.QName(children[0])
    if qname.namespace == BASE_NS and qname.localname == "url":
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.OPERATION_NOT_SUPPORTED,
                       "the :url capability is not implemented", info=(("bad-element", "url"),))
    try:
        if _parameter_namespace(qname) != BASE_NS:
            raise ValueError(qname.localname)
        return DatastoreName(qname.localname)
    except ValueError:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE,
                       f"unknown datastore {qname.localname!r}",
                       info=(("bad-element", qname.localname),)) from None


def with_defaults_of(request: Request) -> WithDefaults:
    """Read the RFC 6243 with-defaults parameter; explicit is the basic mode."""
    element = request.params.get("with-defaults")
    if element is None:
        return WithDefaults.EXPLICIT
    try:
        return WithDefaults((element.text or "").strip())
    except ValueError:
        raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                       f"unknown with-defaults mode {element.text!r}",
                       info=(("bad-element", "with-defaults"),)) from None


def text_of(request: Request, name: str) -> str | None:
    element = request.params.get(name)
    if element is None:
        return None
    return (element.text or "").strip()
