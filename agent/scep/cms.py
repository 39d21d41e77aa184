"""CMS primitives for SCEP (RFC 5652 as profiled by RFC 8894 §3), shared by client and test CA.

Built on asn1crypto for the structures and cryptography for RSA, hashes and
ciphers, because cryptography's PKCS#7 builder cannot add SCEP's signed
attributes.  Every parser accepts BER (see `agent.scep.ber`) and raises
`ProtocolError` on malformed input.

Public functions:

- ``build_signed_data(content, signer_certificate, signer_key, digest, attributes,
  certificates)`` returns a DER ContentInfo with one SignerInfo.  The signed
  attributes are contentType, messageDigest, signingTime and the given
  ``(OID, value)`` pairs (see `agent.scep.attributes.scep_attributes`).
- ``verify_signed_data(data, certificates)`` returns a `SignedMessage`.  The
  signature is checked over the signed attributes' original bytes, the
  messageDigest over the content, and the signer is looked up in the embedded
  certificates and then in `certificates`.  Raises `ProtocolError`.
- ``build_certs_only(certificates)`` and ``parse_certs_only(data)`` handle the
  degenerate SignedData of GetCACert and CertRep (RFC 8894 §3.4).
- ``read_signed_data(data)`` returns the content and signed attributes
  without any check, for diagnostics of captures whose signer is unknown.
- ``build_enveloped_data`` and ``open_enveloped_data`` come from
  `agent.scep.envelope` and are re-exported here.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep import ber
from agent.scep.attributes import MESSAGE_DIGEST, Attributes
from agent.scep.envelope import (
    ContentCipher,
    KeyTransport,
    build_enveloped_data,
    open_enveloped_data,
)
from agent.scep.errors import ProtocolError
from agent.scep.names import subject_text

__all__ = [
    "ContentCipher",
    "KeyTransport",
    "SignedMessage",
    "build_certs_only",
    "build_enveloped_data",
    "build_signed_data",
    "open_enveloped_data",
    "parse_certs_only",
    "read_signed_data",
    "verify_signed_data",
]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _AnyValues(core.SetOf):
    _child_spec = core.Any


class _Attribute(core.Sequence):
    _fields = [("type", core.ObjectIdentifier), ("values", _AnyValues)]


class _Attributes(core.SetOf):
    _child_spec = _Attribute


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """A verified SignedData: its content, signed attributes and signer."""

    content: bytes | None
    attributes: dict[str, tuple[bytes, ...]]
    """Signed attributes: dotted OID to the DER of each value."""
    signer: x509.Certificate
    certificates: tuple[x509.Certificate, ...]
    digest_algorithm: str


def hash_for(name: str) -> hashes.HashAlgorithm:
    """Return the cryptography hash for an asn1crypto digest name such as ``sha256``."""
    try:
        return _HASHES[name]()
    except KeyError:
        raise ProtocolError("unsupported digest algorithm", name) from None


def digest(name: str, data: bytes) -> bytes:
    """Hash `data` with the named algorithm."""
    hasher = hashes.Hash(hash_for(name))
    hasher.update(data)
    return hasher.finalize()


def _to_asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _sign(key: rsa.RSAPrivateKey, data: bytes, digest_name: str) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hash_for(digest_name))


def _signed_attributes(content: bytes, digest_name: str, extra: Attributes) -> cms.CMSAttributes:
    values: list[tuple[str, core.Asn1Value]] = [
        ("1.2.840.113549.1.9.3", cms.ContentType("data")),
        (MESSAGE_DIGEST, core.OctetString(digest(digest_name, content))),
        ("1.2.840.113549.1.9.5", core.UTCTime(datetime.datetime.now(datetime.UTC))),
        *extra,
    ]
    encoded = [
        _Attribute({"type": oid, "values": [core.Any.load(value.dump())]}).dump()
        for oid, value in values
    ]
    # DER orders the elements of a SET OF by their encodings (X.690 §11.6).
    body = b"".join(sorted(encoded))
    return cms.CMSAttributes.load(b"\x31" + ber.der_length(len(body)) + body)


def build_signed_data(
    content: bytes,
    signer_certificate: x509.Certificate,
    signer_key: rsa.RSAPrivateKey,
    digest_algorithm: str = "sha256",
    attributes: Attributes = (),
    certificates: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign `content` as id-data with SCEP-style signed attributes; return a DER ContentInfo."""
    signed_attrs = _signed_attributes(content, digest_algorithm, attributes)
    signature = _sign(signer_key, signed_attrs.dump(), digest_algorithm)
    signer_asn1 = _to_asn1_certificate(signer_certificate)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": signer_asn1.issuer, "serial_number": signer_asn1.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest_algorithm}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
            "signature": signature,
        }
    )
    embedded = [signer_asn1, *(_to_asn1_certificate(c) for c in certificates)]
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest_algorithm})],
            "encap_content_info": {"content_type": "data", "content": content},
            "certificates": embedded,
            "signer_infos": [signer_info],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def build_certs_only(certificates: Sequence[x509.Certificate]) -> bytes:
    """Build a degenerate certs-only SignedData (RFC 8894 §3.4) as a DER ContentInfo."""
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [],
            "encap_content_info": {"content_type": "data"},
            "certificates": [_to_asn1_certificate(c) for c in certificates],
            "signer_infos": [],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def _certificates(signed_data: cms.SignedData) -> list[x509.Certificate]:
    result = []
    for choice in signed_data["certificates"] or []:
        if choice.name != "certificate":
            continue  # attribute and other certificate formats are not used by SCEP
        try:
            result.append(x509.load_der_x509_certificate(choice.chosen.dump()))
        except (ValueError, x509.InvalidVersion) as exc:
            raise ProtocolError("malformed certificate in SignedData", str(exc)) from exc
    return result


def parse_certs_only(data: bytes) -> list[x509.Certificate]:
    """Return the certificates of a SignedData, ignoring any signature or content."""
    info = ber.load_content_info(data, "signed_data")
    try:
        return _certificates(info["content"])
    except (ValueError, TypeError, KeyError) as exc:
        raise ProtocolError("malformed certificates in SignedData", str(exc)) from exc


def _matches_sid(certificate: x509.Certificate, sid: cms.SignerIdentifier) -> bool:
    if sid.name == "issuer_and_serial_number":
        wanted = sid.chosen
        asn1_cert = _to_asn1_certificate(certificate)
        return bool(
            asn1_cert.serial_number == wanted["serial_number"].native
            and asn1_cert.issuer == wanted["issuer"]
        )
    try:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return False
    return bool(ski.value.digest == sid.chosen.native)


def find_signer(
    sid: cms.SignerIdentifier, candidates: Sequence[x509.Certificate]
) -> x509.Certificate:
    """Return the certificate that `sid` names; raise ProtocolError if none does."""
    for certificate in candidates:
        if _matches_sid(certificate, sid):
            return certificate
    raise ProtocolError("signer certificate not found", _describe_sid(sid))


def _describe_sid(sid: cms.SignerIdentifier) -> str:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"].human_friendly
        return f"issuer {issuer}, serial {sid.chosen['serial_number'].native:x}"
    return f"subjectKeyIdentifier {sid.chosen.native.hex()}"


def _verify_signature(
    certificate: x509.Certificate, signature: bytes, data: bytes, digest_name: str
) -> None:
    public_key = certificate.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hash_for(digest_name))
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hash_for(digest_name)))
        else:
            raise ProtocolError("unsupported signer key type", type(public_key).__name__)
    except InvalidSignature as exc:
        raise ProtocolError("invalid signature", _subject(certificate)) from exc


def _subject(certificate: x509.Certificate) -> str:
    return subject_text(certificate)


def _read_attributes(
    signer_info: cms.SignerInfo,
) -> tuple[bytes | None, dict[str, tuple[bytes, ...]]]:
    signed_attrs = signer_info["signed_attrs"]
    if not signed_attrs.contents:
        return None, {}
    # RFC 5652 §5.4: the signature covers the attributes as a universal SET OF,
    # in the bytes the signer sent; re-encoding would break non-DER senders.
    signed_bytes = b"\x31" + ber.der_length(len(signed_attrs.contents)) + signed_attrs.contents
    attributes: dict[str, list[bytes]] = {}
    for attribute in _Attributes.load(signed_bytes):
        oid = attribute["type"].dotted
        values = attributes.setdefault(oid, [])
        values.extend(value.dump() for value in attribute["values"])
    return signed_bytes, {oid: tuple(values) for oid, values in attributes.items()}


def _econtent(signed_data: cms.SignedData) -> bytes | None:
    content = signed_data["encap_content_info"]["content"]
    if isinstance(content, core.Void):
        return None
    value = content.native
    if isinstance(value, bytes):
        return value
    return bytes(content.contents)


def verify_signed_data(data: bytes, certificates: Sequence[x509.Certificate] = ()) -> SignedMessage:
    """Verify a SignedData with one SignerInfo and return its content and signed attributes."""
    info = ber.load_content_info(data, "signed_data")
    try:
        return _verify(info["content"], certificates)
    except (ValueError, TypeError, KeyError, OverflowError, UnsupportedAlgorithm) as exc:
        raise ProtocolError("malformed SignedData", str(exc)) from exc


def _verify(signed_data: cms.SignedData, extra: Sequence[x509.Certificate]) -> SignedMessage:
    signer_infos = list(signed_data["signer_infos"])
    if len(signer_infos) != 1:
        raise ProtocolError("unexpected number of SignerInfos", str(len(signer_infos)))
    signer_info = signer_infos[0]
    embedded = _certificates(signed_data)
    signer = find_signer(signer_info["sid"], [*embedded, *extra])
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    content = _econtent(signed_data)
    signed_bytes, attributes = _read_attributes(signer_info)
    signature = signer_info["signature"].native
    if signed_bytes is None:
        # RFC 8894 §3 requires signed attributes, so an unsigned-attribute message is refused.
        raise ProtocolError("SignedData has no signed attributes")
    message_digest = attributes.get(MESSAGE_DIGEST)
    if not message_digest or len(message_digest) != 1:
        raise ProtocolError("messageDigest attribute missing")
    expected = core.OctetString.load(message_digest[0]).native
    if expected != digest(digest_name, content or b""):
        raise ProtocolError("messageDigest does not match the content")
    _verify_signature(signer, signature, signed_bytes, digest_name)
    return SignedMessage(content, attributes, signer, tuple(embedded), digest_name)


def read_signed_data(data: bytes) -> tuple[bytes | None, dict[str, tuple[bytes, ...]]]:
    """Return the content and signed attributes of a SignedData WITHOUT verifying anything.

    Only for diagnostics and captures whose signer certificate is unknown;
    never act on the result.
    """
    info = ber.load_content_info(data, "signed_data")
    try:
        signed_data = info["content"]
        signer_infos = list(signed_data["signer_infos"])
        if len(signer_infos) != 1:
            raise ProtocolError("unexpected number of SignerInfos", str(len(signer_infos)))
        _, attributes = _read_attributes(signer_infos[0])
        return _econtent(signed_data), attributes
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ProtocolError("malformed SignedData", str(exc)) from exc
