"""The operational state shown while no enrollment daemon has registered a provider."""

from __future__ import annotations

from collections.abc import Callable

from agent.datastore.warnings import enrollment_warnings
from agent.hooks import JSONData


def default_state(running: JSONData) -> JSONData:
    """Show the daemon as not running, each server as not checked, and the warnings."""
    pki = running.get("pki-agent:pki", {})
    servers = [
        {"id": server["id"], "state": {"status": "not-checked"}}
        for server in pki.get("enroll-server", [])
    ]
    enrollments = [
        {"name": name, "state": {"warning": warnings}}
        for name, warnings in enrollment_warnings(running).items()
    ]
    state: JSONData = {"daemon": {"status": "not-running"}}
    if servers:
        state["enroll-server"] = servers
    if enrollments:
        state["cert"] = {"enroll": enrollments}
    return {"pki-agent:pki": state}


def make_default_provider(running: Callable[[], JSONData]) -> Callable[[], JSONData]:
    """Bind default_state() to a function that returns the current running JSON."""
    return lambda: default_state(running())
