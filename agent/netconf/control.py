"""Session control (close-session, kill-session), RFC 5277 create-subscription, and module RPCs."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from _libyang import ffi, lib
from lxml import etree

from agent.datastore import DatastoreName
from agent.netconf.errors import (
    BASE_NS,
    ErrorTag,
    ErrorType,
    RPCError,
    RPCErrors,
    from_issue,
    to_rpc_errors,
)
from agent.netconf.filters import check_xpath_cost, filter_type
from agent.netconf.notifications import NETCONF_STREAM, NotificationFilter
from agent.netconf.request import Request, text_of
from agent.schema import DataInvalidError
from agent.schema.tree import take_issues

logger = logging.getLogger(__name__)

NOTIFICATION_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"


async def close_session(request: Request) -> None:
    request.session.request_close()


async def kill_session(request: Request) -> None:
    raw = text_of(request, "session-id") or ""
    if not raw.isdigit():
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE, f"invalid session-id {raw!r}",
                       info=(("bad-element", "session-id"),))
    target = int(raw)
    if target == request.session.session_id:
        # RFC 6241 §7.9: a session cannot kill itself, and close-session ends it instead.
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE,
                       "kill-session cannot end the calling session; use close-session",
                       info=(("bad-element", "session-id"),))
    if request.services.sessions.get(target) is None:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE, f"session {target} not found",
                       info=(("bad-element", "session-id"),))
    request.session.log.info("killing session %d", target)
    await request.services.sessions.kill(target)


def _parse_time(request: Request, name: str) -> datetime | None:
    raw = text_of(request, name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE, f"invalid {name} {raw!r}",
                       info=(("bad-element", name),)) from None


async def create_subscription(request: Request) -> None:
    """Start a subscription (RFC 5277 §2.1.1) without replay, so startTime is rejected."""
    stream = text_of(request, "stream") or NETCONF_STREAM
    if stream != NETCONF_STREAM:
        raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                       f"unknown stream {stream!r}; only {NETCONF_STREAM} exists",
                       info=(("bad-element", "stream"),))
    if "startTime" in request.params:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.OPERATION_NOT_SUPPORTED,
                       "replay is not supported, so startTime cannot be used",
                       info=(("bad-element", "startTime"),))
    stop_time = _parse_time(request, "stopTime")
    if request.session.subscribed:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.IN_USE,
                       "this session already has a subscription (RFC 5277 allows one)")
    element = request.params.get("filter")
    selector = _notification_filter(element) if element is not None else None
    request.session.start_subscription(stream, selector, stop_time)


def _notification_filter(element: etree._Element) -> NotificationFilter:
    if filter_type(element) == "xpath":
        select = element.get("select") or ""
        check_xpath_cost(select)
        try:
            # No EXSLT regular expressions: they backtrack without limit on the event loop.
            compiled = etree.XPath(select, namespaces={k: v for k, v in element.nsmap.items() if k},
                                   regexp=False)
        except etree.XPathSyntaxError as exc:
            raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                           f"invalid xpath filter: {exc}",
                           info=(("bad-element", "filter"),)) from exc
        return NotificationFilter(lambda document: _xpath_matches(compiled, document))
    patterns = [etree.fromstring(etree.tostring(child)) for child in element
                if isinstance(child.tag, str)]
    return NotificationFilter(lambda document: _subtree_matches(patterns, document))


def _xpath_matches(compiled: etree.XPath, document: bytes) -> bool:
    root = etree.fromstring(document)
    return bool(compiled(root))


def _subtree_matches(patterns: list[etree._Element], document: bytes) -> bool:
    """RFC 5277 §3.6: a notification passes when its content matches one filter subtree."""
    events = [child for child in etree.fromstring(document) if isinstance(child.tag, str)]
    return any(_element_matches(pattern, event) for pattern in patterns for event in events)


def _element_matches(pattern: etree._Element, data: etree._Element) -> bool:
    if pattern.tag != data.tag:
        return False
    for child in pattern:
        if not isinstance(child.tag, str):
            continue
        candidates = [d for d in data if d.tag == child.tag]
        expected = (child.text or "").strip()
        if len(child) == 0 and expected:
            if not any((d.text or "").strip() == expected for d in candidates):
                return False
        elif len(child) and not any(_element_matches(child, d) for d in candidates):
            return False
    return True


async def module_rpc(request: Request) -> None:
    """Validate a pki-agent RPC with libyang and pass its input to the backend's handler."""
    services = request.services
    qname = etree.QName(request.operation)
    name = f"pki-agent:{qname.localname}"
    handler = services.hooks.rpc_handlers.get(name)
    if handler is None:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.OPERATION_NOT_SUPPORTED,
                       f"{name} needs the enrollment daemon, and no enrollment daemon is running")
    rpc_input = _parse_module_rpc(request)
    logger.info("session %d called %s", request.session.session_id, name)
    await handler(rpc_input)
    # NOTE: the module's RPCs have no output, so a handler's return value is
    # not sent, and the reply is <ok/>.


def _parse_module_rpc(request: Request) -> dict[str, object]:
    services = request.services
    context = services.schema.context
    envelope = etree.Element(f"{{{BASE_NS}}}rpc", nsmap={None: BASE_NS})
    envelope.set("message-id", "0")
    envelope.append(etree.fromstring(etree.tostring(request.operation)))
    try:
        operation = services.schema.parse_netconf_rpc(etree.tostring(envelope))
    except DataInvalidError as exc:
        raise RPCErrors(to_rpc_errors(exc)) from exc
    node = operation.root
    assert node is not None
    running = services.datastores.tree(DatastoreName.RUNNING).root
    # Validation against running checks mandatory input and leafref targets,
    # e.g. that renew-now names an existing enrollment.
    ret = lib.lyd_validate_op(node.cdata, running.cdata if running is not None else ffi.NULL,
                              lib.LYD_TYPE_RPC_YANG, ffi.NULL)
    if ret != lib.LY_SUCCESS:
        issues = take_issues(context, operation)
        operation.free()
        if not issues:
            raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE, "invalid RPC input")
        # RFC 7950 §15: the same error-tags as for invalid configuration,
        # such as data-missing for a name that no enrollment has.
        raise RPCErrors(tuple(from_issue(issue) for issue in issues))
    document = json.loads(operation.print_json())
    operation.free()
    result: dict[str, object] = next(iter(document.values()), {}) or {}
    return result
