"""The application: builds the schema, datastores, RPC layer, notification hub and SSH server."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.datastore import Datastores
from agent.hooks import Hooks
from agent.netconf.notifications import NotificationHub
from agent.netconf.rpc import RPCProcessor
from agent.netconf.server import NetconfServer
from agent.netconf.session import SessionManager
from agent.schema import Schema
from agent.settings import Settings

if TYPE_CHECKING:
    from agent.enrollment import EnrollmentDaemon

logger = logging.getLogger(__name__)


@dataclass
class App:
    """Every long-lived part of a running agent."""

    settings: Settings
    hooks: Hooks
    schema: Schema
    datastores: Datastores
    sessions: SessionManager
    processor: RPCProcessor
    hub: NotificationHub
    server: NetconfServer
    daemon: EnrollmentDaemon | None = None


def build_app(settings: Settings) -> App:
    """Build the parts from the settings; nothing listens until `run`."""
    hooks = Hooks()
    schema = Schema.load()
    # Datastores loads running from the state directory and publishes it to
    # the commit subscribers registered so far.
    datastores = Datastores(schema, settings.state_dir, hooks)
    sessions = SessionManager(settings.max_sessions)
    processor = RPCProcessor(schema, datastores, hooks, sessions)
    hub = NotificationHub(sessions, processor.notification_xml)
    hooks.notification_sinks.append(hub)
    server = NetconfServer(settings, sessions, processor)
    return App(settings, hooks, schema, datastores, sessions, processor, hub, server)


def attach_backends(app: App) -> None:
    """Create the enrollment daemon and register it in `app.hooks`; `run` starts it."""
    if not app.settings.daemon:
        logger.info("enrollment daemon disabled by --no-daemon")
        return
    from agent.enrollment import EnrollmentDaemon

    daemon = EnrollmentDaemon.create(app.hooks, app.settings.state_dir)
    daemon.attach()
    # The datastores published the start-up load before the daemon subscribed.
    daemon.on_commit({}, app.datastores.running_json)
    app.daemon = daemon


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Run the agent until `stop` is set, then end every session cleanly."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    # A busy port or an invalid address fails here, before the daemon starts
    # or the host key is created.  The kernel refuses connections until the
    # server starts, so no session reads state before the daemon loads its store.
    app.server.bind()
    try:
        attach_backends(app)
        if app.daemon is not None:
            await app.daemon.start()
        await app.server.start()
        await stop.wait()
    finally:
        logger.info("stopping")
        await app.server.stop()
        if app.daemon is not None:
            await app.daemon.stop()
