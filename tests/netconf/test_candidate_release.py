"""RFC 6241 §8.3.5.2: releasing the candidate lock discards the holder's uncommitted changes."""

from __future__ import annotations

import pytest

from tests.netconf.rpc_harness import (
    NS,
    PKI_NS,
    SERVERS_XML,
    Harness,
    edit,
    is_ok,
)

LOCK = "<lock><target><candidate/></target></lock>"
UNLOCK = "<unlock><target><candidate/></target></unlock>"
POLL_EDIT = edit(f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
                 f'<pki xmlns="{PKI_NS}"><poll-interval>4242</poll-interval></pki></config>')


def candidate_poll_interval(harness: Harness) -> list[str]:
    session = harness.open()
    reply = harness.send(session, "<get-config><source><candidate/></source></get-config>")
    harness.end(session)
    return [str(value) for value in reply.xpath(
        "nc:data/pki:pki/pki:poll-interval/text()", namespaces=NS)]


def release_by_unlock(harness: Harness, session: object) -> None:
    assert is_ok(harness.send(session, UNLOCK))  # type: ignore[arg-type]


def release_by_session_end(harness: Harness, session: object) -> None:
    harness.end(session)  # type: ignore[arg-type]


@pytest.mark.parametrize("release", [release_by_unlock, release_by_session_end])
def test_lock_release_discards_candidate(harness: Harness, release: object) -> None:
    holder = harness.open()
    assert is_ok(harness.send(holder, LOCK))
    assert is_ok(harness.send(holder, POLL_EDIT))
    assert candidate_poll_interval(harness) == ["4242"]

    release(harness, holder)  # type: ignore[operator]

    assert candidate_poll_interval(harness) == []
    assert not harness.datastores.candidate_modified()
    other = harness.open()
    assert is_ok(harness.send(other, LOCK))


def test_released_edit_never_committed(harness: Harness) -> None:
    holder = harness.open()
    assert is_ok(harness.send(holder, LOCK))
    assert is_ok(harness.send(holder, edit(SERVERS_XML)))
    harness.end(holder)

    other = harness.open()
    assert is_ok(harness.send(other, "<commit/>"))
    reply = harness.send(other, "<get-config><source><running/></source></get-config>")
    assert reply.xpath("nc:data/pki:pki/pki:cert/pki:enroll", namespaces=NS) == []


def test_unlocked_edit_survives_other_unlock(harness: Harness) -> None:
    editor = harness.open()
    assert is_ok(harness.send(editor, POLL_EDIT))
    locker = harness.open()
    assert is_ok(harness.send(locker, "<lock><target><running/></target></lock>"))
    assert is_ok(harness.send(locker, "<unlock><target><running/></target></unlock>"))
    assert candidate_poll_interval(harness) == ["4242"]
