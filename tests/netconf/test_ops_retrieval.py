"""get, get-config, filters, with-defaults, monitoring, yang-library and get-schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from agent.hooks import Hooks
from tests.netconf.rpc_harness import (
    NS,
    PKI_NS,
    Harness,
    edit,
    error_fields,
    errors,
    harness_fixture,
    is_ok,
)

MONITORING_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
WD_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
YANGLIB_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-library"


def subtree(body: str) -> str:
    return f'<filter type="subtree">{body}</filter>'


def enroll_names(reply: etree._Element) -> list[str]:
    return [str(name) for name in reply.xpath(
        "nc:data/pki:pki/pki:cert/pki:enroll/pki:name/text()", namespaces=NS)]


@pytest.mark.parametrize(
    "operation",
    [
        "<get/>",
        "<get-config><source><running/></source></get-config>",
        "<get-config><source><candidate/></source></get-config>",
        f'<get><filter type="subtree"><pki xmlns="{PKI_NS}"/></filter></get>',
        f'<get><with-defaults xmlns="{WD_NS}">report-all</with-defaults></get>',
        '<get><filter type="xpath" select="/pki:pki/pki:cert" '
        f'xmlns:pki="{PKI_NS}"/></get>',
    ],
)
def test_password_absent_from_every_reply(loaded: Harness, operation: str) -> None:
    session = loaded.open()
    reply = loaded.send(session, operation)

    assert errors(reply) == []
    assert b"secret-one" not in etree.tostring(reply)
    assert reply.find(".//pki:password", NS) is None
    assert enroll_names(reply) == ["mycert1", "mycert2"]


def test_single_selection_node_returns_whole_subtree(loaded: Harness) -> None:
    session = loaded.open()
    body = f'<pki xmlns="{PKI_NS}"/>'
    reply = loaded.send(session, f"<get-config><source><running/></source>{subtree(body)}"
                                 "</get-config>")

    assert len(reply.findall("nc:data/pki:pki/pki:enroll-server", NS)) == 2
    assert enroll_names(reply) == ["mycert1", "mycert2"]
    assert reply.find("nc:data/pki:pki/pki:cert/pki:enroll/pki:san/pki:ip-address", NS) is not None


def test_content_match_on_key_returns_only_that_entry(loaded: Harness) -> None:
    session = loaded.open()
    body = f'<pki xmlns="{PKI_NS}"><cert><enroll><name>mycert2</name></enroll></cert></pki>'
    reply = loaded.send(session, f"<get>{subtree(body)}</get>")

    assert enroll_names(reply) == ["mycert2"]
    entry = reply.find("nc:data/pki:pki/pki:cert/pki:enroll", NS)
    assert entry is not None
    assert entry.findtext("pki:dn", namespaces=NS) == "CN=mycert2.co.uk, C=UK"
    assert reply.find("nc:data/pki:pki/pki:enroll-server", NS) is None


def test_content_match_with_selection_returns_selected_leaves(loaded: Harness) -> None:
    session = loaded.open()
    body = (f'<pki xmlns="{PKI_NS}"><enroll-server><label>ndes-srv</label><url/>'
            "</enroll-server></pki>")
    reply = loaded.send(session, f"<get-config><source><running/></source>{subtree(body)}"
                                 "</get-config>")

    [server] = reply.findall("nc:data/pki:pki/pki:enroll-server", NS)
    children = [etree.QName(child).localname for child in server]
    assert sorted(children) == ["id", "label", "url"]


def test_filter_in_other_namespace_selects_nothing(loaded: Harness) -> None:
    session = loaded.open()
    body = '<pki xmlns="urn:example:other"/>'
    reply = loaded.send(session, f"<get>{subtree(body)}</get>")

    data = reply.find("nc:data", NS)
    assert data is not None
    assert len(data) == 0


def test_xpath_filter_selects_entry(loaded: Harness) -> None:
    session = loaded.open()
    reply = loaded.send(session, '<get><filter type="xpath" xmlns:p="urn:pki-agent:yang:pki-agent"'
                                 " select=\"/p:pki/p:cert/p:enroll[p:name='mycert1']\"/></get>")

    assert enroll_names(reply) == ["mycert1"]


def test_warnings_and_default_state_in_get(loaded: Harness) -> None:
    session = loaded.open()
    reply = loaded.send(session, "<get/>")
    pki = reply.find("nc:data/pki:pki", NS)
    assert pki is not None

    assert pki.findtext("pki:daemon/pki:status", namespaces=NS) == "not-running"
    statuses = pki.xpath("pki:enroll-server/pki:state/pki:status/text()", namespaces=NS)
    assert statuses == ["not-checked", "not-checked"]
    warnings = pki.xpath("pki:cert/pki:enroll[pki:name='mycert2']/pki:state/pki:warning/text()",
                         namespaces=NS)
    assert warnings == ["challenge password missing", "SubjectAlternativeName missing"]
    assert pki.xpath("pki:cert/pki:enroll[pki:name='mycert1']/pki:state", namespaces=NS) == []


def test_state_provider_replaces_default(tmp_path: Path) -> None:
    state = {"pki-agent:pki": {"daemon": {"status": "running", "uptime": "5"}}}
    hooks = Hooks(state_providers=[lambda: state])
    for harness in harness_fixture(tmp_path, hooks):
        session = harness.open()
        reply = harness.send(session, "<get/>")

        assert reply.findtext("nc:data/pki:pki/pki:daemon/pki:status", namespaces=NS) == "running"


@pytest.mark.parametrize(
    ("mode", "present", "tagged"),
    [
        (None, False, False),
        ("explicit", False, False),
        ("trim", False, False),
        ("report-all", True, False),
        ("report-all-tagged", True, True),
    ],
)
def test_with_defaults_modes(loaded: Harness, mode: str | None, present: bool,
                             tagged: bool) -> None:
    session = loaded.open()
    parameter = f'<with-defaults xmlns="{WD_NS}">{mode}</with-defaults>' if mode else ""
    reply = loaded.send(session, f"<get-config><source><running/></source>{parameter}"
                                 "</get-config>")
    keysize = reply.find("nc:data/pki:pki/pki:cert/pki:enroll/pki:keysize", NS)

    assert (keysize is not None) == present
    if keysize is not None:
        assert (keysize.get(f"{{{WD_NS}}}default") == "true") == tagged


def test_explicit_value_equal_to_default(loaded: Harness) -> None:
    session = loaded.open()
    body = (f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><pki xmlns="{PKI_NS}">'
            "<poll-interval>120</poll-interval></pki></config>")
    assert is_ok(loaded.send(session, edit(body)))
    assert is_ok(loaded.send(session, "<commit/>"))

    for mode, expected in (("explicit", True), ("trim", False)):
        reply = loaded.send(session, "<get-config><source><running/></source>"
                                     f'<with-defaults xmlns="{WD_NS}">{mode}</with-defaults>'
                                     "</get-config>")
        found = reply.find("nc:data/pki:pki/pki:poll-interval", NS) is not None
        assert found == expected, mode


def test_invalid_with_defaults_mode(loaded: Harness) -> None:
    session = loaded.open()
    reply = loaded.send(session, f'<get><with-defaults xmlns="{WD_NS}">all</with-defaults></get>')

    assert error_fields(errors(reply)[0])["error-tag"] == "invalid-value"


def test_monitoring_shows_sessions_locks_and_schemas(loaded: Harness) -> None:
    session = loaded.open()
    assert is_ok(loaded.send(session, "<lock><target><running/></target></lock>"))
    body = f'<netconf-state xmlns="{MONITORING_NS}"/>'
    reply = loaded.send(session, f"<get>{subtree(body)}</get>")
    ns = {**NS, "m": MONITORING_NS}
    state = reply.find("nc:data/m:netconf-state", ns)
    assert state is not None

    ids = state.xpath("m:sessions/m:session/m:session-id/text()", namespaces=ns)
    assert str(session.session_id) in ids
    lock = state.xpath("m:datastores/m:datastore[m:name='running']/m:locks/m:global-lock/"
                       "m:locked-by-session/text()", namespaces=ns)
    assert lock == [str(session.session_id)]
    schemas = state.xpath("m:schemas/m:schema/m:identifier/text()", namespaces=ns)
    assert "pki-agent" in schemas
    capabilities = state.xpath("m:capabilities/m:capability/text()", namespaces=ns)
    assert "urn:ietf:params:netconf:capability:candidate:1.0" in capabilities
    assert int(state.findtext("m:statistics/m:in-rpcs", namespaces=ns) or 0) >= 3


def test_yang_library_lists_pki_agent(loaded: Harness) -> None:
    session = loaded.open()
    body = f'<yang-library xmlns="{YANGLIB_NS}"/>'
    reply = loaded.send(session, f"<get>{subtree(body)}</get>")
    ns = {**NS, "y": YANGLIB_NS}

    names = reply.xpath("nc:data/y:yang-library/y:module-set/y:module/y:name/text()",
                        namespaces=ns)
    assert "pki-agent" in names


@pytest.mark.parametrize(
    ("identifier", "version", "found"),
    [
        ("pki-agent", None, True),
        ("pki-agent", "2026-12-04", True),
        ("pki-agent", "1999-01-01", False),
        ("ietf-netconf-monitoring", None, True),
        ("no-such-module", None, False),
    ],
)
def test_get_schema(loaded: Harness, identifier: str, version: str | None, found: bool) -> None:
    session = loaded.open()
    version_xml = f"<version>{version}</version>" if version else ""
    reply = loaded.send(session, f'<get-schema xmlns="{MONITORING_NS}"><identifier>{identifier}'
                                 f"</identifier>{version_xml}<format>yang</format></get-schema>")

    if found:
        text = reply.findtext(f"{{{MONITORING_NS}}}data") or ""
        assert text.startswith(f"module {identifier} {{")
    else:
        assert error_fields(errors(reply)[0])["error-tag"] == "invalid-value"


def test_xpath_filter_with_unknown_prefix(loaded: Harness) -> None:
    session = loaded.open()
    reply = loaded.send(session, '<get><filter type="xpath" select="/zz:pki"/></get>')

    fields = error_fields(errors(reply)[0])
    assert fields["error-tag"] == "invalid-value"
    assert "zz" in fields["error-message"]


def test_empty_subtree_filter_selects_nothing(loaded: Harness) -> None:
    session = loaded.open()
    reply = loaded.send(session, '<get><filter type="subtree"/></get>')

    data = reply.find("nc:data", NS)
    assert data is not None
    assert len(data) == 0


def test_failing_state_provider_is_left_out(tmp_path: Path) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("provider failed")

    good = {"pki-agent:pki": {"daemon": {"status": "running"}}}
    hooks = Hooks(state_providers=[broken, lambda: good])
    for harness in harness_fixture(tmp_path, hooks):
        session = harness.open()
        reply = harness.send(session, "<get/>")

        assert errors(reply) == []
        assert reply.findtext("nc:data/pki:pki/pki:daemon/pki:status", namespaces=NS) == "running"
