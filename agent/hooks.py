"""The contract between the NETCONF core and a backend such as the enrollment daemon.

The application creates one `Hooks` object and hands it to both sides.  The
NETCONF side calls the commit subscribers after each commit of running, reads
operational state from the state providers for get replies, dispatches the
module's RPCs to the registered handlers, and sends what the backend publishes
to the NETCONF notification stream.

Data crosses this boundary as Python dictionaries in the RFC 7951 JSON
encoding of the `pki-agent` module, for example
``{"pki-agent:pki": {"enroll-server": [{"id": 1, "label": "xpki-srv"}]}}``.
Configuration passed to commit subscribers includes default values and the
challenge passwords.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

JSONData = dict[str, Any]

CommitSubscriber = Callable[[JSONData, JSONData], None]
"""Called with (old running, new running) after a commit; must return quickly."""

StateProvider = Callable[[], JSONData]
"""Returns config-false data under ``pki-agent:pki`` for a get reply."""

StateVersion = Callable[[], Hashable]
"""Returns a value that changes whenever the JSON of its state provider changes.

A provider registered with one in `Hooks.state_versions` must return equal
JSON for as long as the version value stays equal, so that the NETCONF core
can reuse the tree it parsed from that JSON instead of parsing it on every
get. A counter that the backend increments on every change of its state is
enough. Providers without a version are called and parsed on every get.
"""

RPCHandler = Callable[[JSONData], Awaitable[JSONData | None]]
"""Handles the input of one module RPC and returns its output, if any."""

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
