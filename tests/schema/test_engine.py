"""The libyang engine: validation with paths, and subtree filter translation."""

from __future__ import annotations

import pytest
from lxml import etree

from agent.schema import DataTree, Schema, WithDefaults
from agent.schema.filters import prune_json, select, subtree_to_xpaths
from tests.netconf.rpc_harness import PKI_NS, shared_schema

SERVER = ("<enroll-server><id>1</id><label>ca</label><url>http://127.0.0.1/scep</url>"
          f"<fingerprint>{'ab' * 32}</fingerprint></enroll-server>")


def parse(schema: Schema, body: str) -> DataTree:
    return schema.parse_xml(f'<pki xmlns="{PKI_NS}">{body}</pki>')


def test_validate_reports_each_failing_entry() -> None:
    schema = shared_schema()
    tree = parse(schema, SERVER + "<cert><enroll><name>a</name><dn>CN=x</dn></enroll>"
                                  "<enroll><name>b</name><server>ca</server></enroll>"
                                  "<enroll><name>c</name><server>ca</server><dn>CN=x</dn></enroll>"
                                  "</cert>")
    issues = schema.validate(tree)

    assert [(issue.message, issue.path) for issue in issues] == [
        ("server label missing", "/pki-agent:pki/cert/enroll[name='a']"),
        ("certificate distinguished name missing", "/pki-agent:pki/cert/enroll[name='b']"),
    ]
    assert tree.find("/pki-agent:pki/cert/enroll[name='a']") is not None


def test_validate_fills_defaults() -> None:
    schema = shared_schema()
    tree = parse(schema, SERVER)

    assert schema.validate(tree) == ()
    assert "<keysize>" not in tree.print_xml()
    assert "<fingerprint-alg>sha256</fingerprint-alg>" in tree.print_xml(WithDefaults.REPORT_ALL)


def test_fingerprint_length_must_match_algorithm() -> None:
    schema = shared_schema()
    tree = parse(schema, SERVER.replace("</fingerprint>",
                                        "</fingerprint><fingerprint-alg>sha1</fingerprint-alg>"))
    [issue] = schema.validate(tree)

    assert issue.message == "fingerprint length does not match fingerprint-alg"


def test_subtree_translation() -> None:
    schema = shared_schema()
    element = etree.fromstring(
        f'<f><pki xmlns="{PKI_NS}"><cert><enroll><name>a\'b</name><dn/></enroll></cert></pki></f>')
    xpaths = subtree_to_xpaths(list(element), schema.module_name, lambda name: [])

    assert xpaths == [
        "/pki-agent:pki/cert/enroll[name=\"a'b\"]/name",
        "/pki-agent:pki/cert/enroll[name=\"a'b\"]/dn",
    ]


def test_select_keeps_list_keys() -> None:
    schema = shared_schema()
    tree = parse(schema, SERVER)
    picked = select(tree, ["/pki-agent:pki/enroll-server/url"])

    assert picked.print_xml() == (
        f'<pki xmlns="{PKI_NS}"><enroll-server><id>1</id>'
        "<url>http://127.0.0.1/scep</url></enroll-server></pki>")


@pytest.mark.parametrize(
    ("xpath", "expected"),
    [
        ("/pki-agent:pki/cert/enroll[name='b']",
         {"pki-agent:pki": {"cert": {"enroll": [{"name": "b", "state": {"attempts": 2}}]}}}),
        ("/pki-agent:pki/enroll-server[id='1']/state",
         {"pki-agent:pki": {"enroll-server": [{"id": 1, "state": {"status": "responding"}}]}}),
        ("/pki-agent:pki/cert/enroll[name='zz']", {}),
        ("/pki-agent:pki/daemon", {"pki-agent:pki": {"daemon": {"status": "running"}}}),
        ("/ietf-netconf-monitoring:netconf-state", {}),
        ("//enroll", None),
        ("/pki-agent:pki/cert/enroll[starts-with(name, 'a')]", None),
    ],
)
def test_prune_json(xpath: str, expected: dict[str, object] | None) -> None:
    document = {"pki-agent:pki": {
        "daemon": {"status": "running"},
        "enroll-server": [{"id": 1, "state": {"status": "responding"}}],
        "cert": {"enroll": [{"name": "a", "state": {"attempts": 1}},
                            {"name": "b", "state": {"attempts": 2}}]},
    }}

    assert prune_json(document, xpath) == expected
