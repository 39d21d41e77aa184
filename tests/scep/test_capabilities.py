"""Tests for GetCACaps parsing and the algorithm choices."""

from __future__ import annotations

import itertools

import pytest

from agent.scep.capabilities import Capabilities, parse_capabilities
from agent.scep.envelope import ContentCipher

MICROMDM_CAPS = b"Renewal\nSHA-1\nSHA-256\nAES\nDES3\nSCEPStandard\nPOSTPKIOperation\n"


@pytest.mark.parametrize(
    "body",
    [
        MICROMDM_CAPS,
        MICROMDM_CAPS.replace(b"\n", b"\r\n"),
        MICROMDM_CAPS.lower(),
        b"  Renewal \r\n\r\nsha-1\n\tSHA-256  \naes\nDES3\nscepstandard\nPOSTPKIOperation",
        b"Renewal SHA-1 SHA-256 AES DES3 SCEPStandard POSTPKIOperation X-Unknown-Keyword",
    ],
    ids=["lf", "crlf", "lower-case", "whitespace", "unknown-keyword"],
)
def test_parse_tolerates_formats(body: bytes) -> None:
    caps = parse_capabilities(body)

    assert caps.has("Renewal")
    assert caps.has("sha-256")
    assert caps.has("AES")
    assert caps.post_supported
    assert caps.renewal_supported


def test_parse_keeps_server_spelling() -> None:
    caps = parse_capabilities(b"postPKIOperation\nAES\naes\n")

    assert caps.names == ("postPKIOperation", "AES")


def test_parse_empty_body() -> None:
    caps = parse_capabilities(b"")

    assert caps.names == ()
    assert not caps.post_supported


def test_parse_invalid_utf8() -> None:
    caps = parse_capabilities(b"AES\n\xff\xfe\nDES3")

    assert caps.has("AES")
    assert caps.has("DES3")


def test_scep_standard_implies() -> None:
    caps = Capabilities(("SCEPStandard",))

    assert caps.has("AES")
    assert caps.has("POSTPKIOperation")
    assert caps.has("SHA-256")
    assert not caps.has("Renewal")
    assert not caps.has("DES3")


KEYWORDS = ("AES", "DES3", "SHA-1", "SHA-256", "SHA-512", "POSTPKIOperation", "SCEPStandard")
SENDABLE = (ContentCipher.AES128_CBC, ContentCipher.AES256_CBC, ContentCipher.TRIPLE_DES_CBC)


def _expected_cipher(names: set[str], preferred: ContentCipher) -> ContentCipher:
    has_aes = "AES" in names or "SCEPStandard" in names
    if preferred is ContentCipher.TRIPLE_DES_CBC or has_aes:
        return preferred
    return ContentCipher.TRIPLE_DES_CBC


def _expected_digest(names: set[str]) -> str:
    if "SHA-256" in names or "SCEPStandard" in names:
        return "sha256"
    if "SHA-512" in names:
        return "sha512"
    if "SHA-1" in names:
        return "sha1"
    return "sha256"


@pytest.mark.parametrize("preferred", SENDABLE)
def test_choices_over_every_combination(preferred: ContentCipher) -> None:
    for count in range(len(KEYWORDS) + 1):
        for combination in itertools.combinations(KEYWORDS, count):
            names = set(combination)
            caps = Capabilities(combination)

            assert caps.choose_cipher(preferred) == _expected_cipher(names, preferred), names
            assert caps.choose_digest() == _expected_digest(names), names
            post = "POSTPKIOperation" in names or "SCEPStandard" in names
            assert caps.post_supported == post, names


@pytest.mark.parametrize("caps", [Capabilities(), Capabilities(("AES", "SHA-512"))])
def test_never_offers_des(caps: Capabilities) -> None:
    with pytest.raises(ValueError, match="not offered"):
        caps.choose_cipher(ContentCipher.DES_CBC)
