"""rpc-error messages for invalid, missing and dangling configuration values."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.netconf.rpc_harness import (
    Harness,
    commit_servers,
    config,
    edit,
    error_fields,
    errors,
    is_ok,
)

ENROLL = "/pki-agent:pki/cert/enroll[name='mycert1']"


def enroll(leaves: str) -> str:
    return f"<cert><enroll><name>mycert1</name>{leaves}</enroll></cert>"


def only_error(reply: etree._Element) -> dict[str, str]:
    [error] = errors(reply)
    return error_fields(error)


VALUE_ERRORS = [
    (enroll("<keysize>1024</keysize>"), f"{ENROLL}/keysize",
     "invalid value '1024' for keysize: allowed values are 2048, 3072, 4096"),
    (enroll("<renewal-threshold>100</renewal-threshold>"), f"{ENROLL}/renewal-threshold",
     "invalid value '100' for renewal-threshold: allowed range is 1 to 99"),
    (enroll("<keysize>abc</keysize>"), f"{ENROLL}/keysize",
     "invalid value 'abc' for keysize: allowed values are 2048, 3072, 4096"),
    (enroll("<san><ip-address>300.1.1.1</ip-address></san>"), f"{ENROLL}/san/ip-address",
     "invalid IP address '300.1.1.1' for ip-address: expected an IPv4 address such as "
     "192.0.2.1 or an IPv6 address such as 2001:db8::1"),
    (enroll("<san><dns-name>bad..name</dns-name></san>"), f"{ENROLL}/san/dns-name",
     "invalid DNS name 'bad..name' for dns-name: expected labels of letters, digits, '-' "
     "and '_' separated by dots, each at most 63 characters, such as 'device.example.com'"),
    ("<enroll-server><id>1</id><cipher>des</cipher></enroll-server>",
     "/pki-agent:pki/enroll-server[id='1']/cipher",
     "invalid value 'des' for cipher: allowed values are aes128-cbc, aes256-cbc, 3des-cbc"),
    ("<enroll-server><id>1</id><enabled>yes</enabled></enroll-server>",
     "/pki-agent:pki/enroll-server[id='1']/enabled",
     "invalid value 'yes' for enabled: allowed values are true, false"),
    ("<enroll-server><id>1</id><protocol>est</protocol></enroll-server>",
     "/pki-agent:pki/enroll-server[id='1']/protocol",
     "invalid value 'est' for protocol: allowed values are pki-agent:scep"),
    ("<enroll-server><id>1</id><label>a+b</label></enroll-server>",
     "/pki-agent:pki/enroll-server[id='1']/label",
     r"invalid value 'a+b' for label: expected a value matching the pattern "
     r"[A-Za-z0-9_][A-Za-z0-9_\-]*"),
    ("<enroll-server><id>1</id><url>ftp://ca/scep</url></enroll-server>",
     "/pki-agent:pki/enroll-server[id='1']/url",
     "invalid URL 'ftp://ca/scep' for url: expected http:// or https://, a host, an optional "
     "port from 1 to 65535 and a path, with no user name or password"),
    (enroll("<san><uri>https://ok.example/</uri><uri>relative</uri></san>"),
     f"{ENROLL}/san/uri",
     "invalid URI 'relative' for uri: expected an absolute URI with a scheme, such as "
     "'https://device.example.com/'"),
]


@pytest.mark.parametrize(("body", "path", "message"), VALUE_ERRORS)
def test_value_error_names_leaf_value_and_rule(
    harness: Harness, body: str, path: str, message: str,
) -> None:
    session = harness.open()
    fields = only_error(harness.send(session, edit(config(body))))

    assert fields["error-tag"] == "invalid-value"
    assert fields["error-path"] == path
    assert fields["error-message"] == message


def test_long_value_is_shortened(harness: Harness) -> None:
    session = harness.open()
    body = f"<enroll-server><id>1</id><description>{'x' * 300}</description></enroll-server>"
    message = only_error(harness.send(session, edit(config(body))))["error-message"]

    assert message.startswith("invalid value 'xxx")
    assert "... (300 characters)' for description" in message
    assert message.endswith("expected a length of 0 to 255 characters")


@pytest.mark.parametrize("password", ["", "S3CRET-" * 40])
def test_password_error_never_echoes_value(harness: Harness, password: str) -> None:
    session = harness.open()
    reply = harness.send(session, edit(config(enroll(f"<password>{password}</password>"))))
    fields = only_error(reply)

    assert fields["error-message"] == (
        "invalid value for password (value not shown): expected a length of 1 to 255 characters")
    assert "S3CRET" not in etree.tostring(reply).decode()


def test_missing_mandatory_leaf_has_instance_path(harness: Harness) -> None:
    session = harness.open()
    body = ("<enroll-server><id>3</id><label>third</label>"
            "<url>http://127.0.0.1:8080/scep</url></enroll-server>")
    assert is_ok(harness.send(session, edit(config(body))))
    fields = only_error(harness.send(session, "<commit/>"))

    assert fields["error-tag"] == "data-missing"
    assert fields["error-path"] == "/pki-agent:pki/enroll-server[id='3']/fingerprint"
    assert fields["error-message"] == "fingerprint missing"


def test_each_entry_missing_a_leaf_is_reported(harness: Harness) -> None:
    session = harness.open()
    body = "".join(f"<enroll-server><id>{number}</id><label>srv{number}</label>"
                   "<url>http://127.0.0.1:8080/scep</url></enroll-server>" for number in (4, 5))
    assert is_ok(harness.send(session, edit(config(body))))
    reply = harness.send(session, "<commit/>")

    paths = [error_fields(error)["error-path"] for error in errors(reply)]
    assert paths == ["/pki-agent:pki/enroll-server[id='4']/fingerprint",
                     "/pki-agent:pki/enroll-server[id='5']/fingerprint"]


def test_failed_commit_leaves_no_stale_error(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = ("<enroll-server><id>3</id><label>third</label>"
            "<url>http://127.0.0.1:8080/scep</url></enroll-server>")
    assert is_ok(harness.send(session, edit(config(body))))
    harness.send(session, "<commit/>")
    assert is_ok(harness.send(session, "<discard-changes/>"))

    bad = enroll("<server>nosuch</server><dn>CN=a</dn>")
    assert is_ok(harness.send(session, edit(config(bad))))
    fields = only_error(harness.send(session, "<commit/>"))

    assert fields["error-path"] == f"{ENROLL}/server"


def test_deleting_used_server_names_label(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = '<enroll-server nc:operation="delete"><id>2</id></enroll-server>'
    assert is_ok(harness.send(session, edit(config(body))))
    fields = only_error(harness.send(session, "<commit/>"))

    assert fields["error-tag"] == "data-missing"
    assert fields["error-app-tag"] == "instance-required"
    assert fields["error-path"] == "/pki-agent:pki/cert/enroll[name='mycert2']/server"
    assert fields["error-message"] == "server label 'ndes-srv' not defined in the system"


def test_unknown_server_label_is_named(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = "<cert><enroll><name>c3</name><server>win-srv</server><dn>CN=c3</dn></enroll></cert>"
    assert is_ok(harness.send(session, edit(config(body))))
    fields = only_error(harness.send(session, "<validate><source><candidate/></source></validate>"))

    assert fields["error-path"] == "/pki-agent:pki/cert/enroll[name='c3']/server"
    assert fields["error-message"] == "server label 'win-srv' not defined in the system"


def test_duplicate_label_names_value_and_entries(harness: Harness) -> None:
    commit_servers(harness)
    session = harness.open()
    body = ("<enroll-server><id>9</id><label>xpki-srv</label>"
            "<url>http://127.0.0.1:8080/scep</url>"
            "<fingerprint>0123456789abcdef0123456789abcdef01234567</fingerprint>"
            "<fingerprint-alg>sha1</fingerprint-alg></enroll-server>")
    assert is_ok(harness.send(session, edit(config(body))))
    fields = only_error(harness.send(session, "<commit/>"))

    assert fields["error-app-tag"] == "data-not-unique"
    assert fields["error-message"] == (
        "label 'xpki-srv' not unique: /pki-agent:pki/enroll-server[id='9'] and "
        "/pki-agent:pki/enroll-server[id='1'] both use it")


@pytest.mark.parametrize("url", [
    "http://scepuser:URLSECRET@127.0.0.1:8080/scep",
    "ftp://scepuser:URLSECRET@127.0.0.1/scep",
])
def test_url_credentials_never_echoed(harness: Harness, url: str) -> None:
    session = harness.open()
    body = f"<enroll-server><id>1</id><url>{url}</url></enroll-server>"
    reply = harness.send(session, edit(config(body)))
    fields = only_error(reply)

    assert "URLSECRET" not in etree.tostring(reply).decode()
    assert "scepuser" not in fields["error-message"]
    assert "://***@127.0.0.1" in fields["error-message"]


def test_uri_san_credentials_never_echoed(harness: Harness) -> None:
    session = harness.open()
    value = "https://user:URLSECRET@host/a b"
    reply = harness.send(session, edit(config(enroll(f"<san><uri>{value}</uri></san>"))))
    fields = only_error(reply)

    assert "URLSECRET" not in etree.tostring(reply).decode()
    assert fields["error-message"].startswith("invalid URI 'https://***@host/a b' for uri")
