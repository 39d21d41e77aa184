"""Reword the agent's rpc-errors with what the operator typed and what is configured.

The agent reports a dangling reference by the node that contains it, for
example ``enroll[name='mycert2']/server`` when ``no enroll-server 2`` would
leave mycert2 without its server. pki-cli has the command, so it names
the object the operator touched, the value typed, and the values that are
configured. An error that no rule matches is shown as the agent sent it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tools.pki_cli.client import ConfigError
from tools.pki_cli.grammar import (
    Command,
    DeleteEnrollment,
    DeleteServer,
    ModuleRPC,
    SetEnrollment,
    SetServer,
)
from tools.pki_cli.state import JSONData, pki_body

NEW_SERVER_KEYS = ("label", "url", "fingerprint")
"""The mandatory leaves of an enroll-server, so a new server's command must set them."""

_SERVER_REFERENCE = re.compile(r"/cert/enroll\[name='(?P<name>[^']*)'\]/server$")
_RPC_NAME = re.compile(r"/pki-agent:(?P<rpc>renew-now|re-enroll)/name$")
_MANDATORY = re.compile(r'Mandatory node "(?P<leaf>[^"]+)"')
# The same error with a data path, in case the agent reports one instead of
# libyang's schema location.
_MANDATORY_PATH = re.compile(r"/enroll-server(\[id='\d+'\])?/(?P<leaf>label|url|fingerprint)$")
_NO_DATA = re.compile(r"no data exists at .* to delete")


@dataclass(frozen=True, slots=True)
class Configured:
    """The running configuration: server labels by ID and each enrollment's server label."""

    servers: dict[int, str]
    enrollments: dict[str, str]

    @classmethod
    def from_data(cls, data: JSONData) -> Configured:
        """Read the servers and enrollments from a get reply in RFC 7951 JSON."""
        body = pki_body(data)
        servers = {server.get("id", 0): server.get("label", "")
                   for server in body.get("enroll-server", [])}
        enrollments = {enrollment.get("name", ""): enrollment.get("server", "")
                       for enrollment in body.get("cert", {}).get("enroll", [])}
        return cls(servers, enrollments)

    def labels_text(self) -> str:
        labels = [self.servers[server_id] for server_id in sorted(self.servers)]
        return ", ".join(labels) if labels else "none"

    def names_text(self) -> str:
        return ", ".join(sorted(self.enrollments)) if self.enrollments else "none"


def _leaf_value(command: Command, key: str) -> str:
    leaves = getattr(command, "leaves", ())
    return next((value for name, value in leaves if name == key), "")


def _server_reference(command: Command, error: ConfigError, configured: Configured) -> str | None:
    match = _SERVER_REFERENCE.search(error.path)
    if match is None:
        return None
    name = match["name"]
    if isinstance(command, DeleteServer) and not command.keys:
        label = configured.servers.get(command.server_id, "?")
        return (f"enroll-server {command.server_id} ({label}) is used by enrollment {name}: "
                f"delete the enrollment or give it another server first")
    label = _leaf_value(command, "server") or configured.enrollments.get(name, "")
    if not label:
        return None
    return (f"cert enroll {name}: server {label!r} is not the label of any enroll-server; "
            f"configured labels: {configured.labels_text()}")


def _rpc_name(command: Command, error: ConfigError, configured: Configured) -> str | None:
    if not isinstance(command, ModuleRPC) or _RPC_NAME.search(error.path) is None:
        return None
    return (f"{command.rpc}: no enrollment named {command.value!r}; "
            f"configured enrollments: {configured.names_text()}")


def _mandatory(command: Command, error: ConfigError, configured: Configured) -> str | None:
    match = _MANDATORY.search(error.message)
    if match is None and error.tag == "data-missing":
        match = _MANDATORY_PATH.search(error.path)
    if match is None or not isinstance(command, SetServer):
        return None
    return (f"enroll-server {command.server_id}: {match['leaf']} missing; "
            f"a new server needs {', '.join(NEW_SERVER_KEYS)}")


def _nothing_to_delete(command: Command, error: ConfigError, configured: Configured) -> str | None:
    if _NO_DATA.search(error.message) is None:
        return None
    if isinstance(command, DeleteServer) and not command.keys:
        ids = ", ".join(str(server_id) for server_id in sorted(configured.servers)) or "none"
        return f"enroll-server {command.server_id} not found; configured IDs: {ids}"
    if isinstance(command, DeleteEnrollment) and not command.keys:
        return (f"cert enroll {command.name} not found; "
                f"configured enrollments: {configured.names_text()}")
    return None


_Rule = Callable[[Command, ConfigError, Configured], str | None]
RULES: tuple[_Rule, ...] = (_server_reference, _rpc_name, _mandatory, _nothing_to_delete)


def needs_context(errors: Sequence[ConfigError]) -> bool:
    """Return whether any error may be reworded, so the configuration is worth reading."""
    return any(
        _SERVER_REFERENCE.search(error.path) or _RPC_NAME.search(error.path)
        or _MANDATORY.search(error.message) or _MANDATORY_PATH.search(error.path)
        or _NO_DATA.search(error.message)
        for error in errors
    )


def explain(errors: Sequence[ConfigError], command: Command,
            configured: Configured) -> list[ConfigError]:
    """Return the errors, each reworded by the first rule that matches it.

    A reworded error has no path, because its message names the object.
    """
    explained = []
    for error in errors:
        message = next((text for rule in RULES
                        if (text := rule(command, error, configured)) is not None), None)
        if message is None:
            explained.append(error)
        else:
            explained.append(dataclasses.replace(error, message=message, path=""))
    return explained


def is_enrollment_command(command: Command) -> bool:
    """Return whether the command changes one enrollment, whose warnings then apply."""
    return isinstance(command, SetEnrollment) or (
        isinstance(command, DeleteEnrollment) and bool(command.keys))
