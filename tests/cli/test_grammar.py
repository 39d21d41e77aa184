"""The argument grammar of pki-cli: device words to command values."""

from __future__ import annotations

import pytest

from tools.pki_cli.grammar import (
    DeleteEnrollment,
    DeleteServer,
    DeleteTimers,
    ModuleRPC,
    SANEntry,
    SANType,
    SetEnrollment,
    SetServer,
    SetTimers,
    ShowCertificates,
    ShowDaemon,
    ShowEnrollment,
    ShowServer,
    Trigger,
    UsageError,
    infer_san,
    parse_words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.168.100.101", SANEntry(SANType.IP_ADDRESS, "192.168.100.101")),
        ("2001:db8::1", SANEntry(SANType.IP_ADDRESS, "2001:db8::1")),
        ("2001:DB8:0::1", SANEntry(SANType.IP_ADDRESS, "2001:db8::1")),
        ("mycert1.co.uk", SANEntry(SANType.DNS_NAME, "mycert1.co.uk")),
        ("ops@example.com", SANEntry(SANType.EMAIL, "ops@example.com")),
        ("https://example.com/device", SANEntry(SANType.URI, "https://example.com/device")),
        ("urn:uuid:2f1e0c1a-0000-4000-8000-000000000001",
         SANEntry(SANType.URI, "urn:uuid:2f1e0c1a-0000-4000-8000-000000000001")),
        ("IP:10.0.0.1", SANEntry(SANType.IP_ADDRESS, "10.0.0.1")),
        ("DNS:host", SANEntry(SANType.DNS_NAME, "host")),
        ("email:a@b", SANEntry(SANType.EMAIL, "a@b")),
        ("uri:http://x", SANEntry(SANType.URI, "http://x")),
        ("  host.example  ", SANEntry(SANType.DNS_NAME, "host.example")),
    ],
)
def test_infer_san_type(text: str, expected: SANEntry) -> None:
    assert infer_san(text) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["show"], ShowDaemon()),
        (["cert", "show"], ShowCertificates()),
        (["cert", "show", "mycert1"], ShowEnrollment("mycert1")),
        (["enroll-server", "show", "2"], ShowServer(2)),
        (["trigger"], Trigger()),
        (["cert", "renew", "mycert1"], ModuleRPC("renew-now", "name", "mycert1")),
        (["cert", "re-enroll", "mycert1"], ModuleRPC("re-enroll", "name", "mycert1")),
        (["cert", "remove-ca", "xpki-srv+ra"],
         ModuleRPC("remove-ca-certificate", "label", "xpki-srv+ra")),
        (
            ["enroll-server", "1", "label", "xpki-srv", "url", "http://127.0.0.1:1/scep",
             "fingerprint", "AB:CD", "fingerprint-alg", "md5", "cipher", "3des-cbc",
             "renew-request", "pkcs-req", "description", "This is the OpenXPKI server"],
            SetServer(1, (("label", "xpki-srv"), ("url", "http://127.0.0.1:1/scep"),
                          ("fingerprint", "AB:CD"), ("fingerprint-alg", "md5"),
                          ("cipher", "3des-cbc"), ("renew-request", "pkcs-req"),
                          ("description", "This is the OpenXPKI server"))),
        ),
        (
            ["cert", "enroll", "mycert1", "server", "xpki-srv", "dn", "CN=mycert1.co.uk, C=UK",
             "san", "192.168.100.101", "profile", "tls-server"],
            SetEnrollment("mycert1", (("server", "xpki-srv"), ("dn", "CN=mycert1.co.uk, C=UK"),
                                      ("profile", "tls-server")),
                          (SANEntry(SANType.IP_ADDRESS, "192.168.100.101"),)),
        ),
        (
            ["cert", "enroll", "c", "san", "10.0.0.1,a.example", "san", "x@y"],
            SetEnrollment("c", (), (SANEntry(SANType.IP_ADDRESS, "10.0.0.1"),
                                    SANEntry(SANType.DNS_NAME, "a.example"),
                                    SANEntry(SANType.EMAIL, "x@y"))),
        ),
        (["cert", "enroll", "c", "keysize", "4096"],
         SetEnrollment("c", (("keysize", "4096"),), None)),
        (["no", "enroll-server", "3"], DeleteServer(3, ())),
        (["no", "enroll-server", "3", "description"], DeleteServer(3, ("description",))),
        (["no", "cert", "enroll", "mycert1"], DeleteEnrollment("mycert1", ())),
        (["pki", "poll-interval", "60", "server-check-interval", "600"],
         SetTimers((("poll-interval", "60"), ("server-check-interval", "600")))),
        (["no", "pki", "poll-interval"], DeleteTimers(("poll-interval",))),
        (["no", "cert", "enroll", "mycert1", "san", "password"],
         DeleteEnrollment("mycert1", ("san", "password"))),
    ],
)
def test_parse_words_valid(words: list[str], expected: object) -> None:
    assert parse_words(words) == expected


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ([], "expected a command"),
        (["shwo"], "unknown command 'shwo'"),
        (["show", "extra"], "takes no arguments"),
        (["trigger", "now"], "takes no arguments"),
        (["enroll-server"], "expected 'enroll-server show ID'"),
        (["enroll-server", "0", "label", "x"], "server ID '0' is not a number"),
        (["enroll-server", "x1", "label", "x"], "server ID 'x1' is not a number"),
        (["enroll-server", "4294967296", "label", "x"], "is not a number from 1 to 4294967295"),
        (["enroll-server", "1"], "expected KEY VALUE pairs"),
        (["enroll-server", "1", "label"], "keyword 'label' has no value"),
        (["enroll-server", "1", "colour", "red"], "unknown keyword 'colour'"),
        (["enroll-server", "show"], "expected 'enroll-server show ID'"),
        (["cert"], "expected 'cert show [NAME]'"),
        (["cert", "enroll", "n", "server"], "keyword 'server' has no value"),
        (["cert", "enroll", "n", "label", "x"], "unknown keyword 'label'"),
        (["no", "enroll-server", "1", "url"], "cannot remove 'url'"),
        (["no", "cert", "enroll", "n", "dn"], "cannot remove 'dn'"),
        (["no", "trigger"], "expected 'no enroll-server ID"),
        (["no", "pki"], "expected 'no enroll-server ID"),
        (["no", "pki", "daemon"], "cannot remove 'daemon'"),
        (["pki", "poll"], "keyword 'poll' has no value"),
        (["pki", "uptime", "5"], "unknown keyword 'uptime'"),
    ],
)
def test_parse_words_invalid(words: list[str], problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_words(words)
    assert problem in str(caught.value)
    assert caught.value.words == tuple(words)


def test_usage_error_masks_password() -> None:
    with pytest.raises(UsageError) as caught:
        parse_words(["cert", "enroll", "c", "password", "Sup3r-Secret", "colour", "red"])
    assert "Sup3r-Secret" not in str(caught.value)
    assert "password ********" in str(caught.value)
