"""End-to-end tests against the real micromdm/scep server on 127.0.0.1."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from agent.cli import main
from agent.scep import ber, cms
from agent.scep.attributes import MessageType
from agent.scep.client import (
    Issued,
    PendingTransaction,
    RenewRequest,
    SCEPClient,
    prepare_enrollment,
    renew,
)
from agent.scep.csr import build_csr, parse_dn
from agent.scep.envelope import ContentCipher
from agent.scep.errors import CARejected, TransportError
from agent.scep.keys import generate_key
from agent.scep.message import RequestContext, build_pki_message, new_nonce, parse_cert_rep
from tests.fixtures.micromdm import MicromdmServer

DN = "CN=mycert1.co.uk, C=UK"


@pytest.fixture
def client(micromdm: MicromdmServer) -> SCEPClient:
    """A client for the shared micromdm server."""
    return SCEPClient(micromdm.url)


def _check_certificate(path: Path) -> x509.Certificate:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    # The operator's last RDN comes first in the encoding: C=UK, then CN.
    assert certificate.subject.rdns[0].get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "UK"
    assert certificate.subject.rdns[1].get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "mycert1.co.uk"
    )
    return certificate


@pytest.mark.parametrize("method", ["post", "get"])
@pytest.mark.parametrize("cipher", ["aes128-cbc", "aes256-cbc", "3des-cbc"])
def test_cli_enroll(
    micromdm: MicromdmServer,
    tmp_path: Path,
    method: str,
    cipher: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "enroll"
    argv = [
        "scep",
        "enroll",
        micromdm.url,
        "--dn",
        DN,
        "--san",
        "dns:mycert1.co.uk",
        "--san",
        "ip:192.0.2.10",
        "--san",
        "email:ops@mycert1.co.uk",
        "--san",
        "uri:https://mycert1.co.uk/device",
        "--challenge",
        micromdm.challenge,
        "--cipher",
        cipher,
        "--method",
        method,
        "--fingerprint",
        micromdm.ca_sha256,
        "--out",
        str(out),
    ]

    status = main(argv)

    assert status == 0
    certificate = _check_certificate(out / "cert.pem")
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mycert1.co.uk"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.10"]
    assert san.get_values_for_type(x509.RFC822Name) == ["ops@mycert1.co.uk"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "https://mycert1.co.uk/device"
    ]
    key = serialization.load_pem_private_key((out / "key.pem").read_bytes(), None)
    assert certificate.public_key() == key.public_key()
    assert stat.S_IMODE(os.stat(out / "key.pem").st_mode) == 0o600
    # micromdm's CertRep carries no CA certificate, so the chain comes from GetCACert.
    chain = x509.load_pem_x509_certificates((out / "chain.pem").read_bytes())
    assert chain == [x509.load_pem_x509_certificate(micromdm.ca_pem.read_bytes())]
    printed = capsys.readouterr()
    assert micromdm.challenge not in printed.out + printed.err
    assert f"cipher {cipher}" in printed.out


def test_cli_enroll_console_script(micromdm: MicromdmServer, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("pki-agent")
    env = {**os.environ, "PKI_AGENT_SCEP_CHALLENGE": micromdm.challenge}

    result = subprocess.run(
        [
            str(script),
            "scep",
            "enroll",
            micromdm.url,
            "--dn",
            DN,
            "--fingerprint",
            micromdm.ca_sha256,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert micromdm.challenge not in result.stdout + result.stderr
    _check_certificate(tmp_path / "cert.pem")


def test_cli_wrong_challenge_exit_code(micromdm: MicromdmServer, tmp_path: Path) -> None:
    challenge_file = tmp_path / "challenge"
    challenge_file.write_text("wrong\n")

    status = main(
        [
            "scep",
            "enroll",
            micromdm.url,
            "--dn",
            "CN=rejected",
            "--challenge-file",
            str(challenge_file),
            "--fingerprint",
            micromdm.ca_sha256,
            "--out",
            str(tmp_path / "out"),
        ]
    )

    assert status == 4


def test_cli_fingerprint_mismatch(
    micromdm: MicromdmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["scep", "cacert", micromdm.url, "--fingerprint", "ab" * 32])

    assert status == 1
    assert "CA fingerprint mismatch" in capsys.readouterr().err


def test_cli_caps_and_cacert(
    micromdm: MicromdmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scep", "caps", micromdm.url]) == 0
    assert "POSTPKIOperation" in capsys.readouterr().out

    assert main(["scep", "cacert", micromdm.url, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"sha256: {micromdm.ca_sha256}" in printed
    assert "md5: " in printed
    assert (tmp_path / "ca-0.pem").read_bytes() == micromdm.ca_pem.read_bytes()


@pytest.mark.parametrize(
    "cipher", [ContentCipher.AES128_CBC, ContentCipher.AES256_CBC, ContentCipher.TRIPLE_DES_CBC]
)
def test_client_enroll_ciphers(
    micromdm: MicromdmServer, client: SCEPClient, cipher: ContentCipher
) -> None:
    caps = client.get_ca_caps()
    ca = client.get_ca_cert().verify(micromdm.ca_sha256)
    key = generate_key()

    result = client.enroll(
        ca, caps, prepare_enrollment(key, DN, (), micromdm.challenge, cipher=cipher)
    )

    assert isinstance(result, Issued)
    assert result.certificate.public_key() == key.public_key()
    assert result.certificate.subject == parse_dn(DN)


def test_client_wrong_challenge(micromdm: MicromdmServer, client: SCEPClient) -> None:
    caps = client.get_ca_caps()
    ca = client.get_ca_cert().verify(micromdm.ca_sha256)

    with pytest.raises(CARejected) as caught:
        client.enroll(ca, caps, prepare_enrollment(generate_key(), DN, (), "wrong"))

    assert caught.value.fail_info == "badRequest"


@pytest.mark.parametrize("mode", list(RenewRequest))
def test_client_renewal(micromdm: MicromdmServer, client: SCEPClient, mode: RenewRequest) -> None:
    caps = client.get_ca_caps()
    ca = client.get_ca_cert().verify(micromdm.ca_sha256)
    key = generate_key()
    first = client.enroll(ca, caps, prepare_enrollment(key, DN, (), micromdm.challenge))
    assert isinstance(first, Issued)
    new_key = generate_key()
    # micromdm checks the challenge on every request, renewals included.
    csr = build_csr(new_key, DN, challenge_password=micromdm.challenge)

    renewed = renew(client, ca, caps, new_key, csr, first.certificate, key, mode)

    assert isinstance(renewed, Issued)
    assert renewed.certificate != first.certificate
    assert renewed.certificate.serial_number != first.certificate.serial_number
    assert renewed.certificate.public_key() == new_key.public_key()


def test_reply_is_des_sha1_ber(micromdm: MicromdmServer, client: SCEPClient) -> None:
    ca = client.get_ca_cert().verify(micromdm.ca_sha256)
    request = prepare_enrollment(generate_key(), DN, (), micromdm.challenge)
    assert isinstance(request.private_key, rsa.RSAPrivateKey)
    context = RequestContext(
        request.transaction_id,
        new_nonce(),
        request.signer_certificate,
        request.signer_key,
        request.signer_certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    message = build_pki_message(
        MessageType.PKCS_REQ,
        request.csr.public_bytes(serialization.Encoding.DER),
        ca.recipient,
        ContentCipher.AES128_CBC,
        "sha256",
        context,
    )

    raw = client.transport.post_pki_message(message).body
    signed = cms.verify_signed_data(raw, ca.certificates)
    assert signed.content is not None
    envelope = ber.load_content_info(signed.content, "enveloped_data", parse_all=False)
    algorithm = envelope["content"]["encrypted_content_info"]["content_encryption_algorithm"]

    assert signed.digest_algorithm == "sha1"
    assert algorithm["algorithm"].native == "des"
    with pytest.raises(ValueError, match="constructed"):
        envelope["content"]["encrypted_content_info"]["encrypted_content"].native  # noqa: B018
    reply = parse_cert_rep(raw, ca, context)
    assert reply.certificate is not None
    assert reply.certificate.public_key() == request.private_key.public_key()


def test_cert_poll_is_http_500(micromdm: MicromdmServer, client: SCEPClient) -> None:
    caps = client.get_ca_caps()
    ca = client.get_ca_cert().verify(micromdm.ca_sha256)
    request = prepare_enrollment(generate_key(), DN, (), micromdm.challenge)
    issued = client.enroll(ca, caps, request)
    assert isinstance(issued, Issued)
    pending = PendingTransaction(
        request.transaction_id,
        request.csr.subject.public_bytes(),
        issued.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        request.signer_certificate,
        request.signer_key,
    )

    with pytest.raises(TransportError) as caught:
        client.poll(ca, caps, pending)

    assert caught.value.status == 500


def test_get_cert_is_http_500(micromdm: MicromdmServer, client: SCEPClient) -> None:
    caps = client.get_ca_caps()
    ca = client.get_ca_cert().verify(micromdm.ca_sha256)
    key = generate_key()
    issued = client.enroll(ca, caps, prepare_enrollment(key, DN, (), micromdm.challenge))
    assert isinstance(issued, Issued)

    with pytest.raises(TransportError) as caught:
        client.get_cert(ca, caps, issued.certificate.serial_number, issued.certificate, key)

    assert caught.value.status == 500
