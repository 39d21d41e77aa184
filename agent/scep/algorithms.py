"""Algorithm names and defaults of the SCEP client, kept free of heavy imports.

The command-line parser and the capability parser need only these names, so
`pki-agent scep --help` and GetCACaps do not load cryptography or asn1crypto.
"""

from __future__ import annotations

from enum import StrEnum

CONNECT_TIMEOUT = 5.0
"""Default seconds to wait for the TCP connection to a SCEP server."""

READ_TIMEOUT = 30.0
"""Default seconds that requests waits for each read of a SCEP server's reply."""

KEY_SIZES = (2048, 3072, 4096)
"""RSA key sizes in bits that the client generates."""

FINGERPRINT_ALGORITHM_NAMES = ("md5", "sha1", "sha256", "sha384", "sha512")
"""Hash algorithms accepted for the Root CA fingerprint."""


class ContentCipher(StrEnum):
    """Content encryption algorithms, named as in the YANG module's content-cipher type."""

    AES128_CBC = "aes128-cbc"
    AES256_CBC = "aes256-cbc"
    TRIPLE_DES_CBC = "3des-cbc"
    DES_CBC = "des-cbc"


class RenewRequest(StrEnum):
    """Renewal message style, named as in the YANG module's renew-request leaf."""

    RENEWAL_REQ = "renewal-req"
    PKCS_REQ = "pkcs-req"
