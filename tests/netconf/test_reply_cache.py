"""The get-config reply cache: every change of a datastore must show in the next reply."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from agent.datastore import DatastoreName
from agent.netconf.cache import ConfigReplyCache
from agent.schema import WithDefaults
from tests.netconf.rpc_harness import (
    BASE_NS,
    NS,
    PKI_NS,
    SERVERS_XML,
    Harness,
    edit,
    is_ok,
)

WD_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
ORIGINAL_DN = "CN=mycert1.co.uk, C=UK"
NEW_DN = "CN=changed.example, C=DE"


def dn_config(dn: str) -> str:
    return (f'<config xmlns="{BASE_NS}"><pki xmlns="{PKI_NS}"><cert><enroll>'
            f"<name>mycert1</name><dn>{dn}</dn></enroll></cert></pki></config>")


def get_config(harness: Harness, source: str, mode: str | None = None) -> etree._Element:
    session = harness.open()
    parameter = f'<with-defaults xmlns="{WD_NS}">{mode}</with-defaults>' if mode else ""
    reply = harness.send(session, f"<get-config><source><{source}/></source>{parameter}"
                                  "</get-config>")
    harness.end(session)
    return reply


def dn_of(harness: Harness, source: str) -> str | None:
    reply = get_config(harness, source)
    return reply.findtext("nc:data/pki:pki/pki:cert/pki:enroll[pki:name='mycert1']/pki:dn",
                          namespaces=NS)


def uncached_body(harness: Harness, source: str) -> bytes:
    """Return the get-config reply printed with an empty cache, as the oracle."""
    harness.processor.services.config_replies = ConfigReplyCache()
    return data_of(get_config(harness, source))


def data_of(reply: etree._Element) -> bytes:
    """Return the <data> element of a reply, without the rpc-reply and its message-id."""
    data = reply.find("nc:data", NS)
    assert data is not None, etree.tostring(reply)
    return etree.tostring(data)


def prime(harness: Harness) -> None:
    """Fill the cache for every datastore, so that a stale entry would be returned."""
    for source in ("running", "candidate", "startup"):
        get_config(harness, source)


def send_ok(harness: Harness, session_operations: list[str]) -> None:
    session = harness.open()
    for operation in session_operations:
        assert is_ok(harness.send(session, operation)), operation


def change_running_directly(harness: Harness) -> None:
    send_ok(harness, [edit(dn_config(NEW_DN), target="running")])


def commit_candidate(harness: Harness) -> None:
    send_ok(harness, [edit(dn_config(NEW_DN)), "<commit/>"])


def edit_candidate(harness: Harness) -> None:
    send_ok(harness, [edit(dn_config(NEW_DN))])


def discard_candidate(harness: Harness) -> None:
    session = harness.open()
    assert is_ok(harness.send(session, edit(dn_config(NEW_DN))))
    prime(harness)
    assert is_ok(harness.send(session, "<discard-changes/>"))


def cancel_confirmed_commit(harness: Harness) -> None:
    session = harness.open()
    assert is_ok(harness.send(session, edit(dn_config(NEW_DN))))
    assert is_ok(harness.send(session, "<commit><confirmed/></commit>"))
    prime(harness)
    assert is_ok(harness.send(session, "<cancel-commit/>"))


def end_session_of_confirmed_commit(harness: Harness) -> None:
    session = harness.open()
    assert is_ok(harness.send(session, edit(dn_config(NEW_DN))))
    assert is_ok(harness.send(session, "<commit><confirmed/></commit>"))
    prime(harness)
    harness.end(session)


def copy_inline_to_running(harness: Harness) -> None:
    config = SERVERS_XML.replace(ORIGINAL_DN, NEW_DN)
    send_ok(harness, [f"<copy-config><target><running/></target><source>{config}</source>"
                      "</copy-config>"])


def copy_inline_to_candidate(harness: Harness) -> None:
    config = SERVERS_XML.replace(ORIGINAL_DN, NEW_DN)
    send_ok(harness, [f"<copy-config><target><candidate/></target><source>{config}</source>"
                      "</copy-config>"])


def copy_running_to_startup(harness: Harness) -> None:
    send_ok(harness, [edit(dn_config(NEW_DN), target="running"),
                      "<copy-config><target><startup/></target>"
                      "<source><running/></source></copy-config>"])


def delete_startup(harness: Harness) -> None:
    send_ok(harness, ["<copy-config><target><startup/></target>"
                      "<source><running/></source></copy-config>"])
    prime(harness)
    send_ok(harness, ["<delete-config><target><startup/></target></delete-config>"])


def failed_commit(harness: Harness) -> None:
    # A server label that no server has breaks the leafref, so the commit
    # fails after validation has touched the candidate.
    broken = dn_config(NEW_DN).replace("<name>mycert1</name>",
                                       "<name>mycert1</name><server>no-such-server</server>")
    session = harness.open()
    assert is_ok(harness.send(session, edit(broken)))
    prime(harness)
    assert not is_ok(harness.send(session, "<commit/>"))


CHANGES: list[tuple[Callable[[Harness], None], str, str | None]] = [
    (change_running_directly, "running", NEW_DN),
    (commit_candidate, "running", NEW_DN),
    (commit_candidate, "candidate", NEW_DN),
    (edit_candidate, "candidate", NEW_DN),
    (edit_candidate, "running", ORIGINAL_DN),
    (discard_candidate, "candidate", ORIGINAL_DN),
    (cancel_confirmed_commit, "running", ORIGINAL_DN),
    (end_session_of_confirmed_commit, "running", ORIGINAL_DN),
    (copy_inline_to_running, "running", NEW_DN),
    (copy_inline_to_candidate, "candidate", NEW_DN),
    (copy_running_to_startup, "startup", NEW_DN),
    (delete_startup, "startup", None),
    (failed_commit, "candidate", NEW_DN),
    (failed_commit, "running", ORIGINAL_DN),
]


@pytest.mark.parametrize(("change", "source", "expected_dn"), CHANGES,
                         ids=[f"{change.__name__}-{source}" for change, source, _ in CHANGES])
def test_reply_follows_change(loaded: Harness, change: Callable[[Harness], None], source: str,
                              expected_dn: str | None) -> None:
    prime(loaded)
    change(loaded)
    cached = data_of(get_config(loaded, source))

    assert dn_of(loaded, source) == expected_dn
    assert cached == uncached_body(loaded, source)


@pytest.mark.parametrize("source", ["running", "candidate"])
def test_modes_have_own_entries(loaded: Harness, source: str) -> None:
    explicit = get_config(loaded, source, "explicit")
    report_all = get_config(loaded, source, "report-all")
    tagged = get_config(loaded, source, "report-all-tagged")
    keysize = "nc:data/pki:pki/pki:cert/pki:enroll/pki:keysize"

    assert explicit.find(keysize, NS) is None
    assert report_all.find(keysize, NS) is not None
    assert report_all.find(keysize, NS).get(f"{{{WD_NS}}}default") is None
    assert tagged.find(keysize, NS).get(f"{{{WD_NS}}}default") == "true"


def test_cached_reply_keeps_message_id(loaded: Harness) -> None:
    session = loaded.open()
    first = loaded.send(session, "<get-config><source><running/></source></get-config>")
    second = loaded.send(session, "<get-config><source><running/></source></get-config>",
                         **{"custom": "x"})

    assert first.get("message-id") != second.get("message-id")
    assert second.get("custom") == "x"
    assert etree.tostring(first[0]) == etree.tostring(second[0])


def test_cached_reply_has_no_password(loaded: Harness) -> None:
    prime(loaded)
    reply = get_config(loaded, "running")

    assert b"secret-one" not in etree.tostring(reply)
    assert reply.find("nc:data/pki:pki/pki:cert/pki:enroll/pki:password", NS) is None


def test_version_counts_every_write(loaded: Harness) -> None:
    datastores = loaded.datastores
    before = datastores.version
    edit_candidate(loaded)
    after_edit = datastores.version
    send_ok(loaded, ["<discard-changes/>"])

    assert after_edit > before
    assert datastores.version > after_edit


def test_cache_drops_other_versions() -> None:
    cache = ConfigReplyCache()
    cache.store(1, DatastoreName.RUNNING, WithDefaults.EXPLICIT, "<data/>")
    cache.store(2, DatastoreName.CANDIDATE, WithDefaults.EXPLICIT, "<data>2</data>")

    assert cache.lookup(1, DatastoreName.RUNNING, WithDefaults.EXPLICIT) is None
    assert cache.lookup(2, DatastoreName.RUNNING, WithDefaults.EXPLICIT) is None
    assert cache.lookup(2, DatastoreName.CANDIDATE, WithDefaults.EXPLICIT) == "<data>2</data>"
    assert cache.lookup(2, DatastoreName.CANDIDATE, WithDefaults.TRIM) is None
