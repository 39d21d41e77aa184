"""The module's patterns reject bad DNs, URLs and URIs at edit time, with their own messages."""

from __future__ import annotations

import pytest

from agent.schema import Schema
from agent.schema.errors import DataInvalidError

FINGERPRINT = "00" * 32


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.load()


def server(url: str = "http://127.0.0.1/scep") -> dict[str, object]:
    return {"id": 1, "label": "srv", "url": url, "fingerprint": FINGERPRINT}


def enrollment_data(dn: str = "CN=host", uris: tuple[str, ...] = ()) -> dict[str, object]:
    entry: dict[str, object] = {"name": "cert1", "server": "srv", "dn": dn}
    if uris:
        entry["san"] = {"uri": list(uris)}
    return {"pki-agent:pki": {"enroll-server": [server()], "cert": {"enroll": [entry]}}}


def is_accepted(schema: Schema, data: dict[str, object]) -> bool:
    try:
        schema.parse_json(data)
    except DataInvalidError:
        return False
    return True


@pytest.mark.parametrize(
    "dn",
    [
        "CN=mycert1.co.uk, C=UK",
        "cn=host,o=Org",
        "CN=a + OU=b, C=DE",
        'CN="a, b", C=UK',
        r"CN=a\, b",
        "2.5.4.3=by-oid",
        "UnstructuredName=router; O=Org",
    ],
)
def test_dn_pattern_accepts(schema: Schema, dn: str) -> None:
    assert is_accepted(schema, enrollment_data(dn=dn))


@pytest.mark.parametrize("dn", ["not a dn", "FOO=bar", "CN=", "CN=a,", "=x", "CN=a,,O=b"])
def test_dn_pattern_rejects(schema: Schema, dn: str) -> None:
    with pytest.raises(DataInvalidError, match="invalid DN"):
        schema.parse_json(enrollment_data(dn=dn))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/scep",
        "https://ca.example.com/cgi-bin/pkiclient.exe",
        "HTTP://[::1]:65535/x",
        "http://host",
    ],
)
def test_url_pattern_accepts(schema: Schema, url: str) -> None:
    assert is_accepted(schema, {"pki-agent:pki": {"enroll-server": [server(url)]}})


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@ca.example.com/scep",
        "http://host:99999/scep",
        "http://host:0/scep",
        "http://host:08080/scep",
        "ftp://host/scep",
        "http:///scep",
    ],
)
def test_url_pattern_rejects(schema: Schema, url: str) -> None:
    with pytest.raises(DataInvalidError, match="invalid URL"):
        schema.parse_json({"pki-agent:pki": {"enroll-server": [server(url)]}})


def test_url_error_does_not_echo_credentials(schema: Schema) -> None:
    with pytest.raises(DataInvalidError) as caught:
        schema.parse_json({"pki-agent:pki": {"enroll-server": [server("http://u:pw9@h/x")]}})

    assert "pw9" not in str(caught.value)


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [("https://device.example.com/", True), ("urn:uuid:1234", True), ("relative/path", False)],
)
def test_uri_san_must_be_absolute(schema: Schema, uri: str, accepted: bool) -> None:
    assert is_accepted(schema, enrollment_data(uris=(uri,))) is accepted
