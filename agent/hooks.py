"""The contract between the NETCONF core and a backend such as the enrollment daemon.

The application creates one `Hooks` object and hands it to both sides.  The
NETCONF side calls the commit subscribers after each commit of running and
reads operational state from the state providers for get replies. It also
dispatches the module's RPCs to the registered handlers and sends what the
backend publishes to the NETCONF notification stream.

Data crosses this boundary as Python dictionaries in the RFC 7951 JSON
encoding of the `pki-agent` module, for example
``{"pki-agent:pki": {"enroll-server": [{"id": 1, "label": "xpki-srv"}]}}``.
Configuration passed to commit subscribers includes default values and the
challenge passwords.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from agent.errors import AgentError

JSONData = dict[str, Any]

CommitSubscriber = Callable[[JSONData, JSONData], None]
"""Called with (old running, new running) after a commit; must return quickly."""

StateProvider = Callable[[], JSONData]
"""Returns config-false data under ``pki-agent:pki`` for a get reply."""

StateVersion = Callable[[], Hashable]
"""Returns a value that changes whenever the JSON of its state provider changes.

A provider registered with one in `Hooks.state_versions` must return equal
JSON for as long as the version value stays equal. The NETCONF core then
reuses the tree it parsed from that JSON instead of parsing it on every get.
A counter that the backend increments on every change of its state is
enough. Providers without a version are called and parsed on every get.
"""

RPCHandler = Callable[[JSONData], Awaitable[JSONData | None]]
"""Handles the input of one module RPC and returns its output, if any."""

class BackendCondition(StrEnum):
    """The cause of a backend failure, named by its RFC 6241 error-tag."""

    INVALID_VALUE = "invalid-value"
    """The input names something that exists but cannot take this request."""
    DATA_MISSING = "data-missing"
    """The input names something that does not exist, such as an unknown label."""
    IN_USE = "in-use"
    """The object is busy, for example a request is already in progress."""
    OPERATION_FAILED = "operation-failed"
    """Any other failure that the client can act on."""


class BackendError(AgentError):
    """A failure that an RPC handler reports to the NETCONF client as an rpc-error.

    The NETCONF core sends `message` as error-message, `condition` as
    error-tag and `path`, an instance path such as
    ``/pki-agent:renew-now/name``, as error-path. Other exceptions from a
    handler become a generic operation-failed whose detail only goes to the
    log, so a backend raises this for every error a client should read.
    """

    def __init__(self, message: str,
                 condition: BackendCondition = BackendCondition.OPERATION_FAILED,
                 path: str | None = None) -> None:
        self.message = message
        self.condition = condition
        self.path = path
        super().__init__(message)


NotificationSink = Callable[[str, JSONData], None]
"""Receives (qualified notification name, body), e.g. ("pki-agent:trigger", {...})."""


@dataclass
class Hooks:
    """Registries that connect a backend to the NETCONF core."""

    commit_subscribers: list[CommitSubscriber] = field(default_factory=list)
    state_providers: list[StateProvider] = field(default_factory=list)
    state_versions: dict[StateProvider, StateVersion] = field(default_factory=dict)
    """Optional version callables, keyed by a provider that is in `state_providers`."""
    rpc_handlers: dict[str, RPCHandler] = field(default_factory=dict)
    notification_sinks: list[NotificationSink] = field(default_factory=list)

    def publish(self, name: str, body: JSONData) -> None:
        """Send one notification, such as ``pki-agent:server-status-change``."""
        for sink in list(self.notification_sinks):
            sink(name, body)
