"""Make a --watch redraw agree with the notifications that caused it.

The agent may send a notification before every part of its state has
caught up: a server-status-change "responding" can arrive while an
enrollment's reason still reads "waiting for enrollment server LABEL:
not-checked". So after a notification pki-cli collects the notifications
that follow within SETTLE_TIME, then reads the state again until it agrees
with all of them, at most READ_ATTEMPTS times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from tools.pki_cli.client import Notification, Session
from tools.pki_cli.state import JSONData, pki_body

logger = logging.getLogger(__name__)

SETTLE_TIME = 0.2
"""Seconds to wait for more notifications of the same change before a redraw."""
READ_ATTEMPTS = 5
"""Maximum reads of the state after a burst of notifications, the first one included."""
READ_INTERVAL = 0.2
"""Seconds between two reads of a state that does not agree yet."""

_WAITING_FOR_SERVER = "waiting for enrollment server "


def collect_burst(session: Session, first: Notification) -> list[Notification]:
    """Return ``first`` and the notifications that arrive within SETTLE_TIME of each other."""
    burst = [first]
    while (following := session.next_notification(timeout=SETTLE_TIME)) is not None:
        burst.append(following)
    return burst


def _server_disagrees(body: JSONData, notification: Notification) -> bool:
    label = notification.body.get("label", "")
    status = notification.body.get("status", "")
    for server in body.get("enroll-server", []):
        if str(server.get("id")) == notification.body.get("id"):
            shown = server.get("state", {}).get("status")
            if shown is not None and shown != status:
                return True
    stale = f"{_WAITING_FOR_SERVER}{label}:"
    for enrollment in body.get("cert", {}).get("enroll", []):
        reason = str(enrollment.get("state", {}).get("reason", ""))
        if reason.startswith(stale) and not reason.startswith(f"{stale} {status}"):
            return True
    return False


def _enrollment_disagrees(body: JSONData, notification: Notification) -> bool:
    for enrollment in body.get("cert", {}).get("enroll", []):
        if enrollment.get("name") == notification.body.get("name"):
            shown = enrollment.get("state", {}).get("state")
            return shown is not None and shown != notification.body.get("state")
    return False


_DISAGREES: dict[str, Callable[[JSONData, Notification], bool]] = {
    "server-status-change": _server_disagrees,
    "enrollment-state-change": _enrollment_disagrees,
}


def agrees(data: JSONData, notifications: Sequence[Notification]) -> bool:
    """Return whether the state shows nothing older than the notifications.

    Only what the reply contains is compared: a ``cert show`` reply has no
    server statuses, so a server-status-change checks only the reasons.
    """
    body = pki_body(data)
    for notification in notifications:
        disagrees = _DISAGREES.get(notification.name)
        if disagrees is not None and disagrees(body, notification):
            return False
    return True


def read_agreeing(read: Callable[[], JSONData], notifications: Sequence[Notification],
                  sleep: Callable[[float], None] = time.sleep) -> JSONData:
    """Read the state until it agrees with ``notifications``; return the last read.

    After READ_ATTEMPTS reads the last one is returned as it is, because the
    agent's state is what the view must show.
    """
    data = read()
    for _ in range(READ_ATTEMPTS - 1):
        if agrees(data, notifications):
            return data
        sleep(READ_INTERVAL)
        data = read()
    if not agrees(data, notifications):
        logger.warning("the agent's state still disagrees with %s after %d reads",
                       ", ".join(item.name for item in notifications), READ_ATTEMPTS)
    return data
