"""RFC 6022 ietf-netconf-monitoring: the netconf-state data and the get-schema operation."""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

from agent.datastore import DatastoreName
from agent.netconf.errors import ErrorTag, ErrorType, RPCError
from agent.netconf.request import Request, Services, text_of
from agent.schema import DataTree

MONITORING_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
_NCM = "ietf-netconf-monitoring"


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def netconf_state(services: Services) -> DataTree:
    """Build the netconf-state container from the sessions, locks and modules."""
    state = {
        "capabilities": {"capability": list(services.capabilities)},
        "datastores": {"datastore": _datastores(services)},
        "schemas": {"schema": _schemas(services)},
        "sessions": {"session": _sessions(services)} if services.sessions.sessions() else {},
        "statistics": _statistics(services),
    }
    return services.schema.parse_json({f"{_NCM}:netconf-state": state})


def _datastores(services: Services) -> list[dict[str, object]]:
    locks = services.datastores.locks()
    entries: list[dict[str, object]] = []
    for name in DatastoreName:
        entry: dict[str, object] = {"name": name.value}
        lock = locks.get(name)
        if lock is not None:
            entry["locks"] = {"global-lock": {"locked-by-session": lock.session_id,
                                              "locked-time": _time(lock.locked_time)}}
        entries.append(entry)
    return entries


def _schemas(services: Services) -> list[dict[str, object]]:
    return [
        {"identifier": module.name, "version": module.revision, "format": f"{_NCM}:yang",
         "namespace": module.namespace, "location": ["NETCONF"]}
        for module in services.schema.modules()
    ]


def _sessions(services: Services) -> list[dict[str, object]]:
    return [
        {
            "session-id": session.session_id,
            "transport": f"{_NCM}:netconf-ssh",
            "username": session.username,
            # inet:host cannot be empty, so 0.0.0.0 is used for an unknown peer.
            "source-host": session.source_host or "0.0.0.0",
            "login-time": _time(session.login_time),
            "in-rpcs": session.in_rpcs,
            "in-bad-rpcs": session.in_bad_rpcs,
            "out-rpc-errors": session.out_rpc_errors,
            "out-notifications": session.out_notifications,
        }
        for session in services.sessions.sessions()
    ]


def _statistics(services: Services) -> dict[str, object]:
    stats = services.statistics
    manager = services.sessions
    return {
        "netconf-start-time": _time(services.start_time),
        "in-bad-hellos": manager.in_bad_hellos,
        "in-sessions": manager.in_sessions,
        "dropped-sessions": manager.dropped_sessions,
        "in-rpcs": stats.in_rpcs,
        "in-bad-rpcs": stats.in_bad_rpcs,
        "out-rpc-errors": stats.out_rpc_errors,
        # NOTE: counts the notifications of open sessions only, because the
        # session table drops a session when it ends.
        "out-notifications": sum(s.out_notifications for s in manager.sessions()),
    }


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
