"""Personalities: what the CA advertises, and how it decides on an enrollment request.

openxpki follows OpenXPKI's sample SCEP policy, ndes follows Windows NDES, and
plain is a minimal RFC 8894 server whose CA certificate also acts as RA.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AttributeOID, ObjectIdentifier

from agent.scep.attributes import FailInfo, MessageType
from agent.scep.envelope import ContentCipher, KeyTransport
from tools.scep_ca.hierarchy import Hierarchy
from tools.scep_ca.issuing import (
    CLIENT_AUTH,
    SERVER_AUTH,
    TEMPLATE_NAME_OID,
    KeyUsageSet,
    Profile,
)

# EKU "IP security IKE intermediate", given to the NDES templates here.
# NOTE: this approximates Windows' IPSECIntermediateOffline template. The
# extensions were not compared with certificates from a real Windows CA.
_IPSEC_IKE_INTERMEDIATE = ObjectIdentifier("1.3.6.1.5.5.8.2.2")
_SIGN_AND_ENCRYPT = KeyUsageSet(digital_signature=True, key_encipherment=True)

PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("tls_server", _SIGN_AND_ENCRYPT, (SERVER_AUTH,)),
        Profile("tls_client", _SIGN_AND_ENCRYPT, (CLIENT_AUTH,)),
        Profile("user_auth_enc", _SIGN_AND_ENCRYPT, (CLIENT_AUTH,)),
        Profile("plain", _SIGN_AND_ENCRYPT, (SERVER_AUTH, CLIENT_AUTH)),
        # NDES picks one of three templates by the key usage of the CSR.
        Profile(
            "IPSECIntermediateOffline",
            _SIGN_AND_ENCRYPT,
            (_IPSEC_IKE_INTERMEDIATE,),
            template_name="IPSECIntermediateOffline",
        ),
        Profile(
            "NDESSignature",
            KeyUsageSet(digital_signature=True),
            (_IPSEC_IKE_INTERMEDIATE,),
            template_name="NDESSignature",
        ),
        Profile(
            "NDESEncryption",
            KeyUsageSet(key_encipherment=True),
            (_IPSEC_IKE_INTERMEDIATE,),
            template_name="NDESEncryption",
        ),
    )
}

# Certificate template names a client may send, and the OpenXPKI profile each selects.
OPENXPKI_PROFILE_MAP = {
    "tls-server": "tls_server",
    "tls-client": "tls_client",
    "user": "user_auth_enc",
}
OPENXPKI_DEFAULT_PROFILE = "tls_server"


class Action(StrEnum):
    ISSUE = "issue"
    PENDING = "pending"
    REJECT = "reject"


class Approval(StrEnum):
    """auto issues a request that passes the checks, and manual leaves it for an operator."""

    AUTO = "auto"
    MANUAL = "manual"


# Windows HRESULTs for NDES failure replies, written as signed decimals.
# NOTE: only E_INVALIDARG was seen in a captured NDES reply. The codes for a
# wrong password and an operator's denial are the Windows codes of those names,
# not captured from NDES.
HRESULT_INVALID_ARG = 0x80070057  # E_INVALIDARG
HRESULT_INVALID_PASSWORD = 0x80070056  # HRESULT_FROM_WIN32(ERROR_INVALID_PASSWORD)
HRESULT_ADMIN_DENIED = 0x80094014  # CERTSRV_E_ADMIN_DENIED_REQUEST


@dataclass(frozen=True, slots=True)
class EnrollmentRequest:
    """A decrypted PKCSReq or RenewalReq."""

    message_type: MessageType
    transaction_id: str
    csr: x509.CertificateSigningRequest
    signer: x509.Certificate


@dataclass(frozen=True, slots=True)
class Decision:
    """The CA's decision on a request, with a reason for logs and the pending list."""

    action: Action
    reason: str
    profile: str | None = None
    fail_info: FailInfo = FailInfo.BAD_REQUEST
    hresult: int | None = None


@dataclass(frozen=True, slots=True)
class PolicyContext:
    hierarchy: Hierarchy
    approval: Approval
    renewal_window: datetime.timedelta
    now: datetime.datetime
    check_challenge: Callable[[str | None], bool]
    """Return whether a challenge is valid, using up a one-time challenge."""


def challenge_of(csr: x509.CertificateSigningRequest) -> str | None:
    try:
        value = csr.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD).value
    except x509.AttributeNotFound:
        return None
    return value.decode("utf-8", "replace")


def template_name_of(csr: x509.CertificateSigningRequest) -> str | None:
    """Return the certificate template name extension's string, if the CSR has one."""
    try:
        extension = csr.extensions.get_extension_for_oid(TEMPLATE_NAME_OID)
    except x509.ExtensionNotFound:
        return None
    if not isinstance(extension.value, x509.UnrecognizedExtension):
        return None
    try:
        value = core.load(extension.value.value).native
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def is_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject or certificate.subject == issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _public_key_der(public_key: object) -> bytes:
    assert hasattr(public_key, "public_bytes")
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _is_current(certificate: x509.Certificate, now: datetime.datetime) -> bool:
    return certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc


def _reject(reason: str, hresult: int | None = None) -> Decision:
    return Decision(Action.REJECT, reason, hresult=hresult)


def _issue_or_hold(profile: str, context: PolicyContext, reason: str) -> Decision:
    if context.approval is Approval.MANUAL:
        return Decision(Action.PENDING, "manual approval required", profile)
    return Decision(Action.ISSUE, reason, profile)


def _decide_openxpki(request: EnrollmentRequest, context: PolicyContext) -> Decision:
    if request.message_type is MessageType.RENEWAL_REQ:
        # OpenXPKI recognises RenewalReq but does not complete a renewal with it.
        return _reject("RenewalReq is not supported; send a PKCSReq signed by the certificate")
    template = template_name_of(request.csr)
    profile = OPENXPKI_DEFAULT_PROFILE
    if template is not None:
        if template not in OPENXPKI_PROFILE_MAP:
            return _reject(f"unknown profile {template!r}")
        profile = OPENXPKI_PROFILE_MAP[template]
    if is_issued_by(request.signer, context.hierarchy.issuer.certificate):
        return _decide_openxpki_renewal(request, context, profile)
    if context.check_challenge(challenge_of(request.csr)):
        return _issue_or_hold(profile, context, "challenge valid")
    # OpenXPKI's sample policy leaves a request with a wrong challenge to an operator.
    return Decision(Action.PENDING, "challenge missing or invalid", profile)


def _decide_openxpki_renewal(
    request: EnrollmentRequest, context: PolicyContext, profile: str
) -> Decision:
    current = request.signer
    if not _is_current(current, context.now):
        return _reject("renewal signed by a certificate that is not valid now")
    if current.subject != request.csr.subject:
        return _reject("renewal must keep the subject of the current certificate")
    if _public_key_der(current.public_key()) == _public_key_der(request.csr.public_key()):
        return _reject("renewal must use a new key")
    window_start = current.not_valid_after_utc - context.renewal_window
    if context.now < window_start:
        return _reject(f"renewal window opens at {window_start.isoformat()}")
    return _issue_or_hold(profile, context, "renewal inside the renewal window")


def _ndes_template(csr: x509.CertificateSigningRequest) -> str:
    try:
        usage = csr.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return "IPSECIntermediateOffline"
    if usage.digital_signature and not usage.key_encipherment:
        return "NDESSignature"
    if usage.key_encipherment and not usage.digital_signature:
        return "NDESEncryption"
    return "IPSECIntermediateOffline"


def _decide_ndes(request: EnrollmentRequest, context: PolicyContext) -> Decision:
    template = _ndes_template(request.csr)
    if is_issued_by(request.signer, context.hierarchy.issuer.certificate):
        if not _is_current(request.signer, context.now):
            return _reject("renewal signed by an expired certificate", HRESULT_INVALID_ARG)
        return _issue_or_hold(template, context, "renewal signed by the current certificate")
    if request.message_type is MessageType.RENEWAL_REQ:
        return _reject("RenewalReq not signed by a certificate of this CA", HRESULT_INVALID_ARG)
    if not context.check_challenge(challenge_of(request.csr)):
        return _reject("challenge missing, invalid, used or expired", HRESULT_INVALID_PASSWORD)
    return _issue_or_hold(template, context, "challenge valid")


def _decide_plain(request: EnrollmentRequest, context: PolicyContext) -> Decision:
    if is_issued_by(request.signer, context.hierarchy.issuer.certificate):
        if not _is_current(request.signer, context.now):
            return _reject("renewal signed by a certificate that is not valid now")
        return _issue_or_hold("plain", context, "renewal signed by the current certificate")
    if request.message_type is MessageType.RENEWAL_REQ:
        return _reject("RenewalReq not signed by a certificate of this CA")
    if not context.check_challenge(challenge_of(request.csr)):
        return _reject("challenge missing or invalid")
    return _issue_or_hold("plain", context, "challenge valid")


@dataclass(frozen=True, slots=True)
class Personality:
    """The fixed behaviour of one personality."""

    name: str
    scep_path: str
    caps: tuple[str, ...]
    decide: Callable[[EnrollmentRequest, PolicyContext], Decision]
    failure_hresult: bool
    """NDES adds the HRESULT attribute and a one-byte content to failure replies."""
    reply_cipher: ContentCipher | None = None
    """Fixed CertRep content cipher, or None to reply with the request's cipher."""
    key_transport: KeyTransport = KeyTransport.PKCS1V15
    max_query_length: int | None = None
    """Longest GET query string served, or None for no limit.

    A longer query gets HTTP 404.15, as from IIS.
    """


PERSONALITIES: dict[str, Personality] = {
    "openxpki": Personality(
        "openxpki",
        "/scep/generic",
        (
            "Renewal",
            "POSTPKIOperation",
            "SHA-512",
            "SHA-384",
            "SHA-256",
            "SHA-224",
            "SHA-1",
            "DES3",
            "AES",
        ),
        _decide_openxpki,
        failure_hresult=False,
    ),
    "ndes": Personality(
        "ndes",
        "/certsrv/mscep/mscep.dll",
        ("POSTPKIOperation", "Renewal", "SHA-512", "SHA-256", "SHA-1", "DES3"),
        _decide_ndes,
        failure_hresult=True,
        reply_cipher=ContentCipher.TRIPLE_DES_CBC,
        # IIS request filtering rejects query strings over 2048 bytes by
        # default (requestLimits maxQueryString), so NDES clients must POST.
        max_query_length=2048,
    ),
    "plain": Personality(
        "plain",
        "/scep",
        ("POSTPKIOperation", "Renewal", "SHA-256", "SHA-512", "AES", "DES3", "SCEPStandard"),
        _decide_plain,
        failure_hresult=False,
    ),
}
