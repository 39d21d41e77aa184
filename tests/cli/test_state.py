"""XML state to RFC 7951 JSON, and its node tables checked against the YANG module."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from tests.cli.golden import assert_golden
from tests.cli.yang_nodes import module_nodes
from tools.pki_cli import state, views

STATE_XML = Path(__file__).parent / "data" / "state.xml"


def test_list_nodes_match_module() -> None:
    expected = {node.name for node in module_nodes() if node.keyword == "list"}
    assert expected == state.LIST_NODES


def test_leaf_list_nodes_match_module() -> None:
    expected = {node.name for node in module_nodes() if node.keyword == "leaf-list"}
    assert expected == state.LEAF_LIST_NODES


def test_container_nodes_match_module() -> None:
    expected = {node.name for node in module_nodes() if node.keyword == "container"} | {"pki"}
    assert expected == state.CONTAINER_NODES


def test_leaf_named_like_container_is_known() -> None:
    containers = {node.name for node in module_nodes() if node.keyword == "container"}
    clashes = {(node.parent, node.name) for node in module_nodes()
               if node.keyword == "leaf" and node.name in containers}
    assert clashes == state.LEAF_IN_CONTAINER


def test_number_leaves_match_module() -> None:
    number_types = {"uint8", "uint16", "uint32", "int8", "int16", "int32"}
    expected = {node.name for node in module_nodes() if node.base_type in number_types}
    assert expected == state.NUMBER_LEAVES


def test_boolean_and_identityref_leaves_match_module() -> None:
    nodes = module_nodes()
    assert {node.name for node in nodes if node.base_type == "boolean"} == state.BOOLEAN_LEAVES
    assert {node.name for node in nodes if node.base_type == "identityref"} == (
        state.IDENTITYREF_LEAVES
    )


def test_view_defaults_match_module() -> None:
    defaults = {(node.parent, node.name): node.default for node in module_nodes()
                if node.default is not None}
    for name, value in views.SERVER_DEFAULTS.items():
        assert ("enroll-server", name) in defaults, name
        expected = defaults[("enroll-server", name)]
        if name == "protocol":
            assert value == "pki-agent:" + expected.partition(":")[2]
        else:
            assert str(value).lower() == expected, name
    for name, value in views.ENROLLMENT_DEFAULTS.items():
        assert str(value) == defaults[("enroll", name)], name
    for name, value in views.TIMER_DEFAULTS.items():
        assert str(value) == defaults[("pki", name)], name


def test_server_status_texts_cover_enum() -> None:
    text = (Path(__file__).resolve().parents[2] / "yang" / "pki-agent.yang").read_text()
    block = text.split("typedef server-status", 1)[1].split("typedef enrollment-state", 1)[0]
    enums = {line.split()[1] for line in block.splitlines() if line.strip().startswith("enum ")}
    assert enums == set(views.SERVER_STATUS_TEXT)


def test_state_xml_to_json_golden() -> None:
    data = state.pki_from_xml(etree.parse(str(STATE_XML)).getroot())
    assert_golden("state.json", json.dumps(data, indent=2) + "\n")


def test_types_in_json() -> None:
    body = state.pki_body(state.pki_from_xml(etree.parse(str(STATE_XML)).getroot()))
    server = body["enroll-server"][0]
    assert server["id"] == 1
    assert server["enabled"] is True
    assert server["protocol"] == "pki-agent:scep"
    assert server["state"]["capability"] == ["Renewal", "POSTPKIOperation", "SHA-256", "AES"]
    assert body["daemon"]["uptime"] == "3723"
    enrollment = body["cert"]["enroll"][0]
    assert enrollment["state"]["state"] == "issued"
    assert enrollment["state"]["renewing"] is False
    assert enrollment["san"]["ip-address"] == ["192.168.100.101"]


def test_identityref_with_other_prefix() -> None:
    reply = etree.fromstring(
        '<pki xmlns="urn:pki-agent:yang:pki-agent"><enroll-server><id>1</id>'
        '<protocol xmlns:x="urn:pki-agent:yang:pki-agent">x:scep</protocol>'
        "</enroll-server></pki>"
    )
    body = state.pki_body(state.pki_from_xml(reply))
    assert body["enroll-server"][0]["protocol"] == "pki-agent:scep"


def test_reply_without_pki_is_empty() -> None:
    reply = etree.fromstring('<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>')
    assert state.pki_from_xml(reply) == {"pki-agent:pki": {}}


def test_comment_in_reply_ignored() -> None:
    reply = etree.fromstring(
        '<pki xmlns="urn:pki-agent:yang:pki-agent"><!-- c --><daemon><status>running</status>'
        "</daemon></pki>"
    )
    assert state.pki_body(state.pki_from_xml(reply)) == {"daemon": {"status": "running"}}
