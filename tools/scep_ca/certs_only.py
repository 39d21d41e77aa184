"""A degenerate certs-only SignedData that keeps the given certificate order.

`agent.scep.cms.build_certs_only` encodes the certificates as a DER SET OF,
which sorts them by their encoding.  GetCACert replies should show the order a
personality sends, so this encoder writes them as given.  BER allows an
unsorted SET OF, and clients choose certificates by key usage, not by order.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep.ber import der_length

_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
_DATA_OID = bytes.fromhex("06092a864886f70d010701")
_VERSION_1 = bytes.fromhex("020101")
_EMPTY_SET = bytes.fromhex("3100")


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_length(len(content)) + content


def build_ordered_certs_only(certificates: Sequence[x509.Certificate]) -> bytes:
    """Encode a ContentInfo with a certs-only SignedData (RFC 8894 §3.4), in the given order."""
    certificate_bytes = b"".join(c.public_bytes(Encoding.DER) for c in certificates)
    signed_data = _tlv(
        0x30,
        _VERSION_1
        + _EMPTY_SET  # digestAlgorithms
        + _tlv(0x30, _DATA_OID)  # encapContentInfo without eContent
        + _tlv(0xA0, certificate_bytes)  # certificates [0] IMPLICIT
        + _EMPTY_SET,  # signerInfos
    )
    return _tlv(0x30, _SIGNED_DATA_OID + _tlv(0xA0, signed_data))
