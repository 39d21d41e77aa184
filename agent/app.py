"""The application: builds the schema, datastores, RPC layer, notification hub and SSH server."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from dataclasses import dataclass
from typing import Any

from lxml import etree

from agent.hooks import Hooks
from agent.netconf.hello import BASE_NS, BaseCapability
from agent.netconf.notifications import NotificationHub
from agent.netconf.server import NetconfServer, RPCHandler
from agent.netconf.session import Session, SessionManager
from agent.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class App:
    """Every long-lived part of a running agent."""

    settings: Settings
    hooks: Hooks
    sessions: SessionManager
    processor: RPCHandler
    server: NetconfServer
    hub: NotificationHub | None = None
    schema: Any = None
    datastores: Any = None
    daemon: Any = None


def build_app(settings: Settings) -> App:
    """Build the parts from the settings; nothing listens until `run`."""
    hooks = Hooks()
    sessions = SessionManager(settings.max_sessions)
    schema: Any = None
    datastores: Any = None
    if importlib.util.find_spec("agent.netconf.rpc") is None:
        logger.warning("the RPC layer agent.netconf.rpc is missing: only close-session works")
        processor: RPCHandler = BaseOnlyProcessor(sessions)
    else:
        from agent.datastore import Datastores
        from agent.netconf.rpc import RPCProcessor
        from agent.schema import Schema

        schema = Schema.load()
        datastores = Datastores(schema, settings.state_dir, hooks)
        processor = RPCProcessor(schema, datastores, hooks, sessions)
    server = NetconfServer(settings, sessions, processor)
    app = App(settings, hooks, sessions, processor, server, schema=schema, datastores=datastores)
    render = getattr(processor, "notification_xml", None)
    if render is not None:
        app.hub = NotificationHub(sessions, render)
        hooks.notification_sinks.append(app.hub)
    return app


def attach_backends(app: App) -> None:
    """Create the enrollment daemon and register it in `app.hooks`; `run` starts it."""
    if not app.settings.daemon:
        logger.info("enrollment daemon disabled by --no-daemon")
        return
    from agent.enrollment import EnrollmentDaemon

    daemon = EnrollmentDaemon.create(app.hooks, app.settings.state_dir)
    daemon.attach()
    if app.datastores is not None:
        # The datastores published the start-up load before the daemon subscribed.
        daemon.on_commit({}, app.datastores.running_json)
    app.daemon = daemon


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Run the agent until `stop` is set, then end every session cleanly."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    attach_backends(app)
    if app.daemon is not None:
        await app.daemon.start()
    await app.server.start()
    try:
        await stop.wait()
    finally:
        logger.info("stopping")
        await app.server.stop()
        if app.daemon is not None:
            await app.daemon.stop()


class BaseOnlyProcessor:
    """A stand-in for `agent.netconf.rpc.RPCProcessor` while that module does not exist.

    It implements close-session and refuses every other operation with
    operation-not-supported.
    """

    def __init__(self, sessions: SessionManager) -> None:
        self._sessions = sessions

    def capabilities(self) -> list[str]:
        return [BaseCapability.V1_0, BaseCapability.V1_1]

    async def handle(self, session: Session, message: bytes) -> bytes | None:
        session.in_rpcs += 1
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            rpc = etree.fromstring(message, parser)
        except etree.XMLSyntaxError:
            session.in_bad_rpcs += 1
            return None
        reply = etree.Element(f"{{{BASE_NS}}}rpc-reply", nsmap={None: BASE_NS})
        for name, value in rpc.attrib.items():
            reply.set(name, value)
        operation = rpc[0].tag if len(rpc) else ""
        if operation == f"{{{BASE_NS}}}close-session":
            etree.SubElement(reply, f"{{{BASE_NS}}}ok")
            session.request_close()
        else:
            session.out_rpc_errors += 1
            error = etree.SubElement(reply, f"{{{BASE_NS}}}rpc-error")
            for tag, text in (
                ("error-type", "protocol"),
                ("error-tag", "operation-not-supported"),
                ("error-severity", "error"),
            ):
                etree.SubElement(error, f"{{{BASE_NS}}}{tag}").text = text
        return bytes(etree.tostring(reply, encoding="UTF-8"))

    def end_session(self, session: Session) -> None:
        session.end_subscription()
