"""SCEP signed attributes (RFC 8894 §3.2.1) and their value enumerations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from asn1crypto import core

from agent.scep.errors import ProtocolError

# RFC 8894 §3.2.1: id-attributes under 2.16.840.1.113733.1.9 (VeriSign arc).
MESSAGE_TYPE = "2.16.840.1.113733.1.9.2"
PKI_STATUS = "2.16.840.1.113733.1.9.3"
FAIL_INFO = "2.16.840.1.113733.1.9.4"
SENDER_NONCE = "2.16.840.1.113733.1.9.5"
RECIPIENT_NONCE = "2.16.840.1.113733.1.9.6"
TRANSACTION_ID = "2.16.840.1.113733.1.9.7"
FAIL_INFO_TEXT = "1.3.6.1.5.5.7.24.1"  # RFC 8894 §3.2.1.4, id-scep-failInfoText
NDES_HRESULT = "1.3.6.1.4.1.311.21.33"  # Windows NDES failure reason, signed decimal
NDES_STATUS_TEXT = "1.3.6.1.4.1.311.21.38"

CONTENT_TYPE = "1.2.840.113549.1.9.3"
MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
SIGNING_TIME = "1.2.840.113549.1.9.5"

Attributes = Sequence[tuple[str, core.Asn1Value]]
"""Signed attributes to add: (dotted OID, one value) pairs."""


class MessageType(StrEnum):
    """messageType values (RFC 8894 §3.2.1.2), as their decimal wire strings."""

    CERT_REP = "3"
    RENEWAL_REQ = "17"
    PKCS_REQ = "19"
    CERT_POLL = "20"
    GET_CERT = "21"
    GET_CRL = "22"


class PKIStatus(StrEnum):
    """pkiStatus values (RFC 8894 §3.2.1.3)."""

    SUCCESS = "0"
    FAILURE = "2"
    PENDING = "3"


class FailInfo(StrEnum):
    """failInfo values (RFC 8894 §3.2.1.4); unknown codes become pseudo-members."""

    BAD_ALG = "0"
    BAD_MESSAGE_CHECK = "1"
    BAD_REQUEST = "2"
    BAD_TIME = "3"
    BAD_CERT_ID = "4"

    @classmethod
    def _missing_(cls, value: object) -> FailInfo | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member

    @property
    def label(self) -> str:
        """RFC 8894 name, such as ``badRequest``, or the code itself when unknown."""
        return _FAIL_INFO_LABELS.get(self.value, self.value)


_FAIL_INFO_LABELS = {
    "0": "badAlg",
    "1": "badMessageCheck",
    "2": "badRequest",
    "3": "badTime",
    "4": "badCertId",
}


def scep_attributes(
    message_type: MessageType,
    transaction_id: str,
    sender_nonce: bytes | None = None,
    recipient_nonce: bytes | None = None,
    pki_status: PKIStatus | None = None,
    fail_info: FailInfo | str | None = None,
) -> list[tuple[str, core.Asn1Value]]:
    """Build the SCEP signed attributes for `build_signed_data`."""
    attributes: list[tuple[str, core.Asn1Value]] = [
        (MESSAGE_TYPE, core.PrintableString(message_type.value)),
        (TRANSACTION_ID, core.PrintableString(transaction_id)),
    ]
    if sender_nonce is not None:
        attributes.append((SENDER_NONCE, core.OctetString(sender_nonce)))
    if recipient_nonce is not None:
        attributes.append((RECIPIENT_NONCE, core.OctetString(recipient_nonce)))
    if pki_status is not None:
        attributes.append((PKI_STATUS, core.PrintableString(pki_status.value)))
    if fail_info is not None:
        attributes.append((FAIL_INFO, core.PrintableString(str(fail_info))))
    return attributes


def decode_value(value_der: bytes) -> Any:
    """Decode one attribute value (DER) to a Python value; raise ProtocolError if malformed."""
    try:
        return core.load(value_der).native
    except (ValueError, TypeError, OverflowError) as exc:
        raise ProtocolError("malformed attribute value", str(exc)) from exc


def text_value(attributes: Mapping[str, Sequence[bytes]], oid: str) -> str | None:
    """Return the single string value of attribute `oid`, or None if it is absent."""
    value = _single(attributes, oid)
    if value is None:
        return None
    decoded = decode_value(value)
    if isinstance(decoded, bytes):
        return decoded.decode("ascii", "replace")
    if not isinstance(decoded, str):
        raise ProtocolError("malformed attribute value", f"{oid} is not a string")
    return decoded


def octets_value(attributes: Mapping[str, Sequence[bytes]], oid: str) -> bytes | None:
    """Return the single OCTET STRING value of attribute `oid`, or None if it is absent."""
    value = _single(attributes, oid)
    if value is None:
        return None
    decoded = decode_value(value)
    if not isinstance(decoded, bytes):
        raise ProtocolError("malformed attribute value", f"{oid} is not an OCTET STRING")
    return decoded


def _single(attributes: Mapping[str, Sequence[bytes]], oid: str) -> bytes | None:
    values = attributes.get(oid)
    if not values:
        return None
    if len(values) != 1:
        raise ProtocolError("malformed attribute", f"{oid} has {len(values)} values")
    return values[0]
