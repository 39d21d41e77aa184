"""The edit-config content, filters and RPC elements that pki-cli builds."""

from __future__ import annotations

import pytest

from tests.cli.golden import assert_golden
from tools.pki_cli import editxml
from tools.pki_cli.grammar import parse_words

CONFIG_CASES = {
    "set-server": ["enroll-server", "1", "label", "xpki-srv", "description",
                   "This is the OpenXPKI server", "url", "http://127.0.0.1:18080/scep/generic",
                   "fingerprint", "AA:BB:CC", "fingerprint-alg", "sha256", "cipher", "aes256-cbc",
                   "renew-request", "pkcs-req", "protocol", "scep", "enabled", "true"],
    "set-enrollment": ["cert", "enroll", "mycert1", "server", "xpki-srv", "password", "pw & <x>",
                       "dn", "CN=mycert1.co.uk, C=UK", "san", "192.168.100.101",
                       "san", "mycert1.co.uk,ops@example.com,urn:x:y", "profile", "tls-server",
                       "keysize", "3072", "renewal-threshold", "70"],
    "set-enrollment-keep-san": ["cert", "enroll", "mycert1", "profile", "tls-client"],
    "delete-server": ["no", "enroll-server", "2"],
    "delete-server-leaves": ["no", "enroll-server", "2", "description", "cipher"],
    "delete-enrollment": ["no", "cert", "enroll", "mycert2"],
    "delete-enrollment-leaves": ["no", "cert", "enroll", "mycert2", "password", "san"],
    "set-timers": ["pki", "poll-interval", "60", "server-check-interval", "600"],
    "delete-timers": ["no", "pki", "poll-interval"],
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_config_xml_golden(case: str) -> None:
    command = parse_words(CONFIG_CASES[case])
    text = editxml.to_text(editxml.build_config(command))  # type: ignore[arg-type]
    assert_golden(f"edit-{case}.xml", text)


def test_san_replaces_configured_entries() -> None:
    config = editxml.build_config(parse_words(CONFIG_CASES["set-enrollment"]))  # type: ignore[arg-type]
    san = config.find(".//{urn:pki-agent:yang:pki-agent}san")
    assert san is not None
    assert san.get(editxml.OPERATION) == "replace"
    assert [child.text for child in san] == [
        "192.168.100.101", "mycert1.co.uk", "ops@example.com", "urn:x:y"]


def test_enrollment_without_san_leaves_it_alone() -> None:
    config = editxml.build_config(parse_words(CONFIG_CASES["set-enrollment-keep-san"]))  # type: ignore[arg-type]
    assert config.find(".//{urn:pki-agent:yang:pki-agent}san") is None


def test_password_is_escaped() -> None:
    text = editxml.to_text(editxml.build_config(parse_words(CONFIG_CASES["set-enrollment"])))  # type: ignore[arg-type]
    assert "<password>pw &amp; &lt;x&gt;</password>" in text


@pytest.mark.parametrize(
    ("name", "builder"),
    [
        ("filter-show", editxml.filter_daemon_and_servers),
        ("filter-cert-show", editxml.filter_certificates),
        ("filter-configured", editxml.filter_configured),
    ],
)
def test_filter_golden(name: str, builder: object) -> None:
    assert_golden(f"{name}.xml", editxml.to_text(builder()))  # type: ignore[operator]


def test_filter_enrollment_golden() -> None:
    text = editxml.to_text(editxml.filter_enrollment("mycert1"))
    assert_golden("filter-cert-show-name.xml", text)


def test_filter_warnings_golden() -> None:
    assert_golden("filter-warnings.xml", editxml.to_text(editxml.filter_warnings("mycert3")))


def test_filter_server_golden() -> None:
    assert_golden("filter-enroll-server-show.xml", editxml.to_text(editxml.filter_server(1)))


def test_rpc_elements() -> None:
    assert editxml.to_text(editxml.build_rpc(None)) == (
        '<trigger xmlns="urn:pki-agent:yang:pki-agent"/>\n')
    renew = editxml.build_rpc(parse_words(["cert", "renew", "mycert1"]))  # type: ignore[arg-type]
    assert editxml.to_text(renew) == (
        '<renew-now xmlns="urn:pki-agent:yang:pki-agent">\n  <name>mycert1</name>\n</renew-now>\n')
    remove = editxml.build_rpc(parse_words(["cert", "remove-ca", "x+ra"]))  # type: ignore[arg-type]
    assert editxml.to_text(remove) == (
        '<remove-ca-certificate xmlns="urn:pki-agent:yang:pki-agent">\n'
        "  <label>x+ra</label>\n</remove-ca-certificate>\n")
