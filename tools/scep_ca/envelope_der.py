"""Rewrite an EnvelopedData's constructed encryptedContent as a primitive one.

Go's pkcs7 package (used by micromdm's scepclient) sends encryptedContent
[0] IMPLICIT OCTET STRING in the constructed BER form.  `agent.scep.ber.to_der`
joins only universal strings, and asn1crypto 1.5.1 cannot parse the
context-tagged constructed form, so `agent.scep.cms.open_enveloped_data`
rejects such requests.  This rewrite runs before it.
"""

from __future__ import annotations

from agent.scep import ber
from agent.scep.errors import ProtocolError

_PRIMITIVE_CONTEXT_0 = b"\x80"
_SET = 0x31


def _element(identifier: bytes, content: bytes) -> bytes:
    return identifier + ber.der_length(len(content)) + content


def _with_child(element: ber.TLV, index: int, replacement: bytes) -> bytes:
    parts = [_element(child.identifier, child.content) for child in ber.children(element.content)]
    parts[index] = replacement
    return _element(element.identifier, b"".join(parts))


def primitive_encrypted_content(data: bytes) -> bytes:
    """Return `data` (a ContentInfo with EnvelopedData) with a primitive encryptedContent."""
    der = ber.to_der(data)
    try:
        content_info = ber.read_tlv(der)
        explicit = ber.children(content_info.content)[1]
        enveloped = ber.children(explicit.content)[0]
        fields = ber.children(enveloped.content)
        # RFC 5652 §6.1: encryptedContentInfo follows the recipientInfos SET.
        index = next(i for i, f in enumerate(fields) if f.identifier[0] == _SET) + 1
        encrypted_info = fields[index]
        inner = ber.children(encrypted_info.content)
    except (IndexError, StopIteration):
        raise ProtocolError("malformed pkcsPKIEnvelope", "unexpected structure") from None
    if len(inner) < 3 or not inner[2].constructed:
        return der
    ciphertext = _element(_PRIMITIVE_CONTEXT_0, ber.string_value(inner[2]))
    new_info = _with_child(encrypted_info, 2, ciphertext)
    new_enveloped = _with_child(enveloped, index, new_info)
    new_explicit = _with_child(explicit, 0, new_enveloped)
    return _with_child(content_info, 1, new_explicit)
