"""edit-config, commit, validate, locks and copy/delete-config through the RPC layer."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from agent.datastore import DatastoreName
from agent.hooks import Hooks
from tests.netconf.rpc_harness import (
    NS,
    SERVERS_XML,
    Harness,
    commit_servers,
    config,
    edit,
    error_fields,
    errors,
    harness_fixture,
    is_ok,
)


def running_text(harness: Harness) -> str:
    return harness.datastores.tree(DatastoreName.RUNNING).print_xml()


def test_candidate_commit_reaches_running(harness: Harness) -> None:
    commit_servers(harness)
    text = running_text(harness)

    assert "<label>xpki-srv</label>" in text
    assert "<name>mycert2</name>" in text
    assert (harness.state_dir / "datastore" / "running.xml").stat().st_mode & 0o777 == 0o600


def test_fingerprint_is_stored_normalised(harness: Harness) -> None:
    commit_servers(harness)

    assert "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789" in (
        running_text(harness))
    assert "AB:CD" not in running_text(harness)


@pytest.mark.parametrize(
    ("body", "expected_tag"),
    [
        ('<cert><enroll nc:operation="create"><name>mycert1</name></enroll></cert>',
         "data-exists"),
        ('<cert><enroll nc:operation="delete"><name>nosuch</name></enroll></cert>',
         "data-missing"),
    ],
)
def test_edit_create_and_delete_errors(harness: Harness, body: str, expected_tag: str) -> None:
    commit_servers(harness)
    session = harness.open()
    reply = harness.send(session, edit(config(body)))

    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-tag"] == expected_tag
    assert "enroll" in fields["error-path"]


def test_edit_remove_of_missing_node_is_ok(harness: Harness) -> None:
    session = harness.open()
    body = '<cert><enroll nc:operation="remove"><name>nosuch</name></enroll></cert>'

    assert is_ok(harness.send(session, edit(config(body))))


def test_edit_replace_drops_unlisted_children(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = ('<cert><enroll nc:operation="replace"><name>mycert1</name>'
            "<server>xpki-srv</server><dn>CN=new, C=UK</dn></enroll></cert>")
    assert is_ok(harness.send(session, edit(config(body))))
    assert is_ok(harness.send(session, "<commit/>"))
    text = running_text(harness)

    assert "<dn>CN=new, C=UK</dn>" in text
    assert "192.168.100.101" not in text


def test_edit_merge_keeps_other_children(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = "<cert><enroll><name>mycert1</name><profile>web</profile></enroll></cert>"
    assert is_ok(harness.send(session, edit(config(body))))
    assert is_ok(harness.send(session, "<commit/>"))
    text = running_text(harness)

    assert "<profile>web</profile>" in text
    assert "192.168.100.101" in text


def test_default_operation_none_does_not_create(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = "<cert><enroll><name>mycert1</name><profile>web</profile></enroll></cert>"
    extra = "<default-operation>none</default-operation>"
    assert is_ok(harness.send(session, edit(config(body), extra=extra)))
    assert is_ok(harness.send(session, "<commit/>"))

    assert "<profile>" not in running_text(harness)


def test_test_only_validates_without_change(harness: Harness) -> None:
    session = harness.open()
    extra = "<test-option>test-only</test-option>"
    reply = harness.send(session, edit(SERVERS_XML, extra=extra))

    assert is_ok(reply)
    assert not harness.datastores.candidate_modified()


def test_rollback_on_error_leaves_candidate_unchanged(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = ("<poll-interval>60</poll-interval>"
            '<cert><enroll nc:operation="delete"><name>nosuch</name></enroll></cert>')
    extra = "<error-option>rollback-on-error</error-option>"
    reply = harness.send(session, edit(config(body), extra=extra))

    assert error_fields(errors(reply)[0])["error-tag"] == "data-missing"
    assert not harness.datastores.candidate_modified()


def test_continue_on_error_reports_every_error(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = ('<cert><enroll nc:operation="delete"><name>nosuch1</name></enroll>'
            '<enroll nc:operation="delete"><name>nosuch2</name></enroll>'
            '<enroll nc:operation="delete"><name>mycert2</name></enroll></cert>')
    extra = "<error-option>continue-on-error</error-option>"
    reply = harness.send(session, edit(config(body), extra=extra))

    assert len(errors(reply)) == 2
    assert harness.datastores.candidate_modified()


def test_edit_running_directly(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = "<poll-interval>30</poll-interval>"

    assert is_ok(harness.send(session, edit(config(body), target="running")))
    assert "<poll-interval>30</poll-interval>" in running_text(harness)


def test_invalid_value_is_rejected_at_edit(harness: Harness) -> None:
    session = harness.open()
    reply = harness.send(session, edit(config("<poll-interval>0</poll-interval>")))

    assert error_fields(errors(reply)[0])["error-tag"] == "invalid-value"


def test_unknown_element_in_config(harness: Harness) -> None:
    session = harness.open()
    reply = harness.send(session, edit(config("<nosuch>1</nosuch>")))

    assert error_fields(errors(reply)[0])["error-tag"] == "unknown-element"


COMMIT_ERRORS = [
    ("<cert><enroll><name>nosrv</name><dn>CN=a</dn></enroll></cert>",
     "server label missing", "/pki-agent:pki/cert/enroll[name='nosrv']"),
    ("<cert><enroll><name>badsrv</name><server>nosuch</server><dn>CN=a</dn></enroll></cert>",
     "server label 'nosuch' not defined in the system",
     "/pki-agent:pki/cert/enroll[name='badsrv']/server"),
    ("<cert><enroll><name>nodn</name><server>xpki-srv</server></enroll></cert>",
     "certificate distinguished name missing", "/pki-agent:pki/cert/enroll[name='nodn']"),
]


@pytest.mark.parametrize(("body", "message", "path"), COMMIT_ERRORS)
@pytest.mark.parametrize(
    "operation", ["<commit/>", "<validate><source><candidate/></source></validate>"])
def test_commit_error_names_path(
    harness: Harness, body: str, message: str, path: str, operation: str,
) -> None:
    commit_servers(harness)
    session = harness.open()
    assert is_ok(harness.send(session, edit(config(body))))
    reply = harness.send(session, operation)

    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-message"] == message
    assert fields["error-path"] == path
    assert "nosrv" not in running_text(harness)


def test_commit_reports_one_error_per_entry(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = "".join(entry for entry, _, _ in COMMIT_ERRORS).replace("</cert><cert>", "")
    assert is_ok(harness.send(session, edit(config(body))))
    reply = harness.send(session, "<commit/>")

    messages = sorted(error_fields(error)["error-message"] for error in errors(reply))
    assert messages == sorted(message for _, message, _ in COMMIT_ERRORS)


def test_label_cannot_change_once_committed(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = "<enroll-server><id>2</id><label>renamed</label></enroll-server>"
    assert is_ok(harness.send(session, edit(config(body))))
    reply = harness.send(session, "<commit/>")

    fields = error_fields(errors(reply)[0])
    assert fields["error-path"] == "/pki-agent:pki/enroll-server[id='2']/label"
    assert "delete the server and create it again" in fields["error-message"]


def test_lock_denied_names_holder(harness: Harness) -> None:
    holder = harness.open()
    other = harness.open()
    assert is_ok(harness.send(holder, "<lock><target><running/></target></lock>"))
    reply = harness.send(other, "<lock><target><running/></target></lock>")

    [error] = errors(reply)
    assert error_fields(error)["error-tag"] == "lock-denied"
    session_id = error.findtext("nc:error-info/nc:session-id", namespaces=NS)
    assert session_id == str(holder.session_id)


def test_locked_running_rejects_other_writers(harness: Harness) -> None:
    holder = harness.open()
    other = harness.open()
    assert is_ok(harness.send(holder, "<lock><target><running/></target></lock>"))
    reply = harness.send(other, edit(config("<poll-interval>9</poll-interval>"), "running"))

    assert error_fields(errors(reply)[0])["error-tag"] == "in-use"


def test_lock_released_when_session_ends(harness: Harness) -> None:
    holder = harness.open()
    other = harness.open()
    assert is_ok(harness.send(holder, "<lock><target><running/></target></lock>"))
    harness.end(holder)

    assert is_ok(harness.send(other, "<lock><target><running/></target></lock>"))


def test_unlock_by_other_session_fails(harness: Harness) -> None:
    holder = harness.open()
    other = harness.open()
    assert is_ok(harness.send(holder, "<lock><target><candidate/></target></lock>"))
    reply = harness.send(other, "<unlock><target><candidate/></target></unlock>")

    assert error_fields(errors(reply)[0])["error-tag"] == "operation-failed"
    assert is_ok(harness.send(holder, "<unlock><target><candidate/></target></unlock>"))


def test_candidate_with_changes_cannot_be_locked(harness: Harness) -> None:
    session = harness.open()
    assert is_ok(harness.send(session, edit(config("<poll-interval>9</poll-interval>"))))
    reply = harness.send(session, "<lock><target><candidate/></target></lock>")

    assert error_fields(errors(reply)[0])["error-tag"] == "lock-denied"


def test_discard_changes_resets_candidate(harness: Harness) -> None:
    session = harness.open()
    assert is_ok(harness.send(session, edit(config("<poll-interval>9</poll-interval>"))))
    assert is_ok(harness.send(session, "<discard-changes/>"))
    reply = harness.send(session, "<get-config><source><candidate/></source></get-config>")

    assert reply.find("nc:data/pki:pki", NS) is None


def test_copy_running_to_startup_and_delete(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    copy = "<copy-config><target><startup/></target><source><running/></source></copy-config>"
    assert is_ok(harness.send(session, copy))
    startup_file = harness.state_dir / "datastore" / "startup.xml"
    assert "secret-one" in startup_file.read_text()

    reply = harness.send(session, "<get-config><source><startup/></source></get-config>")
    assert reply.find("nc:data/pki:pki/pki:enroll-server", NS) is not None

    delete = "<delete-config><target><startup/></target></delete-config>"
    assert is_ok(harness.send(session, delete))
    assert not startup_file.exists()


def test_copy_inline_config_to_candidate(harness: Harness) -> None:
    session = harness.open()
    inline = SERVERS_XML
    copy = f"<copy-config><target><candidate/></target><source>{inline}</source></copy-config>"
    assert is_ok(harness.send(session, copy))
    assert is_ok(harness.send(session, "<commit/>"))

    assert "<label>ndes-srv</label>" in running_text(harness)


def test_copy_to_same_datastore_is_invalid(harness: Harness) -> None:
    session = harness.open()
    copy = "<copy-config><target><running/></target><source><running/></source></copy-config>"
    reply = harness.send(session, copy)

    assert error_fields(errors(reply)[0])["error-tag"] == "invalid-value"


def test_delete_running_is_refused(harness: Harness) -> None:
    session = harness.open()
    reply = harness.send(session, "<delete-config><target><running/></target></delete-config>")

    assert error_fields(errors(reply)[0])["error-tag"] == "operation-not-supported"


def test_validate_inline_config(harness: Harness) -> None:
    session = harness.open()
    reply = harness.send(session, f"<validate><source>{SERVERS_XML}</source></validate>")

    assert is_ok(reply)


def test_running_survives_restart(harness: Harness, tmp_path: Path) -> None:
    commit_servers(harness)
    for again in harness_fixture(tmp_path):
        text = again.datastores.tree(DatastoreName.RUNNING).print_xml()

        assert "<label>xpki-srv</label>" in text
        assert "secret-one" in text


def test_commit_subscribers_get_old_and_new(tmp_path: Path) -> None:
    calls: list[tuple[dict[str, object], dict[str, object]]] = []
    hooks = Hooks(commit_subscribers=[lambda old, new: calls.append((old, new))])
    for harness in harness_fixture(tmp_path, hooks):
        commit_servers(harness)

    assert calls[0] == ({}, {})
    old, new = calls[-1]
    assert old == {}
    pki = new["pki-agent:pki"]
    assert isinstance(pki, dict)
    [first, _] = pki["cert"]["enroll"]
    assert first["password"] == "secret-one"
    assert first["keysize"] == 2048


@pytest.mark.parametrize(("operation", "tag"), [("delete", "data-missing"), ("remove", None)])
def test_empty_leaf_delete_and_remove(harness: Harness, operation: str, tag: str | None) -> None:
    commit_servers(harness)
    session = harness.open()
    body = (f'<cert><enroll><name>mycert1</name><profile nc:operation="{operation}"/></enroll>'
            f'</cert><poll-interval nc:operation="{operation}"/>')
    reply = harness.send(session, edit(config(body)))

    if tag is None:
        assert is_ok(reply)
    else:
        fields = error_fields(errors(reply)[0])
        assert fields["error-tag"] == tag
        assert fields["error-path"] == "/pki-agent:pki/cert/enroll[name='mycert1']/profile"

    with_value = '<cert><enroll><name>mycert1</name><dn nc:operation="delete"/></enroll></cert>'
    assert is_ok(harness.send(session, edit(config(with_value))))
    reply = harness.send(session, "<get-config><source><candidate/></source></get-config>")
    dns = reply.xpath("nc:data/pki:pki/pki:cert/pki:enroll/pki:dn/../pki:name/text()",
                      namespaces=NS)
    assert dns == ["mycert2"]


@pytest.mark.parametrize("password", ["", "S3CRET-" * 40])
def test_invalid_password_is_not_echoed(harness: Harness, password: str) -> None:
    session = harness.open()
    body = f"<cert><enroll><name>a</name><password>{password}</password></enroll></cert>"
    reply = harness.send(session, edit(config(body)))

    fields = error_fields(errors(reply)[0])
    assert fields["error-tag"] == "invalid-value"
    assert fields["error-path"] == "/pki-agent:pki/cert/enroll[name='a']/password"
    assert "S3CRET" not in etree.tostring(reply).decode()
    assert "value not shown" in fields["error-message"]
