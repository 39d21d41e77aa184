"""Tests of subjectAltName text: prefixes, guessed types and the checks of each type."""

from __future__ import annotations

import pytest

from agent.scep.errors import InvalidInput
from agent.scep.san import SANType, split_san


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("dns:host.example.com", SANType.DNS, "host.example.com"),
        ("DNS:Host.Example.COM", SANType.DNS, "Host.Example.COM"),
        ("host.example.com", SANType.DNS, "host.example.com"),
        ("*.example.com", SANType.DNS, "*.example.com"),
        ("1and1.example", SANType.DNS, "1and1.example"),
        ("localhost", SANType.DNS, "localhost"),
        (f"{'a' * 63}.example", SANType.DNS, f"{'a' * 63}.example"),
        ("192.0.2.7", SANType.IP, "192.0.2.7"),
        ("ip:2001:db8::1", SANType.IP, "2001:db8::1"),
        ("2001:db8::1", SANType.IP, "2001:db8::1"),
        ("ops@example.com", SANType.EMAIL, "ops@example.com"),
        ("email:ops@example.com", SANType.EMAIL, "ops@example.com"),
        ("https://example.com/x", SANType.URI, "https://example.com/x"),
        ("uri:urn:device:7", SANType.URI, "urn:device:7"),
    ],
)
def test_split_san_valid(text: str, kind: SANType, value: str) -> None:
    assert split_san(text) == (kind, value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("192.168.1.300", "not a valid IPv4 address"),
        ("1.2.3", "not a valid IPv4 address"),
        ("dns:10.0.0.1", "not a valid IPv4 address"),
        ("ip:999.1.1.1", "not a valid IPv4 address"),
        ("ip:host.example.com", "not a valid IP address"),
        ("ip:fe80::1%eth0", "a zone index (%) is not allowed"),
        ("foo bar!", "not a valid DNS name"),
        ("foo:bar", "not a valid DNS name"),
        ("under_score.example", "not a valid DNS name"),
        ("-leading.example", "not a valid DNS name"),
        ("trailing-.example", "not a valid DNS name"),
        ("host..example", "not a valid DNS name"),
        ("host.example.", "not a valid DNS name"),
        ("a.*.example", "not a valid DNS name"),
        ("bücher.example", "not a valid DNS name"),
        (f"{'a' * 64}.example", "not a valid DNS name"),
        (".".join(["a" * 63] * 4), "a DNS name is at most 253 characters, got 255"),
        ("email:ops example.com", "not an email address"),
        ("uri:no-scheme", "not a URI with a scheme"),
        ("dns:", "empty value"),
        ("", "empty value"),
    ],
)
def test_split_san_invalid(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        split_san(text)

    assert caught.value.field == "subjectAltName"
    assert caught.value.value == text
    assert reason in caught.value.reason
