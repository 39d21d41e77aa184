"""GetCACaps reply parsing and the algorithm choices that follow from it (RFC 8894 §3.5.2)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.scep.algorithms import ContentCipher

# RFC 8894 §3.5.2: SCEPStandard implies AES, POSTPKIOperation and SHA-256.
_IMPLIED_BY_STANDARD = frozenset({"aes", "postpkioperation", "sha-256"})

# The digests the client signs with, in order of preference.
_DIGESTS = (("sha-256", "sha256"), ("sha-512", "sha512"), ("sha-1", "sha1"))

# Configured ciphers the client may send; single DES is only for decrypting replies.
_AES_CIPHERS = frozenset({ContentCipher.AES128_CBC, ContentCipher.AES256_CBC})


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Capabilities from a GetCACaps reply, as the server spells them."""

    names: tuple[str, ...] = ()

    def has(self, name: str) -> bool:
        """Return whether `name` is advertised, directly or through SCEPStandard."""
        wanted = name.lower()
        lowered = {item.lower() for item in self.names}
        if wanted in lowered:
            return True
        return "scepstandard" in lowered and wanted in _IMPLIED_BY_STANDARD

    @property
    def post_supported(self) -> bool:
        """Whether PKIOperation may be sent with HTTP POST."""
        return self.has("POSTPKIOperation")

    @property
    def renewal_supported(self) -> bool:
        """Whether the server advertises RenewalReq."""
        return self.has("Renewal")

    def choose_cipher(self, preferred: ContentCipher) -> ContentCipher:
        """Return the content cipher to send: `preferred`, or 3DES when AES is not advertised."""
        if preferred not in (*_AES_CIPHERS, ContentCipher.TRIPLE_DES_CBC):
            raise ValueError(f"content cipher {preferred} is not offered to servers")
        if preferred in _AES_CIPHERS and not self.has("AES"):
            return ContentCipher.TRIPLE_DES_CBC
        return preferred

    def choose_digest(self) -> str:
        """Return the digest to sign with: SHA-256, else SHA-512, else SHA-1, as advertised.

        NOTE: with no digest advertised (or no caps at all) this returns SHA-256
        instead of RFC 8894's historic MD5 default, which the agent never sends.
        """
        for capability, digest in _DIGESTS:
            if self.has(capability):
                return digest
        return "sha256"


def parse_capabilities(body: bytes | str) -> Capabilities:
    """Parse a GetCACaps body: one keyword per line, any case, LF or CRLF, blanks ignored."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    names: list[str] = []
    seen: set[str] = set()
    for token in text.split():
        if token.lower() in seen:
            continue
        seen.add(token.lower())
        names.append(token)
    return Capabilities(tuple(names))
