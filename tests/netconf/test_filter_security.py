"""Filters cannot read challenge passwords, run unbounded XPath, or inject XPath."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.netconf.rpc_harness import (
    BASE_NS,
    NS,
    PKI_NS,
    SERVERS_XML,
    Harness,
    edit,
    error_fields,
    errors,
    is_ok,
)

PASSWORD = "secret-one"
XPATH_NS = f'xmlns:p="{PKI_NS}"'
ENROLL = "/p:pki/p:cert/p:enroll"


def enroll_names(reply: etree._Element) -> list[str]:
    return [str(name) for name in reply.xpath(
        "nc:data/pki:pki/pki:cert/pki:enroll/pki:name/text()", namespaces=NS)]


def subtree(body: str) -> str:
    return f'<filter type="subtree"><pki xmlns="{PKI_NS}"><cert>{body}</cert></pki></filter>'


def xpath(select: str) -> str:
    return f'<filter type="xpath" {XPATH_NS} select="{select}"/>'


RETRIEVALS = [
    "<get>{}</get>",
    "<get-config><source><running/></source>{}</get-config>",
    "<get-config><source><candidate/></source>{}</get-config>",
]

ORACLE_FILTERS = [
    subtree(f"<enroll><password>{PASSWORD}</password></enroll>"),
    subtree(f"<enroll><name>mycert1</name><password>{PASSWORD}</password></enroll>"),
    subtree("<enroll><password/></enroll>"),
    xpath(f"{ENROLL}[p:password='{PASSWORD}']"),
    xpath(f"{ENROLL}[substring(p:password,1,1)='s']"),
    xpath(f"{ENROLL}[string-length(p:password) &gt; 0]"),
    xpath(f"{ENROLL}[contains(., '{PASSWORD}')]"),
    xpath(f"//*[.='{PASSWORD}']"),
    xpath(f"{ENROLL}/p:password"),
]


@pytest.mark.parametrize("retrieval", RETRIEVALS)
@pytest.mark.parametrize("data_filter", ORACLE_FILTERS)
def test_filter_cannot_test_password(loaded: Harness, retrieval: str, data_filter: str) -> None:
    reply = loaded.send(loaded.open(), retrieval.format(data_filter))
    assert errors(reply) == []
    assert enroll_names(reply) == []
    assert PASSWORD not in etree.tostring(reply, encoding="unicode")


def test_filter_still_matches_other_leaves(loaded: Harness) -> None:
    session = loaded.open()
    by_subtree = loaded.send(session, "<get>{}</get>".format(
        subtree("<enroll><name>mycert1</name></enroll>")))
    by_xpath = loaded.send(session, "<get>{}</get>".format(
        xpath(f"{ENROLL}[contains(., 'mycert1.co.uk')]")))
    assert enroll_names(by_subtree) == ["mycert1"]
    assert enroll_names(by_xpath) == ["mycert1"]


def test_uncommitted_candidate_password_hidden(harness: Harness) -> None:
    session = harness.open()
    assert is_ok(harness.send(session, edit(SERVERS_XML)))
    reply = harness.send(session, RETRIEVALS[2].format(
        xpath(f"{ENROLL}[p:password='{PASSWORD}']")))
    assert errors(reply) == []
    assert enroll_names(reply) == []


EXPENSIVE_XPATHS = [
    "//*[count(//*[count(//*) &gt; 0]) &gt; 0]",
    "//*[count(//*) &gt; 0]",
    f"{ENROLL}[count(/p:pki/p:cert/p:enroll) &gt; 0]",
    f"{ENROLL}[count(../p:enroll) &gt; 0]",
    f"{ENROLL}[count(descendant::*) &gt; 0]",
    f"{ENROLL}[preceding-sibling::p:enroll]",
    f"{ENROLL}[current()/p:pki]",
    f"{ENROLL}[re-match(p:name, '(a+)+$')]",
    f"{ENROLL}[p:name = ../p:enroll/p:name]",
    "/p:pki[p:cert/p:enroll/* = p:cert/p:enroll/*]",
    f"{ENROLL}[p:name and /p:pki]",
    f"{ENROLL}[2 * /p:pki/p:poll-interval &gt; 1]",
    "//*//*//*",
    "//*[contains(concat(" + ",".join(["."] * 17) + "), 'x')]",
    "//*/following::*",
    f"{ENROLL}[$x]",
    "/p:pki" + "[p:cert" * 5 + "]" * 5,
    "/p:pki" + " " * 1100,
]


@pytest.mark.parametrize("select", EXPENSIVE_XPATHS)
def test_expensive_xpath_rejected(loaded: Harness, select: str) -> None:
    reply = loaded.send(loaded.open(), f"<get>{xpath(select)}</get>")
    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-tag"] == "invalid-value"
    assert fields["error-message"].startswith("invalid xpath filter: ")
    assert reply.find("nc:data", NS) is None


ALLOWED_XPATHS = [
    (f"{ENROLL}[p:name='mycert1']", ["mycert1"]),
    (f"{ENROLL}[starts-with(p:dn, 'CN=mycert2')]/p:name", ["mycert2"]),
    (f"{ENROLL}[p:san/p:ip-address='192.168.100.101']", ["mycert1"]),
    (f"{ENROLL}[count(p:san/p:ip-address) = 1]", ["mycert1"]),
    ("//p:enroll[p:server='ndes-srv']", ["mycert2"]),
    (f"{ENROLL}[p:name='mycert1'] | {ENROLL}[p:name='mycert2']", ["mycert1", "mycert2"]),
    (f"{ENROLL}[not(p:name='mycert1')]", ["mycert2"]),
    ("/p:pki/p:cert/p:enroll[p:name='mycert1']/p:name/..", ["mycert1"]),
    ("/", ["mycert1", "mycert2"]),
    ("//p:cert//p:enroll[p:name='mycert2']", ["mycert2"]),
    ("//*[contains(concat(" + ",".join(["."] * 16) + "), 'mycert1.co.uk')]/p:name",
     ["mycert1"]),
]


@pytest.mark.parametrize(("select", "expected"), ALLOWED_XPATHS)
def test_bounded_xpath_selects(loaded: Harness, select: str, expected: list[str]) -> None:
    reply = loaded.send(loaded.open(), f"<get>{xpath(select)}</get>")
    assert errors(reply) == []
    assert enroll_names(reply) == expected


@pytest.mark.parametrize(
    ("select", "reason"),
    [
        ("/p:pki[[", "unclosed '['"),
        ("/p:pki/p:cert[1=]", "Unexpected XPath"),
        ("/p:pki//", "Unexpected XPath"),
        ("1+1", "is not a location path"),
        ("count(//*)", "is not a location path"),
        ("'text'", "is not a location path"),
        ("/p:pki[p:cert", "unclosed"),
        ("/p:pki]", "is not a location path"),
        ("/p:pki[p:cert)]", "unbalanced"),
    ],
)
@pytest.mark.parametrize("retrieval", RETRIEVALS)
def test_invalid_xpath_rejected(harness: Harness, retrieval: str, select: str,
                                reason: str) -> None:
    reply = harness.send(harness.open(), retrieval.format(xpath(select)))
    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-tag"] == "invalid-value"
    assert reason in fields["error-message"]
    assert error.find("nc:error-info/nc:bad-element", NS).text == "filter"


QUOTED_PROFILE = "it's \"gold\""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (QUOTED_PROFILE, ["mycert1"]),
        ("'\" or \"1\"=\"1", []),
        ("\" or '1'='1", []),
        ("' or '1'='1", []),
    ],
)
def test_content_match_with_quotes(loaded: Harness, value: str, expected: list[str]) -> None:
    session = loaded.open()
    profile = etree.Element(f"{{{PKI_NS}}}profile")
    profile.text = QUOTED_PROFILE
    entry = (f'<config xmlns="{BASE_NS}"><pki xmlns="{PKI_NS}"><cert><enroll>'
             f"<name>mycert1</name>{etree.tostring(profile, encoding='unicode')}"
             "</enroll></cert></pki></config>")
    assert is_ok(loaded.send(session, edit(entry)))
    assert is_ok(loaded.send(session, "<commit/>"))
    match = etree.Element(f"{{{PKI_NS}}}profile")
    match.text = value
    body = f"<enroll>{etree.tostring(match, encoding='unicode')}<name/></enroll>"
    reply = loaded.send(session, "<get-config><source><running/></source>"
                                 f"{subtree(body)}</get-config>")
    assert errors(reply) == []
    assert enroll_names(reply) == expected


def dn_matches(count: int) -> str:
    return subtree("".join(f"<enroll><dn>CN=n{index}</dn></enroll>" for index in range(count)))


def test_subtree_at_selection_limit(loaded: Harness) -> None:
    reply = loaded.send(loaded.open(), f"<get>{dn_matches(256)}</get>")
    assert errors(reply) == []
    assert enroll_names(reply) == []


def test_subtree_over_selection_limit(loaded: Harness) -> None:
    reply = loaded.send(loaded.open(), f"<get>{dn_matches(257)}</get>")
    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-tag"] == "invalid-value"
    assert "257 selections" in fields["error-message"]


def test_filter_leaves_no_stale_errors(loaded: Harness) -> None:
    session = loaded.open()
    any_node_filter = xpath("//*[.='x']")
    reply = loaded.send(session, f"<get>{any_node_filter}</get>")
    assert errors(reply) == []
    broken = (f'<config xmlns="{BASE_NS}"><pki xmlns="{PKI_NS}"><cert><enroll>'
              "<name>nodn</name><server>xpki-srv</server></enroll></cert></pki></config>")
    assert is_ok(loaded.send(session, edit(broken)))
    reply = loaded.send(session, "<commit/>")
    messages = [error_fields(error)["error-message"] for error in errors(reply)]
    assert messages
    assert not any("XPath" in message for message in messages)
