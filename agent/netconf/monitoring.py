"""RFC 6022 ietf-netconf-monitoring: the netconf-state data and the get-schema operation."""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

from agent.netconf.errors import ErrorTag, ErrorType, RPCError
from agent.netconf.request import Request, Services, text_of
from agent.schema import DataTree

MONITORING_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
_NCM = "ietf-netconf-monitoring"


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def netconf_state(services: Services) -> DataTree:
    """Build the netconf-state container from the sessions, locks and modules."""
    datastores = []
    for name in ("running", "candidate", "startup"):
        entry: dict[str, object] = {"name": name}
        lock = services.datastores.locks().get(name)  # type: ignore[call-overload]
        if lock is not None:
            entry["locks"] = {"global-lock": {"locked-by-session": lock.session_id,
                                              "locked-time": _time(lock.locked_time)}}
        datastores.append(entry)
    sessions = [
        {
            "session-id": session.session_id,
            "transport": f"{_NCM}:netconf-ssh",
            "username": session.username,
            "source-host": session.source_host or "0.0.0.0",
            "login-time": _time(session.login_time),
            "in-rpcs": session.in_rpcs,
            "in-bad-rpcs": session.in_bad_rpcs,
            "out-rpc-errors": session.out_rpc_errors,
            "out-notifications": session.out_notifications,
        }
        for session in services.sessions.sessions()
    ]
    schemas = [
        {"identifier": module.name, "version": module.revision, "format": f"{_NCM}:yang",
         "namespace": module.namespace, "location": ["NETCONF"]}
        for module in services.schema.modules()
    ]
    stats = services.statistics
    manager = services.sessions
    state = {
        "capabilities": {"capability": list(services.capabilities)},
        "datastores": {"datastore": datastores},
        "schemas": {"schema": schemas},
        "sessions": {"session": sessions} if sessions else {},
        "statistics": {
            "netconf-start-time": _time(services.start_time),
            "in-bad-hellos": manager.in_bad_hellos,
            "in-sessions": manager.in_sessions,
            "dropped-sessions": manager.dropped_sessions,
            "in-rpcs": stats.in_rpcs,
            "in-bad-rpcs": stats.in_bad_rpcs,
            "out-rpc-errors": stats.out_rpc_errors,
            "out-notifications": sum(s.out_notifications for s in manager.sessions()),
        },
    }
    return services.schema.parse_json({f"{_NCM}:netconf-state": state})


async def get_schema(request: Request) -> str:
    """RFC 6022 §3.1: return the YANG text of one module."""
    identifier = text_of(request, "identifier") or ""
    version = text_of(request, "version") or None
    schema_format = text_of(request, "format")
    if schema_format not in (None, "yang", "ncm:yang") and not (schema_format or "").endswith(
            ":yang"):
        raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                       f"schema format {schema_format!r} is not available; use yang",
                       info=(("bad-element", "format"),))
    text = request.services.schema.module_text(identifier, version)
    if text is None:
        raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                       f"no schema {identifier!r} with version {version or 'any'!r}",
                       info=(("bad-element", "identifier"),))
    return f'<data xmlns="{MONITORING_NS}">{escape(text)}</data>'
