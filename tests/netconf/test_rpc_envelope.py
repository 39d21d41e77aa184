"""The rpc envelope: namespaces, attributes, message-id, parser hardening, unknown operations."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.netconf.rpc_harness import (
    BASE_NS,
    Harness,
    error_fields,
    errors,
    is_ok,
)


def test_prefixed_rpc_gets_base_namespace_reply(harness: Harness) -> None:
    session = harness.open()
    message = (f'<nc:rpc xmlns:nc="{BASE_NS}" message-id="7">'
               "<nc:lock><nc:target><nc:nosuch/></nc:target></nc:lock></nc:rpc>").encode()
    reply = harness.raw(session, message)

    assert reply.tag == f"{{{BASE_NS}}}rpc-reply"
    assert reply.get("message-id") == "7"
    [error] = errors(reply)
    for element in error.iter():
        assert etree.QName(element).namespace == BASE_NS, element.tag
    assert error_fields(error)["error-tag"] == "invalid-value"
    assert error.find(f"{{{BASE_NS}}}error-info/{{{BASE_NS}}}bad-element") is not None


def test_reply_echoes_every_rpc_attribute(harness: Harness) -> None:
    session = harness.open()
    message = (f'<rpc xmlns="{BASE_NS}" xmlns:ex="urn:example" message-id="101" '
               'ex:user-id="fred" plain="x"><discard-changes/></rpc>').encode()
    reply = harness.raw(session, message)

    assert reply.get("message-id") == "101"
    assert reply.get("{urn:example}user-id") == "fred"
    assert reply.get("plain") == "x"
    assert is_ok(reply)


def test_missing_message_id_is_missing_attribute(harness: Harness) -> None:
    session = harness.open()
    reply = harness.raw(session, f'<rpc xmlns="{BASE_NS}"><get/></rpc>'.encode())

    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-type"] == "rpc"
    assert fields["error-tag"] == "missing-attribute"
    info = error.find(f"{{{BASE_NS}}}error-info")
    assert info is not None
    assert info.findtext(f"{{{BASE_NS}}}bad-attribute") == "message-id"
    assert info.findtext(f"{{{BASE_NS}}}bad-element") == "rpc"
    assert session.in_bad_rpcs == 1


def test_comment_inside_rpc_is_ignored(harness: Harness) -> None:
    session = harness.open()
    message = (f'<rpc xmlns="{BASE_NS}" message-id="1"><!-- a note -->'
               "<lock><!-- another --><target><candidate/></target></lock></rpc>").encode()
    reply = harness.raw(session, message)

    assert is_ok(reply)


@pytest.mark.parametrize(
    ("operation", "bad_element"),
    [
        ("<frobnicate/>", "frobnicate"),
        ('<get><filter type="subtree"/><extra/></get>', "extra"),
        ("<commit><persist-all/></commit>", "persist-all"),
        ("<edit-config><target><candidate/></target><url>file:///tmp/x</url></edit-config>",
         "url"),
        ("<copy-config><target><url>file:///tmp/x</url></target>"
         "<source><running/></source></copy-config>", "url"),
        ('<get-config><source><running/></source><with-defaults>trim</with-defaults>'
         "</get-config>", "with-defaults"),
    ],
)
def test_unknown_operation_or_parameter_is_not_supported(
    harness: Harness, operation: str, bad_element: str,
) -> None:
    session = harness.open()
    reply = harness.send(session, operation)

    [error] = errors(reply)
    assert error_fields(error)["error-tag"] == "operation-not-supported"
    info = error.find(f"{{{BASE_NS}}}error-info")
    assert info is not None
    assert info.findtext(f"{{{BASE_NS}}}bad-element") == bad_element


@pytest.mark.parametrize(
    "message",
    [
        b"<rpc",
        (f'<!DOCTYPE rpc [<!ENTITY x "boom">]><rpc xmlns="{BASE_NS}" message-id="1">'
         "<get/></rpc>").encode(),
        (f'<rpc xmlns="{BASE_NS}" message-id="1"><get><filter>'
         + "<a>" * 80 + "</a>" * 80 + "</filter></get></rpc>").encode(),
        b'<hello xmlns="urn:example"/>',
        (f'<?xml version="1.0" encoding="ISO-8859-1"?><rpc xmlns="{BASE_NS}" message-id="1">'
         "<get/></rpc>").encode(),
    ],
    ids=["not-well-formed", "doctype", "too-deep", "not-rpc", "not-utf-8"],
)
def test_malformed_message_is_rejected_and_closes(harness: Harness, message: bytes) -> None:
    session = harness.open()
    session.base_version = "1.1"
    reply = harness.raw(session, message)

    [error] = errors(reply)
    assert error_fields(error)["error-tag"] == "malformed-message"
    assert session.close_requested


def test_malformed_message_for_base_1_0_client(harness: Harness) -> None:
    session = harness.open()
    session.base_version = "1.0"
    reply = harness.raw(session, b"<rpc")

    [error] = errors(reply)
    assert error_fields(error)["error-tag"] == "operation-failed"
    assert session.close_requested


def test_entity_in_rpc_is_not_expanded(harness: Harness) -> None:
    session = harness.open()
    message = (f'<rpc xmlns="{BASE_NS}" message-id="&amp;x"><discard-changes/></rpc>').encode()
    reply = harness.raw(session, message)

    assert reply.get("message-id") == "&x"
    assert is_ok(reply)


def test_counters_track_rpcs_and_errors(harness: Harness) -> None:
    session = harness.open()
    harness.send(session, "<discard-changes/>")
    harness.send(session, "<frobnicate/>")

    assert session.in_rpcs == 2
    assert session.out_rpc_errors == 1
    assert harness.processor.services.statistics.in_rpcs == 2


def test_capabilities_list_what_is_implemented(harness: Harness) -> None:
    capabilities = harness.processor.capabilities()

    for expected in (
        "urn:ietf:params:netconf:base:1.0",
        "urn:ietf:params:netconf:base:1.1",
        "urn:ietf:params:netconf:capability:candidate:1.0",
        "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
        "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
        "urn:ietf:params:netconf:capability:validate:1.1",
        "urn:ietf:params:netconf:capability:startup:1.0",
        "urn:ietf:params:netconf:capability:xpath:1.0",
        "urn:ietf:params:netconf:capability:writable-running:1.0",
        "urn:ietf:params:netconf:capability:notification:1.0",
        "urn:ietf:params:netconf:capability:interleave:1.0",
    ):
        assert expected in capabilities
    assert not any(":url:" in uri for uri in capabilities)
    assert any(uri.startswith("urn:ietf:params:netconf:capability:with-defaults:1.0"
                              "?basic-mode=explicit") for uri in capabilities)
    assert not any("module=pki-agent&" in uri for uri in capabilities)
    assert any("?module=ietf-netconf&revision=" in uri for uri in capabilities)
    assert any(uri.startswith("urn:ietf:params:netconf:capability:yang-library:1.1")
               for uri in capabilities)


def test_hello_omits_yang_1_1_modules(harness: Harness) -> None:
    # RFC 7950 §5.6.4: YANG 1.1 modules are announced only in ietf-yang-library.
    schema = harness.processor.services.schema
    announced = {uri.split("?module=", 1)[1].split("&", 1)[0]
                 for uri in harness.processor.capabilities() if "?module=" in uri}
    library = schema.yang_library()
    listed = {value for _, value in library.leaf_values(
        "/ietf-yang-library:yang-library/module-set/module/name")}

    assert "pki-agent" not in announced
    assert "ietf-yang-library" not in announced
    assert {"ietf-netconf", "ietf-netconf-with-defaults", "ietf-netconf-monitoring"} <= announced
    assert "pki-agent" in listed


@pytest.mark.parametrize("message", [
    f'<rpc xmlns="{BASE_NS}" message-id="1">stray<discard-changes/></rpc>',
    f'<rpc xmlns="{BASE_NS}" message-id="1"><discard-changes/>stray</rpc>',
], ids=["before-operation", "after-operation"])
def test_text_in_rpc_is_bad_element(harness: Harness, message: str) -> None:
    session = harness.open()
    reply = harness.raw(session, message.encode())

    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-type"] == "rpc"
    assert fields["error-tag"] == "bad-element"
    assert not session.close_requested


def test_utf_8_declaration_is_accepted(harness: Harness) -> None:
    session = harness.open()
    message = (f'<?xml version="1.0" encoding="utf-8"?><rpc xmlns="{BASE_NS}" message-id="1">'
               "<discard-changes/></rpc>")

    assert is_ok(harness.raw(session, message.encode()))


def test_comment_above_libxml2_text_limit(harness: Harness) -> None:
    # libxml2 rejects a text node or comment above 10,000,000 bytes unless
    # huge_tree is set, which is below the 16 MiB maximum message size.
    session = harness.open()
    comment = "x" * (15 * 1024 * 1024)
    message = f'<rpc xmlns="{BASE_NS}" message-id="1"><!--{comment}--><discard-changes/></rpc>'

    assert is_ok(harness.raw(session, message.encode()))
