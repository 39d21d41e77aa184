"""The CA and RA certificates of each personality, created once and kept in DIR/ca."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from tools.scep_ca.errors import StateError
from tools.scep_ca.issuing import (
    CERT_REQUEST_AGENT_OID,
    Credential,
    KeyUsageSet,
    Profile,
    create_intermediate,
    create_ra,
    create_root,
)
from tools.scep_ca.store import StateStore


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """The credentials a personality signs, decrypts and issues with."""

    root: Credential
    issuer: Credential
    """Signs end-entity certificates."""
    reply_signer: Credential
    """Signs CertRep messages."""
    request_decrypter: Credential
    """Its certificate is the recipient of the requests' EnvelopedData."""
    ca_certificates: tuple[x509.Certificate, ...]
    """GetCACert content, in the order the personality sends it."""


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


_OPENXPKI_RA = Profile(
    "scep-ra", KeyUsageSet(digital_signature=True, key_encipherment=True)
)
# NDES enrolls its two RA certificates from the templates "Exchange Enrollment
# Agent (Offline request)" and "CEP Encryption"; both carry the same
# HOSTNAME-MSCEP-RA subject.
_NDES_RA_SIGN = Profile(
    "EnrollmentAgentOffline",
    KeyUsageSet(digital_signature=True),
    (CERT_REQUEST_AGENT_OID,),
    template_name="EnrollmentAgentOffline",
)
_NDES_RA_ENCRYPT = Profile(
    "CEPEncryption",
    KeyUsageSet(key_encipherment=True),
    (CERT_REQUEST_AGENT_OID,),
    template_name="CEPEncryption",
)


def _create_openxpki(store: StateStore) -> None:
    organization = "pki-agent test OpenXPKI"
    root = create_root(_name("Test Root CA", organization))
    issuing = create_intermediate(_name("Test Issuing CA", organization), root)
    ra = create_ra(_name("scep-ca:scep-ra", organization), issuing, _OPENXPKI_RA)
    for role, credential in (("root", root), ("issuing", issuing), ("ra", ra)):
        store.save_credential(role, credential)


def _load_openxpki(store: StateStore) -> Hierarchy:
    root, issuing, ra = (_load(store, role) for role in ("root", "issuing", "ra"))
    # OpenXPKI sends the RA certificate first, then the chain up to the root.
    chain = (ra.certificate, issuing.certificate, root.certificate)
    return Hierarchy(root, issuing, ra, ra, chain)


def _create_ndes(store: StateStore) -> None:
    organization = "pki-agent test NDES"
    root = create_root(_name("SCEPCA-CA", organization))
    ra_name = _name("SCEPCA-MSCEP-RA", organization)
    sign = create_ra(ra_name, root, _NDES_RA_SIGN)
    encrypt = create_ra(ra_name, root, _NDES_RA_ENCRYPT)
    for role, credential in (("root", root), ("ra-sign", sign), ("ra-encrypt", encrypt)):
        store.save_credential(role, credential)


def _load_ndes(store: StateStore) -> Hierarchy:
    root, sign, encrypt = (_load(store, role) for role in ("root", "ra-sign", "ra-encrypt"))
    chain = (sign.certificate, encrypt.certificate, root.certificate)
    return Hierarchy(root, root, sign, encrypt, chain)


# The plain CA has no RA: it also signs CertReps and is the recipient of the
# request envelopes, so its key usage allows both.
_PLAIN_CA_KEY_USAGE = KeyUsageSet(
    digital_signature=True, key_encipherment=True, key_cert_sign=True, crl_sign=True
)


def _create_plain(store: StateStore) -> None:
    root = create_root(_name("Test SCEP CA", "pki-agent test"), _PLAIN_CA_KEY_USAGE)
    store.save_credential("root", root)


def _load_plain(store: StateStore) -> Hierarchy:
    root = _load(store, "root")
    return Hierarchy(root, root, root, root, (root.certificate,))


def _load(store: StateStore, role: str) -> Credential:
    credential = store.load_credential(role)
    if credential is None:
        raise StateError(str(store.root), f"the {role} key or certificate is missing")
    return credential


_BUILDERS = {
    "openxpki": (_create_openxpki, _load_openxpki),
    "ndes": (_create_ndes, _load_ndes),
    "plain": (_create_plain, _load_plain),
}


def load_or_create(store: StateStore, personality: str) -> Hierarchy:
    """Load the personality's CA hierarchy from DIR, creating it on first use."""
    create, load = _BUILDERS[personality]
    if store.load_credential("root") is None:
        create(store)
    return load(store)
