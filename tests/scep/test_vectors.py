"""Tests against public SCEP captures from jscep, micromdm, smallstep, NDES and OpenXPKI."""

from __future__ import annotations

import base64
import datetime

import pytest
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.scep import attributes as attrs
from agent.scep import cms
from agent.scep.cacerts import CACertificates, fingerprint
from agent.scep.errors import ProtocolError
from tests.scep.conftest import data_file, pem_certificate

SIGNED_CAPTURES = [
    "jscep/scep_req2.der",
    "jscep/scep_resp2.der",
    "micromdm/PKCSReq.der",
    "smallstep/CertRep.der",
    "smallstep/CertRep_NoCertificatesForSigners.der",
]


def _ndes_failure() -> bytes:
    lines = data_file("ndes/ndes-certrep-failure.pem").decode().splitlines()
    return base64.b64decode("".join(line for line in lines if not line.startswith("-----")))


@pytest.mark.parametrize("name", SIGNED_CAPTURES)
def test_capture_parses(name: str) -> None:
    content, attributes = cms.read_signed_data(data_file(name))

    assert content
    assert attrs.text_value(attributes, attrs.MESSAGE_TYPE) in {"3", "19"}
    assert attrs.text_value(attributes, attrs.TRANSACTION_ID)


@pytest.mark.parametrize(
    "name",
    [
        "jscep/scep_req2.der",
        "jscep/scep_resp2.der",
        "micromdm/PKCSReq.der",
        "smallstep/CertRep.der",
    ],
)
def test_capture_verifies_with_embedded(name: str) -> None:
    message = cms.verify_signed_data(data_file(name))

    assert message.content


def test_jscep_envelopes_parse() -> None:
    for name in ("jscep/scep_req1.der", "jscep/scep_resp1.der"):
        info = cms.ber.load_content_info(data_file(name), "enveloped_data", parse_all=False)
        assert info["content"]["recipient_infos"][0].name == "ktri"


def test_jscep_inner_payloads_parse() -> None:
    request = x509.load_der_x509_csr(data_file("jscep/scep_req0.der"))
    issued = cms.parse_certs_only(data_file("jscep/scep_resp0.der"))

    assert request.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == (
        "Test SCEP PKI user"
    )
    assert len(issued) == 1
    assert issued[0].public_key() == request.public_key()


def test_jscep_reply_answers_request() -> None:
    request = cms.verify_signed_data(data_file("jscep/scep_req2.der"))
    reply = cms.verify_signed_data(data_file("jscep/scep_resp2.der"))

    sender_nonce = attrs.octets_value(request.attributes, attrs.SENDER_NONCE)
    assert attrs.octets_value(reply.attributes, attrs.RECIPIENT_NONCE) == sender_nonce
    assert attrs.octets_value(reply.attributes, attrs.SENDER_NONCE) is None
    assert attrs.text_value(reply.attributes, attrs.PKI_STATUS) == "0"


def test_smallstep_certrep_ber_attributes() -> None:
    message = cms.verify_signed_data(data_file("smallstep/CertRep.der"))
    ca = pem_certificate("micromdm/ca.pem")

    assert message.signer == ca
    assert message.digest_algorithm == "sha1"
    assert attrs.text_value(message.attributes, attrs.TRANSACTION_ID) == (
        "A13090761A30F66664F85D37433D2065E1112BA1"
    )
    assert attrs.octets_value(message.attributes, attrs.RECIPIENT_NONCE) == bytes.fromhex(
        "ae7fe8816cc6bedd"
    )


def test_smallstep_certrep_des_envelope_found() -> None:
    message = cms.verify_signed_data(data_file("smallstep/CertRep.der"))
    assert message.content is not None
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    # The recipient's key is not published, so decryption must fail cleanly.
    with pytest.raises(ProtocolError, match="cannot decrypt"):
        cms.open_enveloped_data(message.content, other)


def test_ndes_reply_without_certificates() -> None:
    data = data_file("smallstep/CertRep_NoCertificatesForSigners.der")
    ra = pem_certificate("smallstep/ca2.pem")

    with pytest.raises(ProtocolError, match="signer certificate not found"):
        cms.verify_signed_data(data)
    message = cms.verify_signed_data(data, [ra])

    assert message.signer == ra
    assert attrs.text_value(message.attributes, attrs.PKI_STATUS) == "0"
    assert attrs.text_value(message.attributes, attrs.NDES_STATUS_TEXT) == "Issued"


def test_micromdm_pkcsreq_decrypts() -> None:
    message = cms.verify_signed_data(data_file("micromdm/PKCSReq.der"))
    key = serialization.load_pem_private_key(data_file("micromdm/ca-key-unencrypted.pem"), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert message.content is not None

    inner = cms.open_enveloped_data(message.content, key, pem_certificate("micromdm/ca.pem"))
    request = asn1_csr.CertificationRequest.load(inner)

    common_name = request["certification_request_info"]["subject"].native["common_name"]
    assert common_name.startswith("com.apple.security.scep.063D7953")
    assert attrs.octets_value(message.attributes, attrs.SENDER_NONCE) == bytes.fromhex(
        "ae7fe8816cc6bedd"
    )


def test_ndes_failure_parses() -> None:
    content, attributes = cms.read_signed_data(_ndes_failure())

    assert content == b"\x00"
    assert attrs.text_value(attributes, attrs.PKI_STATUS) == "2"
    assert attrs.FailInfo(attrs.text_value(attributes, attrs.FAIL_INFO)).label == "badRequest"
    assert attrs.text_value(attributes, attrs.NDES_HRESULT) == "-2147024809"


def test_ndes_failure_signer_unknown() -> None:
    with pytest.raises(ProtocolError, match="signer certificate not found"):
        cms.verify_signed_data(_ndes_failure())


def test_openxpki_chain_roles() -> None:
    root = pem_certificate("openxpki/OpenXPKI_Root_CA.crt")
    issuing = pem_certificate("openxpki/OpenXPKI_Issuing_CA.crt")
    ra = pem_certificate("openxpki/OpenXPKI_SCEP_RA.crt")
    at = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)

    ca = CACertificates((ra, issuing, root)).verify(fingerprint(root), "sha256", at)

    assert ca.root == root
    assert ca.intermediates == (issuing,)
    assert ca.recipient == ra
    assert ca.signer == ra
    assert ca.issuing_ca == issuing
    assert fingerprint(root) == ("7d3caac661488b0b093e2a6dbe56caa77766e228e827bb5e130d9711d008b099")


def test_micromdm_ca_fingerprints() -> None:
    ca = pem_certificate("micromdm/ca.pem")

    assert fingerprint(ca) == "46c712ea43dae9fcbe309cd52442104d23e196ce56516cdeeca093e443f1c528"
    assert fingerprint(ca, "md5") == "35872a146af7b6e72b79d77178dfe2eb"
