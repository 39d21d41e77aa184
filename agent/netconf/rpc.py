"""RPC dispatch: parse one rpc, run its operation, and render the rpc-reply."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import libyang
from lxml import etree

from agent.datastore import Datastores
from agent.errors import AgentError
from agent.hooks import Hooks, JSONData
from agent.netconf import control, monitoring, operations, retrieval
from agent.netconf.errors import BASE_NS, ErrorTag, ErrorType, RPCError, to_rpc_errors
from agent.netconf.message import parse_message, render_errors, render_reply
from agent.netconf.request import (
    WITH_DEFAULTS_NS,
    Operation,
    Request,
    Services,
    base_params,
    collect_params,
)
from agent.netconf.session import Session, SessionManager
from agent.schema import NAMESPACE, DataTree, Schema

logger = logging.getLogger(__name__)

_WD = {"with-defaults": WITH_DEFAULTS_NS}
_MONITORING_NS = monitoring.MONITORING_NS
_NOTIFICATION_NS = control.NOTIFICATION_NS

OPERATIONS: dict[tuple[str, str], Operation] = {
    (BASE_NS, "get"): Operation(retrieval.get, {**base_params("filter"), **_WD}),
    (BASE_NS, "get-config"): Operation(
        retrieval.get_config, {**base_params("source", "filter"), **_WD}, ("source",)),
    (BASE_NS, "edit-config"): Operation(operations.edit_config, base_params(
        "target", "default-operation", "test-option", "error-option", "config", "url"),
        ("target",)),
    (BASE_NS, "copy-config"): Operation(
        operations.copy_config, {**base_params("target", "source"), **_WD}, ("target", "source")),
    (BASE_NS, "delete-config"): Operation(
        operations.delete_config, base_params("target"), ("target",)),
    (BASE_NS, "lock"): Operation(operations.lock, base_params("target"), ("target",)),
    (BASE_NS, "unlock"): Operation(operations.unlock, base_params("target"), ("target",)),
    (BASE_NS, "validate"): Operation(operations.validate, base_params("source"), ("source",)),
    (BASE_NS, "commit"): Operation(operations.commit, base_params(
        "confirmed", "confirm-timeout", "persist", "persist-id")),
    (BASE_NS, "cancel-commit"): Operation(operations.cancel_commit, base_params("persist-id")),
    (BASE_NS, "discard-changes"): Operation(operations.discard_changes, {}),
    (BASE_NS, "close-session"): Operation(control.close_session, {}),
    (BASE_NS, "kill-session"): Operation(
        control.kill_session, base_params("session-id"), ("session-id",)),
    (_MONITORING_NS, "get-schema"): Operation(monitoring.get_schema, dict.fromkeys(
        ("identifier", "version", "format"), _MONITORING_NS), ("identifier",)),
    (_NOTIFICATION_NS, "create-subscription"): Operation(control.create_subscription, dict.fromkeys(
        ("stream", "filter", "startTime", "stopTime"), _NOTIFICATION_NS)),
    **{
        (NAMESPACE, name): Operation(control.module_rpc, {"name": NAMESPACE, "label": NAMESPACE})
        for name in ("trigger", "renew-now", "re-enroll", "remove-ca-certificate")
    },
}

_CAPABILITIES = [
    "urn:ietf:params:netconf:base:1.0",
    "urn:ietf:params:netconf:base:1.1",
    "urn:ietf:params:netconf:capability:writable-running:1.0",
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
    "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
    "urn:ietf:params:netconf:capability:validate:1.1",
    "urn:ietf:params:netconf:capability:startup:1.0",
    "urn:ietf:params:netconf:capability:xpath:1.0",
    "urn:ietf:params:netconf:capability:with-defaults:1.0"
    "?basic-mode=explicit&also-supported=report-all,report-all-tagged,trim",
    "urn:ietf:params:netconf:capability:notification:1.0",
    "urn:ietf:params:netconf:capability:interleave:1.0",
]


class RPCProcessor:
    """The RPC layer between the transport's sessions and the datastores."""

    def __init__(self, schema: Schema, datastores: Datastores, hooks: Hooks,
                 sessions: SessionManager) -> None:
        self.services = Services(schema, datastores, hooks, sessions)
        self.services.capabilities = self._build_capabilities()
        self._namespaces = {module.name: module.namespace for module in schema.modules()}

    def capabilities(self) -> list[str]:
        """Return the capability URIs of the server hello: exactly what is implemented."""
        return list(self.services.capabilities)

    def _build_capabilities(self) -> list[str]:
        schema = self.services.schema
        modules = []
        for module in schema.modules():
            if not _announced_in_hello(schema.context.get_module(module.name)):
                continue
            uri = f"{module.namespace}?module={module.name}"
            if module.revision:
                uri += f"&revision={module.revision}"
            if module.name == "ietf-netconf":
                uri += "&features=writable-running,candidate,confirmed-commit," \
                       "rollback-on-error,validate,startup,xpath"
            modules.append(uri)
        library = schema.yang_library()
        content_id = library.find("/ietf-yang-library:yang-library/content-id")
        yanglib = "urn:ietf:params:netconf:capability:yang-library:1.1?revision=2019-01-04"
        if content_id is not None:
            yanglib += f"&content-id={content_id.value()}"  # type: ignore[attr-defined]
        return [*_CAPABILITIES, yanglib, *modules]

    async def handle(self, session: Session, message: bytes) -> bytes | None:
        """Handle one complete message and return the rpc-reply document."""
        session.in_rpcs += 1
        self.services.statistics.in_rpcs += 1
        attributes: list[tuple[str, str]] = []
        try:
            rpc = parse_message(message)
            attributes = list(rpc.attrib.items())
            body = await self._dispatch(session, rpc)
        except AgentError as exc:
            errors = to_rpc_errors(exc)
            if any(error.type is ErrorType.RPC for error in errors):
                session.in_bad_rpcs += 1
                self.services.statistics.in_bad_rpcs += 1
            if any(error.tag is ErrorTag.MALFORMED_MESSAGE for error in errors):
                session.request_close()
                if session.base_version == "1.0":
                    errors = tuple(_for_base_1_0(error) for error in errors)
            return self._error_reply(session, attributes, errors)
        except Exception:
            session.log.exception("operation failed unexpectedly")
            error = RPCError(ErrorType.APPLICATION, ErrorTag.OPERATION_FAILED,
                             "internal error; the server log has the details")
            return self._error_reply(session, attributes, (error,))
        return render_reply(attributes, body if body is not None else f'<ok xmlns="{BASE_NS}"/>')

    def _error_reply(self, session: Session, attributes: list[tuple[str, str]],
                     errors: tuple[RPCError, ...]) -> bytes:
        session.out_rpc_errors += 1
        self.services.statistics.out_rpc_errors += 1
        for error in errors:
            session.log.info("rpc-error %s: %s", error.tag, error.message)
        return render_reply(attributes, render_errors(errors, self._namespaces))

    async def _dispatch(self, session: Session, rpc: etree._Element) -> str | None:
        if rpc.tag != f"{{{BASE_NS}}}rpc":
            raise RPCError(ErrorType.RPC, ErrorTag.MALFORMED_MESSAGE,
                           f"expected an rpc element in {BASE_NS}")
        if rpc.get("message-id") is None:
            raise RPCError(ErrorType.RPC, ErrorTag.MISSING_ATTRIBUTE,
                           "the rpc has no message-id attribute",
                           info=(("bad-attribute", "message-id"), ("bad-element", "rpc")))
        if _has_text(rpc):
            raise RPCError(ErrorType.RPC, ErrorTag.BAD_ELEMENT,
                           "the rpc element contains text outside its operation element",
                           info=(("bad-element", "rpc"),))
        children = [child for child in rpc if isinstance(child.tag, str)]
        if len(children) != 1:
            raise RPCError(ErrorType.RPC, ErrorTag.MISSING_ELEMENT if not children
                           else ErrorTag.UNKNOWN_ELEMENT,
                           "an rpc must contain exactly one operation",
                           info=(("bad-element", "rpc"),))
        operation = children[0]
        qname = etree.QName(operation)
        spec = OPERATIONS.get((qname.namespace or "", qname.localname))
        if spec is None:
            raise RPCError(ErrorType.PROTOCOL, ErrorTag.OPERATION_NOT_SUPPORTED,
                           f"operation {qname.localname!r} in namespace "
                           f"{qname.namespace or '(none)'} is not supported",
                           info=(("bad-element", qname.localname),))
        params = collect_params(operation, spec)
        session.log.debug("rpc %s message-id %s", qname.localname, rpc.get("message-id"))
        return await spec.handler(Request(self.services, session, operation, params))

    def end_session(self, session: Session) -> None:
        """Release the session's locks, roll back its unconfirmed commit, drop its subscription."""
        self.services.datastores.end_session(session.session_id)
        session.end_subscription()

    def notification_xml(self, name: str, body: JSONData, event_time: datetime) -> bytes:
        """Render a module notification as an RFC 5277 <notification> document."""
        context = self.services.schema.context
        node = context.parse_op_mem("json", json.dumps({name: body}), libyang.DataType.NOTIF_YANG)
        holder = DataTree(context, node)
        content = str(node.print_mem("xml", pretty=False))
        holder.free()
        stamp = event_time.isoformat().replace("+00:00", "Z")
        return (f'<notification xmlns="{control.NOTIFICATION_NS}"><eventTime>{stamp}</eventTime>'
                f"{content}</notification>").encode()


def _has_text(rpc: etree._Element) -> bool:
    # The rpc element has element-only content (RFC 6241 §4.1), so only
    # whitespace may surround the operation.
    texts = [rpc.text, *(child.tail for child in rpc)]
    return any(text and text.strip() for text in texts)


# The yang-version of a parsed module as libyang 2 stores it in
# lysp_module.version: 0 or 1 for YANG 1.0, 2 for YANG 1.1.
_YANG_VERSION_1_1 = 2


def _announced_in_hello(module: libyang.Module) -> bool:
    # RFC 7950 §5.6.4 and §1.1: a server announces its YANG 1.1 modules only
    # in ietf-yang-library, never as module capabilities in the hello, so only
    # implemented YANG 1.0 modules are listed there (RFC 6020 §5.6.4).
    if not module.implemented():
        return False
    parsed = module.cdata.parsed
    return not parsed or parsed.version < _YANG_VERSION_1_1


def _for_base_1_0(error: RPCError) -> RPCError:
    # RFC 6241 Appendix A: malformed-message is new in base:1.1 and must not
    # be sent to base:1.0 clients, so they get operation-failed.
    if error.tag is not ErrorTag.MALFORMED_MESSAGE:
        return error
    return RPCError(error.type, ErrorTag.OPERATION_FAILED, error.message)
