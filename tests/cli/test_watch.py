"""--watch reads the state again until it agrees with the notifications."""

from __future__ import annotations

import pytest

from tools.pki_cli.client import Notification
from tools.pki_cli.state import JSONData
from tools.pki_cli.watch import READ_ATTEMPTS, agrees, read_agreeing

RESPONDING = Notification("server-status-change", "2026-12-04T20:51:49Z",
                          {"id": "3", "label": "mm-srv", "status": "responding"})
ISSUED = Notification("enrollment-state-change", "2026-12-04T20:51:50Z",
                      {"name": "mycert1", "state": "issued", "previous-state": "pending"})


def _state(server_status: str | None, reason: str, enrollment_state: str = "pending") -> JSONData:
    body: JSONData = {"cert": {"enroll": [
        {"name": "mycert1", "state": {"state": enrollment_state, "reason": reason}}]}}
    if server_status is not None:
        body["enroll-server"] = [{"id": 3, "label": "mm-srv", "state": {"status": server_status}}]
    return {"pki-agent:pki": body}


@pytest.mark.parametrize(
    ("data", "notifications", "expected"),
    [
        (_state("not-checked", ""), [RESPONDING], False),
        (_state("responding", ""), [RESPONDING], True),
        (_state(None, "waiting for enrollment server mm-srv: not-checked"), [RESPONDING], False),
        (_state(None, "waiting for enrollment server mm-srv: responding"), [RESPONDING], True),
        (_state(None, "waiting for the CA to issue the certificate"), [RESPONDING], True),
        (_state(None, "", "pending"), [ISSUED], False),
        (_state(None, "", "issued"), [ISSUED], True),
        (_state("responding", "", "pending"), [RESPONDING, ISSUED], False),
        ({"pki-agent:pki": {}}, [RESPONDING, ISSUED], True),
    ],
)
def test_agrees(data: JSONData, notifications: list[Notification], expected: bool) -> None:
    assert agrees(data, notifications) is expected


def test_read_again_until_agreeing() -> None:
    replies = [_state("not-checked", ""), _state("not-checked", ""), _state("responding", "")]
    sleeps: list[float] = []
    data = read_agreeing(lambda: replies.pop(0), [RESPONDING], sleeps.append)
    assert data == _state("responding", "")
    assert replies == []
    assert len(sleeps) == 2


def test_read_gives_up_with_last_state(caplog: pytest.LogCaptureFixture) -> None:
    reads: list[int] = []

    def read() -> JSONData:
        reads.append(1)
        return _state("not-checked", "")

    data = read_agreeing(read, [RESPONDING], lambda seconds: None)
    assert data == _state("not-checked", "")
    assert len(reads) == READ_ATTEMPTS
    assert "still disagrees with server-status-change" in caplog.text
