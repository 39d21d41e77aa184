"""Prefixes bound on the element that carries a value (RFC 7950 §9.10.3, RFC 6241 §8.9.1)."""

from __future__ import annotations

from lxml import etree

from tests.netconf.rpc_harness import (
    BASE_NS,
    NS,
    PKI_NS,
    Harness,
    commit_servers,
    edit,
    errors,
    is_ok,
)


def labels(reply: etree._Element) -> list[str]:
    return [str(label) for label in reply.xpath(
        "nc:data/pki:pki/pki:enroll-server/pki:label/text()", namespaces=NS)]


def test_identityref_prefix_on_leaf_in_edit(harness: Harness) -> None:
    session = harness.open()
    body = (f'<config xmlns="{BASE_NS}"><p:pki xmlns:p="{PKI_NS}"><p:enroll-server>'
            "<p:id>7</p:id><p:label>seven</p:label><p:url>http://127.0.0.1:8080/scep</p:url>"
            "<p:fingerprint>0123456789abcdef0123456789abcdef01234567</p:fingerprint>"
            "<p:fingerprint-alg>sha1</p:fingerprint-alg>"
            f'<p:protocol xmlns:x="{PKI_NS}">x:scep</p:protocol>'
            "</p:enroll-server></p:pki></config>")
    reply = harness.send(session, edit(body))

    assert errors(reply) == []
    assert is_ok(harness.send(session, "<commit/>"))


def test_subtree_content_match_prefix_on_leaf(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    match = f'<protocol xmlns:x="{PKI_NS}">x:scep</protocol>'
    reply = harness.send(session, (
        "<get-config><source><running/></source><filter>"
        f'<pki xmlns="{PKI_NS}"><enroll-server>{match}<label/></enroll-server></pki>'
        "</filter></get-config>"))

    assert labels(reply) == ["xpki-srv", "ndes-srv"]


def test_xpath_literal_prefix_from_filter_element(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    select = "/x:pki/x:enroll-server[x:protocol='x:scep']/x:label"
    reply = harness.send(session, (
        f'<get-config><source><running/></source><filter xmlns:x="{PKI_NS}" type="xpath" '
        f'select="{select}"/></get-config>'))

    assert labels(reply) == ["xpki-srv", "ndes-srv"]


def test_xpath_identityref_other_value_matches_nothing(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    select = "/x:pki/x:enroll-server[x:protocol='x:est']/x:label"
    reply = harness.send(session, (
        f'<get-config><source><running/></source><filter xmlns:x="{PKI_NS}" type="xpath" '
        f'select="{select}"/></get-config>'))

    assert errors(reply) == []
    assert labels(reply) == []
