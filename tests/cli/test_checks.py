"""Value checks that pki-cli makes before it sends a configuration command."""

from __future__ import annotations

import re

import pytest

from tests.cli.yang_nodes import YANG_FILE
from tools.pki_cli import main
from tools.pki_cli.checks import INTEGER_RANGES, KEYSIZES, InvalidValueError, check_command
from tools.pki_cli.grammar import parse_words
from tools.pki_cli.main import parse_options


def _check(words: list[str]) -> None:
    check_command(words, parse_words(words))


@pytest.mark.parametrize(
    ("words", "keyword", "value", "allowed"),
    [
        (["cert", "enroll", "c", "san", "300.1.1.1"], "san", "300.1.1.1",
         "not a valid IPv4 address"),
        (["cert", "enroll", "c", "san", "10.0.0"], "san", "10.0.0", "not a valid IPv4 address"),
        (["cert", "enroll", "c", "san", "IP:300.1.1.1"], "san", "300.1.1.1",
         "not an IPv4 or IPv6 address"),
        (["cert", "enroll", "c", "san", "IP:fe80::1%eth0"], "san", "fe80::1%eth0",
         "a zone index (%) is not allowed"),
        (["cert", "enroll", "c", "san", "foo bar"], "san", "foo bar", "not a valid DNS name"),
        (["cert", "enroll", "c", "san", "-host.example"], "san", "-host.example",
         "not a valid DNS name"),
        (["cert", "enroll", "c", "san", "email:nobody"], "san", "nobody", "not an email address"),
        (["cert", "enroll", "c", "san", "URI:no-scheme"], "san", "no-scheme", "not a URI"),
        (["cert", "enroll", "c", "keysize", "1024"], "keysize", "1024",
         "allowed key sizes are 2048, 3072, 4096 bits"),
        (["cert", "enroll", "c", "keysize", "big"], "keysize", "big", "allowed key sizes"),
        (["cert", "enroll", "c", "renewal-threshold", "100"], "renewal-threshold", "100",
         "expected a whole number from 1 to 99 (percent)"),
        (["pki", "poll-interval", "0"], "poll-interval", "0",
         "expected a whole number from 1 to 86400 (seconds)"),
        (["pki", "server-check-interval", "9"], "server-check-interval", "9",
         "expected a whole number from 10 to 604800 (seconds)"),
        (["pki", "poll-interval", "-5"], "poll-interval", "-5", "expected a whole number"),
        (["enroll-server", "1", "label", "x.9"], "label", "x.9",
         "'+' and '.' are kept for the labels that the agent derives"),
        (["cert", "enroll", "a+b", "dn", "CN=a"], "cert enroll", "a+b", "1 to 64 letters"),
    ],
)
def test_invalid_value_named(words: list[str], keyword: str, value: str, allowed: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        _check(words)
    assert caught.value.keyword == keyword
    assert caught.value.value == value
    assert allowed in caught.value.allowed
    assert caught.value.problem.startswith(f"{keyword} {value!r} is invalid: ")


@pytest.mark.parametrize(
    "words",
    [
        ["cert", "enroll", "c", "san", "192.168.100.101,2001:db8::1,mycert1.co.uk"],
        ["cert", "enroll", "c", "san", "host", "san", "host.example.", "san", "_srv.example"],
        ["cert", "enroll", "c", "san", "ops@example.com", "san", "urn:uuid:1"],
        ["cert", "enroll", "c", "san", "DNS:1host.example"],
        ["cert", "enroll", "c", "keysize", "3072", "renewal-threshold", "99"],
        ["pki", "poll-interval", "1", "server-check-interval", "604800"],
        ["enroll-server", "1", "label", "win-srv_2"],
    ],
)
def test_valid_values_pass(words: list[str]) -> None:
    _check(words)


def test_parse_options_checks_values() -> None:
    with pytest.raises(InvalidValueError):
        parse_options(["cert", "enroll", "mycert9", "san", "300.1.1.1"])


def test_invalid_value_box_without_agent(capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing listens on port 9: the check runs before any connection.
    code = main(["--port", "9", "cert", "enroll", "mycert9", "server", "xpki-srv",
                 "dn", "CN=x, C=UK", "san", "300.1.1.1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "| Configuration Errors: 1" in out
    assert "| 1. san '300.1.1.1' is invalid: not a valid IPv4 address" in out


def _yang_range(leaf: str) -> str:
    match = re.search(rf'leaf {leaf} {{\s*type \w+ {{\s*range "([^"]+)"', YANG_FILE.read_text())
    assert match is not None, f"no range for leaf {leaf} in the module"
    return match.group(1)


@pytest.mark.parametrize("leaf", sorted(INTEGER_RANGES))
def test_ranges_match_module(leaf: str) -> None:
    low, high, _ = INTEGER_RANGES[leaf]
    assert _yang_range(leaf) == f"{low}..{high}"


def test_keysizes_match_module() -> None:
    assert _yang_range("keysize") == " | ".join(str(size) for size in KEYSIZES)
