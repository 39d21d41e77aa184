"""edit-config and copy-config reject duplicate nodes and state data; delete-config only startup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netconf.rpc_harness import (
    NS,
    Harness,
    commit_servers,
    config,
    edit,
    error_fields,
    errors,
    harness_fixture,
    is_ok,
)

ENTRY = "<name>mycert1</name><server>xpki-srv</server>"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    yield from harness_fixture(tmp_path)


@pytest.fixture
def loaded(harness: Harness) -> Harness:
    commit_servers(harness)
    return harness


def enroll(body: str) -> str:
    return config(f"<cert><enroll>{ENTRY}{body}</enroll></cert>")


def candidate_dn(harness: Harness) -> list[str]:
    reply = harness.send(harness.open(), "<get-config><source><candidate/></source></get-config>")
    return [str(dn) for dn in reply.xpath(
        "nc:data/pki:pki/pki:cert/pki:enroll[pki:name='mycert1']/pki:dn/text()", namespaces=NS)]


REJECTED_EDITS = [
    (enroll("<dn>CN=first</dn><dn>CN=second</dn>"), "appears more than once", "/dn"),
    (enroll("<password>one</password><password>two</password>"), "appears more than once",
     "/password"),
    (config("<cert><enroll><name>mycert1</name><dn>CN=a</dn></enroll>"
            "<enroll><name>mycert1</name><dn>CN=b</dn></enroll></cert>"),
     "appears more than once", "enroll[name='mycert1']"),
    (enroll("<san><dns-name>a.example</dns-name><dns-name>a.example</dns-name></san>"),
     "appears more than once", "dns-name"),
    (config("<daemon><status>running</status></daemon>"), "config false", "/daemon"),
    (enroll("<state><state>issued</state></state>"), "config false", "/state"),
]


@pytest.mark.parametrize("target", ["candidate", "running"])
@pytest.mark.parametrize(("content", "message", "path_end"), REJECTED_EDITS)
def test_edit_rejects_invalid_content(loaded: Harness, target: str, content: str,
                                      message: str, path_end: str) -> None:
    session = loaded.open()
    reply = loaded.send(session, edit(content, target=target))
    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-tag"] == "invalid-value"
    assert message in fields["error-message"]
    assert path_end in fields["error-path"]
    assert "one" not in fields["error-message"]
    assert candidate_dn(loaded) == ["CN=mycert1.co.uk, C=UK"]
    assert not loaded.datastores.candidate_modified()


@pytest.mark.parametrize(("content", "message", "path_end"), REJECTED_EDITS)
def test_copy_to_candidate_rejects_content(loaded: Harness, content: str, message: str,
                                           path_end: str) -> None:
    copy = (f"<copy-config><target><candidate/></target><source>{content}</source>"
            "</copy-config>")
    reply = loaded.send(loaded.open(), copy)
    [error] = errors(reply)
    assert message in error_fields(error)["error-message"]
    assert not loaded.datastores.candidate_modified()


def test_edit_accepts_distinct_values(loaded: Harness) -> None:
    session = loaded.open()
    content = enroll("<dn>CN=new</dn><san><dns-name>a.example</dns-name>"
                     "<dns-name>b.example</dns-name></san>")
    assert is_ok(loaded.send(session, edit(content)))
    assert candidate_dn(loaded) == ["CN=new"]


def test_delete_candidate_rejected(loaded: Harness) -> None:
    session = loaded.open()
    assert is_ok(loaded.send(session, edit(enroll("<dn>CN=new</dn>"))))
    reply = loaded.send(session, "<delete-config><target><candidate/></target></delete-config>")
    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-tag"] == "operation-not-supported"
    assert "discard-changes" in fields["error-message"]
    assert candidate_dn(loaded) == ["CN=new"]
