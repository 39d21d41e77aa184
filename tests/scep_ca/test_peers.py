"""Independent SCEP clients against each personality: micromdm's scepclient and certmonger.

These clients share no code with the test CA, so a success here shows that
the CA's messages are readable by other implementations, not only by
`agent.scep`.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

SCEPCLIENT_TIMEOUT = 120
PERSONALITIES = ["openxpki", "ndes", "plain"]


def _challenge_for(ca) -> str:
    """Return a challenge the personality accepts: one-time for ndes, static otherwise."""
    return ca.issue_challenge() if ca.personality == "ndes" else "s3cret"


# certmonger 0.79's scep-submit sends PKIOperation with GET only, even when
# GetCACaps lists POSTPKIOperation, and its query is about 3.6 KB.  IIS rejects
# queries over 2048 bytes by default, so an NDES that serves certmonger needs a
# higher maxQueryString; the ndes CA here gets the same change.
NDES_FOR_GET_CLIENTS = {"max_query_length": 65536}


def _start_ca(scep_ca_factory, personality: str, **options):
    if personality != "ndes":
        options.setdefault("challenge", "s3cret")
    return scep_ca_factory(personality, **options)


def _issuer_of(ca, certificate: x509.Certificate) -> x509.Certificate:
    """Return the CA certificate in DIR/ca that issued `certificate`."""
    for path in sorted((ca.state_dir / "ca").glob("*.cert.pem")):
        candidate = x509.load_pem_x509_certificate(path.read_bytes())
        if candidate.subject == certificate.issuer:
            return candidate
    raise AssertionError(f"no CA certificate named {certificate.issuer.rfc4514_string()}")


def _run_scepclient(
    ca, workdir, common_name: str, challenge: str, fingerprint: str | None = None
) -> subprocess.CompletedProcess:
    command = [
        "scepclient",
        "-server-url", ca.url,
        "-private-key", "key.pem",
        "-certificate", "cert.pem",
        "-cn", common_name,
        "-challenge", challenge,
    ]
    if fingerprint is not None:
        command += ["-ca-fingerprint", fingerprint]
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=SCEPCLIENT_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("personality", PERSONALITIES)
def test_scepclient_enrolls(scep_ca_factory, tmp_path, personality):
    """micromdm scepclient 2.1.0 enrolls, encrypting to every GetCACert certificate."""
    ca = _start_ca(scep_ca_factory, personality)

    result = _run_scepclient(ca, tmp_path, f"scepclient-{personality}", _challenge_for(ca))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "pkiStatus=SUCCESS" in result.stderr
    certificate = x509.load_pem_x509_certificate((tmp_path / "cert.pem").read_bytes())
    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == f"scepclient-{personality}"
    certificate.verify_directly_issued_by(_issuer_of(ca, certificate))


def test_scepclient_pinned_to_ra(scep_ca_factory, tmp_path):
    """scepclient's -ca-fingerprint selects the one certificate it encrypts to and verifies with.

    So the pin must be the RA certificate's SHA-256, not the Root CA's.  With
    the root pinned, scepclient encrypts the request to the root, and the CA
    replies badMessageCheck because only the RA key opens request envelopes.
    NDES signs with one RA certificate and decrypts with another, so a pinned
    scepclient cannot verify an NDES CertRep.  That is a limit of the client
    (its cmd/scepclient passes the selected certificates to both steps), so
    the ndes case runs unpinned above.
    """
    ca = _start_ca(scep_ca_factory, "openxpki")
    ra_der = (ca.state_dir / "ca" / "ra.cert.pem").read_bytes()
    ra = x509.load_pem_x509_certificate(ra_der)
    ra_sha256 = ra.fingerprint(hashes.SHA256()).hex()

    result = _run_scepclient(ca, tmp_path, "scepclient-pinned", "s3cret", ra_sha256)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "cert.pem").exists()


@pytest.mark.slow
def test_scepclient_waits_for_approval(scep_ca_factory, tmp_path):
    """scepclient handles PENDING by sending the same PKCSReq again after 30 s.

    The CA keys requests by transactionID, so the repeated PKCSReq gets the
    certificate that the operator approved in the meantime.
    """
    ca = _start_ca(scep_ca_factory, "openxpki")
    outcome: dict[str, subprocess.CompletedProcess] = {}
    runner = threading.Thread(
        target=lambda: outcome.update(run=_run_scepclient(ca, tmp_path, "waiting", "wrong"))
    )

    runner.start()
    pending = []
    deadline = time.monotonic() + 60
    while not pending and time.monotonic() < deadline:
        time.sleep(0.2)
        pending = ca.pending()
    ca.approve(pending[0]["transaction_id"] if pending else None)
    runner.join(SCEPCLIENT_TIMEOUT)

    assert len(pending) == 1
    assert pending[0]["reason"] == "challenge missing or invalid"
    assert outcome["run"].returncode == 0, outcome["run"].stderr
    assert "pkiStatus=PENDING" in outcome["run"].stderr
    assert "pkiStatus=SUCCESS" in outcome["run"].stderr
    assert (tmp_path / "cert.pem").exists()


@pytest.mark.parametrize("personality", PERSONALITIES)
def test_certmonger_enrolls(scep_ca_factory, certmonger_enroll, personality):
    """certmonger 0.79 fetches GetCACert itself (trust on first use) and enrolls."""
    options = NDES_FOR_GET_CLIENTS if personality == "ndes" else {}
    ca = _start_ca(scep_ca_factory, personality, **options)

    result = certmonger_enroll(ca.url, f"certmonger-{personality}", _challenge_for(ca))

    assert result.returncode == 0, result.stderr + result.log[-2000:]
    assert result.status == "MONITORING"
    certificate = x509.load_pem_x509_certificate(result.certificate_pem)
    assert certificate.subject.rfc4514_string() == f"CN=certmonger-{personality}"
    certificate.verify_directly_issued_by(_issuer_of(ca, certificate))


def test_certmonger_get_blocked_by_ndes_query_limit(scep_ca_factory, certmonger_enroll):
    """With IIS's default 2048-byte query limit, certmonger cannot enroll at NDES.

    The fault is on the client side: certmonger 0.79 ignores POSTPKIOperation
    and sends its pkiMessage in a GET query of about 3.6 KB, which IIS (and
    this CA) reject with HTTP 404.15.  Our own requester and scepclient POST.
    """
    ca = _start_ca(scep_ca_factory, "ndes")

    result = certmonger_enroll(ca.url, "certmonger-get", ca.issue_challenge())

    assert result.returncode == 1
    assert result.status != "MONITORING"
    assert "404.15" in result.log
    assert "rejected, the limit is 2048" in (ca.state_dir / "server.log").read_text()


def test_certmonger_pinned_root(scep_ca_factory, certmonger_enroll):
    """certmonger verifies the CertRep against the Root CA file alone.

    The RA certificate is embedded in every CertRep, so a client that
    pins only the root can still build the chain RA, Issuing CA, Root CA.
    """
    ca = _start_ca(scep_ca_factory, "openxpki")

    result = certmonger_enroll(ca.url, "certmonger-pinned", "s3cret", CM_CA_PEM=str(ca.root_pem))

    assert result.returncode == 0, result.stderr + result.log[-2000:]
    assert result.status == "MONITORING"


def test_certmonger_pending_is_ca_working(scep_ca_factory, certmonger_enroll):
    """certmonger reads our PENDING CertRep and keeps the request as CA_WORKING.

    The peer script returns as soon as certmonger leaves the submitting
    state, and it cannot poll again later, so the approval step is covered
    by scepclient and by our own requester, not by certmonger.
    """
    ca = _start_ca(scep_ca_factory, "openxpki")

    result = certmonger_enroll(ca.url, "certmonger-pending", "wrong")

    assert result.returncode == 1
    assert result.status == "CA_WORKING"
    assert [p["subject"] for p in ca.pending()] == ["CN=certmonger-pending"]


RESUBMIT_ATTEMPTS = 3


def _records(ca) -> list[dict]:
    return [json.loads(p.read_text()) for p in (ca.state_dir / "requests").glob("*.json")]


@pytest.mark.parametrize("personality", ["ndes", "plain"])
def test_certmonger_resubmit_renews(scep_ca_factory, certmonger_enroll, personality):
    """certmonger's resubmit sends a PKCSReq signed with the current certificate.

    certmonger 0.79 keeps the key and the transactionID (derived from the
    key), so the CA sees the finished transactionID again with a new CSR and
    treats it as a new request.
    """
    options = NDES_FOR_GET_CLIENTS if personality == "ndes" else {}
    # certmonger's resubmitted CSR was once the same bytes as its first one,
    # sent 150 ms earlier, and the CA correctly replied to the repeated request
    # with the stored certificate.  Only a run without a repeat tests renewal.
    for _ in range(RESUBMIT_ATTEMPTS):
        ca = _start_ca(scep_ca_factory, personality, **options)
        result = certmonger_enroll(ca.url, "certmonger-renew", _challenge_for(ca),
                                   CM_RESUBMIT="1")
        assert result.returncode == 0, result.stderr + result.log[-2000:]
        if "repeated request" not in (ca.state_dir / "server.log").read_text():
            break
    else:
        pytest.fail(f"certmonger resent an identical CSR in {RESUBMIT_ATTEMPTS} runs")

    issued = sorted((ca.state_dir / "issued").glob("*.pem"))
    assert len(issued) == 2
    records = _records(ca)
    assert len(records) == 1
    assert records[0]["reason"] == "renewal signed by the current certificate"
    renewed = x509.load_pem_x509_certificate(result.certificate_pem)
    assert f"{renewed.serial_number:x}" == records[0]["serial"]


def test_certmonger_resubmit_openxpki_needs_new_key(scep_ca_factory, certmonger_enroll):
    """OpenXPKI renews only with a new key, and certmonger 0.79 resubmits with the old one.

    The renewal is rejected by policy, as OpenXPKI's sample policy would, and
    certmonger keeps the first certificate.  The client's choice causes the
    rejection, not a fault in our CertRep.
    """
    ca = _start_ca(scep_ca_factory, "openxpki", renewal_window="400d")

    result = certmonger_enroll(ca.url, "certmonger-xpki", "s3cret", CM_RESUBMIT="1")

    assert result.returncode == 0, result.stderr + result.log[-2000:]
    assert len(list((ca.state_dir / "issued").glob("*.pem"))) == 1
    records = _records(ca)
    assert [r["status"] for r in records] == ["rejected"]
    assert records[0]["reason"] == "renewal must use a new key"
