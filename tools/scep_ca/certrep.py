"""CertRep construction (RFC 8894), with the personality's quirks and reply faults."""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from agent.scep.attributes import (
    NDES_HRESULT,
    NDES_STATUS_TEXT,
    MessageType,
    PKIStatus,
    scep_attributes,
)
from agent.scep.cms import build_certs_only, build_enveloped_data, build_signed_data
from agent.scep.envelope import ContentCipher
from tools.scep_ca.authority import CertificateAuthority, Outcome
from tools.scep_ca.faults import FaultSettings, ReplyFault
from tools.scep_ca.issuing import Credential, generate_key
from tools.scep_ca.personality import HRESULT_INVALID_ARG

NONCE_BYTES = 16
# Content of an NDES failure reply: a one-byte placeholder where the
# pkcsPKIEnvelope would be, as in a captured Windows Server 2012 reply.
NDES_FAILURE_CONTENT = b"\x00"


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """Values from the request that the CertRep echoes or reuses."""

    transaction_id: str
    sender_nonce: bytes | None
    recipient: x509.Certificate | None
    """The request's signer certificate, which the issued certificate is encrypted to.

    None when the request's signature failed, which allows only a FAILURE reply.
    """
    digest_algorithm: str
    cipher: ContentCipher


def signed_decimal(hresult: int) -> str:
    """Write an HRESULT as NDES does: the 32-bit value as a signed decimal."""
    return str(hresult - (1 << 32) if hresult >= 1 << 31 else hresult)


@cache
def foreign_signer() -> Credential:
    """Return a self-signed key pair that no GetCACert reply contains."""
    key = generate_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unrelated signer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return Credential(certificate, key)


def build_unsigned(content: bytes, certificates: Sequence[x509.Certificate]) -> bytes:
    """Build a SignedData that carries `content` but has no SignerInfo."""
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [],
            "encap_content_info": {"content_type": "data", "content": content},
            "certificates": [
                asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in certificates
            ],
            "signer_infos": [],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def build_cert_rep(
    authority: CertificateAuthority,
    outcome: Outcome,
    context: ReplyContext,
    faults: FaultSettings,
) -> bytes:
    """Sign a CertRep for `outcome`, damaged as the active reply fault sets."""
    fault = faults.reply

    transaction_id = context.transaction_id
    if fault is ReplyFault.WRONG_TRANSACTION_ID:
        transaction_id = os.urandom(NONCE_BYTES).hex().upper()
    recipient_nonce = context.sender_nonce
    if fault is ReplyFault.WRONG_RECIPIENT_NONCE:
        recipient_nonce = os.urandom(NONCE_BYTES)

    attributes = scep_attributes(
        MessageType.CERT_REP,
        transaction_id,
        sender_nonce=os.urandom(NONCE_BYTES),
        recipient_nonce=recipient_nonce,
        pki_status=outcome.status,
        fail_info=outcome.fail_info.value if outcome.fail_info is not None else None,
    )

    content = b""
    ndes = authority.personality.failure_hresult
    if outcome.status is PKIStatus.SUCCESS:
        if outcome.certificate is None or context.recipient is None:
            raise ValueError("a SUCCESS CertRep needs the certificate and the recipient")
        issued = [] if fault is ReplyFault.NO_CERTIFICATES else [outcome.certificate]
        content = build_enveloped_data(
            build_certs_only(issued), context.recipient, context.cipher, authority.key_transport
        )
        if ndes:
            attributes.append((NDES_STATUS_TEXT, core.UTF8String("Issued")))
    elif outcome.status is PKIStatus.FAILURE and ndes:
        hresult = outcome.hresult if outcome.hresult is not None else HRESULT_INVALID_ARG
        attributes.append((NDES_HRESULT, core.PrintableString(signed_decimal(hresult))))
        content = NDES_FAILURE_CONTENT

    signer = authority.hierarchy.reply_signer
    if fault is ReplyFault.FOREIGN_SIGNER:
        signer = foreign_signer()
    if fault is ReplyFault.UNSIGNED:
        return build_unsigned(content, [signer.certificate])
    return build_signed_data(
        content, signer.certificate, signer.private_key, context.digest_algorithm, attributes
    )
