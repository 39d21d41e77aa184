"""Confirmed commit, session control, subscriptions and the module's RPCs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from agent.datastore import DatastoreName
from agent.hooks import Hooks, JSONData
from agent.netconf.session import Session
from tests.netconf.rpc_harness import (
    PKI_NS,
    SERVERS_XML,
    Harness,
    config,
    edit,
    error_fields,
    errors,
    harness_fixture,
    is_ok,
)

NOTIFICATION_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
POLL_30 = config("<poll-interval>30</poll-interval>")


def running(harness: Harness) -> str:
    return harness.datastores.tree(DatastoreName.RUNNING).print_xml()


def confirmed_commit(harness: Harness, extra: str = "") -> Session:
    session = harness.open()
    assert is_ok(harness.send(session, edit(POLL_30)))
    assert is_ok(harness.send(session, f"<commit><confirmed/>{extra}</commit>"))
    assert "<poll-interval>30</poll-interval>" in running(harness)
    return session


def test_confirming_commit_keeps_change(harness: Harness) -> None:
    session = confirmed_commit(harness)
    assert is_ok(harness.send(session, "<commit/>"))
    harness.end(session)

    assert "<poll-interval>30</poll-interval>" in running(harness)


def test_cancel_commit_rolls_back(harness: Harness) -> None:
    session = confirmed_commit(harness)
    assert is_ok(harness.send(session, "<cancel-commit/>"))

    assert "poll-interval" not in running(harness)


def test_confirmed_commit_times_out(harness: Harness) -> None:
    confirmed_commit(harness, "<confirm-timeout>1</confirm-timeout>")
    harness.run(asyncio.sleep(1.5))

    assert "poll-interval" not in running(harness)
    assert (harness.state_dir / "datastore" / "running.xml").read_text().find("poll") == -1


def test_session_end_rolls_back_unconfirmed_commit(harness: Harness) -> None:
    session = confirmed_commit(harness)
    harness.end(session)

    assert "poll-interval" not in running(harness)


def test_persist_lets_another_session_confirm(harness: Harness) -> None:
    first = confirmed_commit(harness, "<persist>token-1</persist>")
    harness.end(first)
    second = harness.open()
    assert "<poll-interval>30</poll-interval>" in running(harness)

    wrong = harness.send(second, "<commit><persist-id>other</persist-id></commit>")
    assert error_fields(errors(wrong)[0])["error-tag"] == "invalid-value"
    assert is_ok(harness.send(second, "<commit><persist-id>token-1</persist-id></commit>"))
    assert "<poll-interval>30</poll-interval>" in running(harness)


def test_other_session_cannot_confirm_without_persist(harness: Harness) -> None:
    confirmed_commit(harness)
    other = harness.open()
    reply = harness.send(other, "<commit/>")

    assert error_fields(errors(reply)[0])["error-tag"] == "operation-failed"


def test_cancel_commit_without_pending(harness: Harness) -> None:
    session = harness.open()
    reply = harness.send(session, "<cancel-commit/>")

    assert error_fields(errors(reply)[0])["error-tag"] == "operation-failed"


def test_kill_session_of_self_is_invalid(harness: Harness) -> None:
    session = harness.open()
    reply = harness.send(session, f"<kill-session><session-id>{session.session_id}</session-id>"
                                  "</kill-session>")

    assert error_fields(errors(reply)[0])["error-tag"] == "invalid-value"


def test_kill_session_ends_other_and_releases_lock(harness: Harness) -> None:
    victim = harness.open()
    killer = harness.open()
    assert is_ok(harness.send(victim, "<lock><target><running/></target></lock>"))
    reply = harness.send(killer, f"<kill-session><session-id>{victim.session_id}</session-id>"
                                 "</kill-session>")

    assert is_ok(reply)
    assert harness.sessions.get(victim.session_id) is None
    assert is_ok(harness.send(killer, "<lock><target><running/></target></lock>"))


def test_kill_unknown_session(harness: Harness) -> None:
    session = harness.open()
    reply = harness.send(session, "<kill-session><session-id>999</session-id></kill-session>")

    assert error_fields(errors(reply)[0])["error-tag"] == "invalid-value"


def test_close_session_requests_close(harness: Harness) -> None:
    session = harness.open()

    assert is_ok(harness.send(session, "<close-session/>"))
    assert session.close_requested


def test_create_subscription_and_filter(harness: Harness) -> None:
    session = harness.open()
    body = (f'<create-subscription xmlns="{NOTIFICATION_NS}"><filter type="subtree">'
            f'<server-status-change xmlns="{PKI_NS}"><status>responding</status>'
            "</server-status-change></filter></create-subscription>")
    assert is_ok(harness.send(session, body))
    assert session.subscribed
    selector = session.subscription_filter
    assert selector is not None

    when = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    good = harness.processor.notification_xml(
        "pki-agent:server-status-change", {"id": 1, "label": "a", "status": "responding"}, when)
    bad = harness.processor.notification_xml(
        "pki-agent:server-status-change", {"id": 1, "label": "a", "status": "disabled"}, when)
    assert selector.matches(good)
    assert not selector.matches(bad)
    document = etree.fromstring(good)
    assert document.findtext(f"{{{NOTIFICATION_NS}}}eventTime") == "2026-12-04T12:00:00Z"

    again = harness.send(session, f'<create-subscription xmlns="{NOTIFICATION_NS}"/>')
    assert error_fields(errors(again)[0])["error-tag"] == "in-use"


@pytest.mark.parametrize(
    ("body", "tag"),
    [
        ("<stream>OTHER</stream>", "invalid-value"),
        ("<startTime>2026-01-01T00:00:00Z</startTime>", "operation-not-supported"),
    ],
)
def test_create_subscription_rejects(harness: Harness, body: str, tag: str) -> None:
    session = harness.open()
    reply = harness.send(session, f'<create-subscription xmlns="{NOTIFICATION_NS}">{body}'
                                  "</create-subscription>")

    assert error_fields(errors(reply)[0])["error-tag"] == tag
    assert not session.subscribed


def test_module_rpc_without_daemon(harness: Harness) -> None:
    session = harness.open()
    reply = harness.send(session, f'<trigger xmlns="{PKI_NS}"/>')

    fields = error_fields(errors(reply)[0])
    assert fields["error-tag"] == "operation-not-supported"
    assert "no enrollment daemon is running" in fields["error-message"]


def test_module_rpc_reaches_handler(tmp_path: Path) -> None:
    received: list[JSONData] = []

    async def renew(rpc_input: JSONData) -> JSONData | None:
        received.append(rpc_input)
        return None

    hooks = Hooks(rpc_handlers={"pki-agent:renew-now": renew})
    for harness in harness_fixture(tmp_path, hooks):
        session = harness.open()
        assert is_ok(harness.send(session, edit(SERVERS_XML)))
        assert is_ok(harness.send(session, "<commit/>"))
        reply = harness.send(session, f'<renew-now xmlns="{PKI_NS}"><name>mycert1</name>'
                                      "</renew-now>")
        assert is_ok(reply)
        assert received == [{"name": "mycert1"}]

        unknown = harness.send(session, f'<renew-now xmlns="{PKI_NS}"><name>nosuch</name>'
                                        "</renew-now>")
        unknown_fields = error_fields(errors(unknown)[0])
        assert unknown_fields["error-tag"] == "data-missing"
        assert unknown_fields["error-app-tag"] == "instance-required"
        assert unknown_fields["error-path"] == "/pki-agent:renew-now/name"
        assert "'nosuch' not defined" in unknown_fields["error-message"]

        for body, tag in (("", "data-missing"),
                          ("<name>mycert1</name><extra>1</extra>", "operation-not-supported")):
            bad = harness.send(session, f'<renew-now xmlns="{PKI_NS}">{body}</renew-now>')
            assert error_fields(errors(bad)[0])["error-tag"] == tag, body
        assert len(received) == 1


def test_failing_handler_gives_generic_error(tmp_path: Path) -> None:
    async def broken(rpc_input: JSONData) -> JSONData | None:
        raise RuntimeError("secret internal detail")

    hooks = Hooks(rpc_handlers={"pki-agent:trigger": broken})
    for harness in harness_fixture(tmp_path, hooks):
        session = harness.open()
        reply = harness.send(session, f'<trigger xmlns="{PKI_NS}"/>')

        fields = error_fields(errors(reply)[0])
        assert fields["error-tag"] == "operation-failed"
        assert "secret internal detail" not in etree.tostring(reply).decode()


def test_restart_rolls_back_unconfirmed_commit(tmp_path: Path) -> None:
    for harness in harness_fixture(tmp_path):
        confirmed_commit(harness, "<persist>keep-me</persist>")
        assert (tmp_path / "datastore" / "rollback.xml").exists()

    for again in harness_fixture(tmp_path):
        assert "poll-interval" not in running(again)
        assert not (tmp_path / "datastore" / "rollback.xml").exists()
        assert "poll" not in (tmp_path / "datastore" / "running.xml").read_text()


def test_confirmed_commit_leaves_no_rollback_file(harness: Harness) -> None:
    session = confirmed_commit(harness)
    assert is_ok(harness.send(session, "<commit/>"))

    assert not (harness.state_dir / "datastore" / "rollback.xml").exists()
