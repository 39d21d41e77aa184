"""The SCEP worker: discovery labels, requests, polling after a restart, renewal and expiry."""

from __future__ import annotations

import datetime
import itertools
import stat
from pathlib import Path

import pytest
from cryptography import x509

from agent.enrollment.config import EnrollConfig, RenewRequest, ServerConfig, SubjectAltNames
from agent.enrollment.outcomes import ServerContext, StepKind, StepRequest
from agent.enrollment.state import ServerStatus
from agent.enrollment.worker import SCEPWorker, discovery_status
from agent.pki import CARole, PKIStore, subject_hash
from agent.scep import errors as scep_errors
from tests.enrollment.fake_ca import FakeCA
from tests.pki.factory import make_certificate, make_name, rsa_key

PASSWORD = "challenge-never-stored"
NOW = datetime.datetime.now(datetime.UTC)


def new_worker(path: Path, ca: FakeCA) -> SCEPWorker:
    store = PKIStore(path)
    store.load()
    keys = iter(range(100, 200))
    return SCEPWorker(store, client_factory=ca.client,
                      key_factory=lambda size: rsa_key(next(keys), size))


def server_config(ca: FakeCA, renew_request: RenewRequest = RenewRequest.RENEWAL_REQ
                  ) -> ServerConfig:
    return ServerConfig(id=1, label="win-srv", url="http://127.0.0.1:9/scep",
                        fingerprint=ca.fingerprint(), renew_request=renew_request)


def enroll_config(threshold: int = 80) -> EnrollConfig:
    return EnrollConfig(name="mycert2", server="win-srv", dn="CN=mycert2.co.uk, C=UK",
                        password=PASSWORD, renewal_threshold=threshold,
                        san=SubjectAltNames(ip_address=("192.168.100.102",)))


def context_of(worker: SCEPWorker, server: ServerConfig) -> ServerContext:
    result = worker.discover(server)
    assert result.status is ServerStatus.RESPONDING
    assert result.context is not None
    return result.context


def test_discovery_stores_labelled_rows(tmp_path: Path) -> None:
    ca = FakeCA()
    worker = new_worker(tmp_path, ca)

    result = worker.discover(server_config(ca))

    rows = {row.label: row for row in worker.store.ca_certificates()}
    intermediate = f"win-srv-1.{subject_hash(ca.issuing)}"
    assert sorted(rows) == sorted(["win-srv", "win-srv+ra", "win-srv+ra-2", intermediate])
    assert rows["win-srv"].certificate == ca.root
    assert rows["win-srv"].role is CARole.ROOT
    assert rows[intermediate].role is CARole.INTERMEDIATE
    assert rows["win-srv+ra"].certificate == ca.ras[1]
    assert rows["win-srv+ra-2"].certificate == ca.ras[0]
    assert result.encryption_certificate == "win-srv+ra"
    assert result.signer_certificate == "win-srv+ra-2"
    assert result.capabilities == ("POSTPKIOperation", "Renewal", "AES", "SHA-256")


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_discovery_ra_labels_by_role(tmp_path: Path, order: tuple[int, ...]) -> None:
    ca = FakeCA(cacert_order=order)
    worker = new_worker(tmp_path, ca)

    worker.discover(server_config(ca))

    rows = {row.label: row for row in worker.store.ca_certificates()}
    # The encryption RA (the recipient of requests) comes first, the signer second.
    assert rows["win-srv+ra"].certificate == ca.ras[1]
    assert rows["win-srv+ra-2"].certificate == ca.ras[0]


@pytest.mark.parametrize(("error", "status"), [
    (scep_errors.TransportError("GetCACert", "http://h/scep", "connection refused by h:80"),
     ServerStatus.SERVER_NOT_REACHABLE),
    (scep_errors.TransportError("GetCACert", "http://h/scep", "HTTP 500 from http://h/scep",
                                status=500), ServerStatus.CA_NOT_DOWNLOADED),
    (scep_errors.TransportError("GetCACert", "http://h/scep", "reply too large", answered=True),
     ServerStatus.CA_NOT_DOWNLOADED),
    (scep_errors.CANotDownloaded("empty reply"), ServerStatus.CA_NOT_DOWNLOADED),
    (scep_errors.FingerprintMismatch("sha256", "aa", "bb"),
     ServerStatus.CA_FINGERPRINT_MISMATCH),
    (scep_errors.NoRACertificate("encryption"), ServerStatus.NO_RA_CERT_FOUND),
    (scep_errors.ChainError("CN=ra", "expired"), ServerStatus.CA_NOT_DOWNLOADED),
    (scep_errors.ProtocolError("malformed"), ServerStatus.CA_NOT_DOWNLOADED),
], ids=["refused", "http-500", "too-large", "empty", "fingerprint", "no-ra", "chain",
        "protocol"])
def test_discovery_status_by_error(error: scep_errors.SCEPError, status: ServerStatus) -> None:
    assert discovery_status(error) is status


def test_discovery_conflict_leaves_table(tmp_path: Path) -> None:
    ca = FakeCA()
    worker = new_worker(tmp_path, ca)
    other = make_certificate(make_name("Someone else's RA"), key=rsa_key(30))
    worker.store.store_ca_certificate("win-srv+ra-2", "old-srv", CARole.RA, other)

    result = worker.discover(server_config(ca))

    assert result.status is ServerStatus.CA_LABEL_CONFLICT
    assert result.message is not None
    assert "win-srv+ra-2" in result.message
    assert [row.label for row in worker.store.ca_certificates()] == ["win-srv+ra-2"]


def test_discovery_fingerprint_mismatch(tmp_path: Path) -> None:
    ca = FakeCA()
    worker = new_worker(tmp_path, ca)
    server = ServerConfig(id=1, label="win-srv", url="http://127.0.0.1:9/scep",
                          fingerprint="ab" * 32)

    result = worker.discover(server)

    assert result.status is ServerStatus.CA_FINGERPRINT_MISMATCH
    assert worker.store.ca_certificates() == ()


def test_restart_polls_same_transaction(tmp_path: Path) -> None:
    ca = FakeCA(mode="pending")
    worker = new_worker(tmp_path, ca)
    context = context_of(worker, server_config(ca))
    first = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))
    assert first.kind is StepKind.PENDING

    restarted = new_worker(tmp_path, ca)
    ca.mode = "issue"
    second = restarted.step(StepRequest(config=enroll_config(),
                                        context=context_of(restarted, server_config(ca)),
                                        now=NOW))

    assert [message.message_type for message in ca.messages] == ["PKCS_REQ", "CERT_POLL"]
    assert ca.messages[1].transaction_id == ca.messages[0].transaction_id
    assert ca.messages[1].signer == ca.messages[0].signer
    assert ca.messages[1].subject_der == ca.messages[0].subject_der
    assert second.kind is StepKind.ISSUED
    assert second.transaction_id == first.transaction_id


def _contains_password(data: bytes) -> bool:
    # The pending transaction stores the request's DER in hex.
    return PASSWORD.encode() in data or PASSWORD.encode().hex().encode() in data


def test_password_only_in_private_files(tmp_path: Path) -> None:
    ca = FakeCA(mode="pending")
    worker = new_worker(tmp_path, ca)
    context = context_of(worker, server_config(ca))

    worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    with_password = [path for path in files if _contains_password(path.read_bytes())]
    assert [path.name for path in with_password] == ["pending-2.json"]
    for path in with_password:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_pending_file_contains_request(tmp_path: Path) -> None:
    ca = FakeCA(mode="pending")
    worker = new_worker(tmp_path, ca)
    context = context_of(worker, server_config(ca))

    worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))

    transaction = worker.store.pending_transaction("mycert2")
    assert transaction is not None
    request = x509.load_der_x509_csr(bytes.fromhex(transaction["request"]))
    assert request.subject.public_bytes() == ca.messages[0].subject_der
    assert bytes.fromhex(transaction["issuer"]) == ca.issuing.subject.public_bytes()
    assert transaction["transaction_id"] == ca.messages[0].transaction_id


def issue_first(tmp_path: Path, ca: FakeCA, server: ServerConfig,
                threshold: int = 80) -> tuple[SCEPWorker, ServerContext]:
    worker = new_worker(tmp_path, ca)
    context = context_of(worker, server)
    result = worker.step(StepRequest(config=enroll_config(threshold), context=context, now=NOW))
    assert result.kind is StepKind.ISSUED
    return worker, context


@pytest.mark.parametrize(("style", "message_type"), [
    (RenewRequest.RENEWAL_REQ, "RENEWAL_REQ"),
    (RenewRequest.PKCS_REQ, "PKCS_REQ"),
])
def test_renewal_signed_with_current_certificate(tmp_path: Path, style: RenewRequest,
                                                 message_type: str) -> None:
    ca = FakeCA()
    worker, context = issue_first(tmp_path, ca, server_config(ca, style))
    current = worker.store.lineage("mycert2")
    assert current is not None
    later = NOW + datetime.timedelta(days=9)

    result = worker.step(StepRequest(config=enroll_config(), context=context, now=later))

    assert result.kind is StepKind.ISSUED
    assert result.renewal
    assert ca.messages[-1].message_type == message_type
    assert ca.messages[-1].signer == current.certificate
    renewed = worker.store.lineage("mycert2")
    assert renewed is not None
    assert renewed.certificate != current.certificate
    assert renewed.key_file != current.key_file


def test_renewal_not_due_is_idle(tmp_path: Path) -> None:
    ca = FakeCA()
    worker, context = issue_first(tmp_path, ca, server_config(ca))

    result = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))

    assert result.kind is StepKind.IDLE
    assert len(ca.messages) == 1


def test_renew_now_ignores_threshold(tmp_path: Path) -> None:
    ca = FakeCA()
    worker, context = issue_first(tmp_path, ca, server_config(ca))

    result = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW,
                                     renew_now=True))

    assert result.kind is StepKind.ISSUED
    assert ca.messages[-1].message_type == "RENEWAL_REQ"


def test_renewal_rejection_keeps_certificate(tmp_path: Path) -> None:
    ca = FakeCA()
    worker, context = issue_first(tmp_path, ca, server_config(ca, RenewRequest.PKCS_REQ))
    current = worker.store.lineage("mycert2")
    assert current is not None
    ca.mode = "reject"

    result = worker.step(StepRequest(config=enroll_config(), context=context,
                                     now=NOW + datetime.timedelta(days=9)))

    assert result.kind is StepKind.REJECTED
    assert result.renewal
    assert result.fail_info == "badRequest"
    kept = worker.store.lineage("mycert2")
    assert kept is not None
    assert kept.certificate == current.certificate
    assert kept.rejection is None


def test_expired_certificate_enrolls_again(tmp_path: Path) -> None:
    ca = FakeCA()
    worker, context = issue_first(tmp_path, ca, server_config(ca))
    current = worker.store.lineage("mycert2")
    assert current is not None

    result = worker.step(StepRequest(config=enroll_config(), context=context,
                                     now=NOW + datetime.timedelta(days=30)))

    assert result.kind is StepKind.ISSUED
    assert not result.renewal
    assert ca.messages[-1].message_type == "PKCS_REQ"
    assert ca.messages[-1].signer != current.certificate
    assert ca.messages[-1].signer.subject == ca.messages[-1].signer.issuer


def test_rejection_is_remembered(tmp_path: Path) -> None:
    ca = FakeCA(mode="reject")
    worker = new_worker(tmp_path, ca)
    context = context_of(worker, server_config(ca))
    first = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))
    assert first.kind is StepKind.REJECTED
    assert "check the challenge password" in first.reason

    restarted = new_worker(tmp_path, ca)
    again = restarted.step(StepRequest(config=enroll_config(), context=context, now=NOW))

    assert again.kind is StepKind.IDLE
    assert len(ca.messages) == 1


def test_rejection_hresult_in_hex(tmp_path: Path) -> None:
    ca = FakeCA(mode="reject", hresult="-2147024809")
    worker = new_worker(tmp_path, ca)
    context = context_of(worker, server_config(ca))

    result = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))

    assert result.hresult == "0x80070057"
    assert "HRESULT 0x80070057 (-2147024809)" in result.reason
    lineage = new_worker(tmp_path, ca).store.lineage("mycert2")
    assert lineage is not None
    assert lineage.rejection is not None
    assert lineage.rejection["hresult"] == "0x80070057"


def test_key_size_from_configuration(tmp_path: Path) -> None:
    ca = FakeCA()
    store = PKIStore(tmp_path)
    store.load()
    worker = SCEPWorker(store, client_factory=ca.client)
    context = context_of(worker, server_config(ca))
    config = EnrollConfig(name="mycert2", server="win-srv", dn="CN=mycert2", keysize=3072)

    result = worker.step(StepRequest(config=config, context=context, now=NOW))

    assert result.kind is StepKind.ISSUED
    lineage = store.lineage("mycert2")
    assert lineage is not None
    assert lineage.key_size == 3072
    assert result.certificate is not None
    assert result.certificate.public_key().key_size == 3072  # type: ignore[union-attr]


def test_unreadable_pending_not_replaced(tmp_path: Path) -> None:
    ca = FakeCA(mode="pending")
    worker = new_worker(tmp_path, ca)
    context = context_of(worker, server_config(ca))
    worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))
    lineage = worker.store.lineage("mycert2")
    assert lineage is not None
    assert lineage.pending_file is not None
    (tmp_path / "enrollments" / "mycert2" / lineage.pending_file).write_text('{"broken": 1}')

    result = worker.step(StepRequest(config=enroll_config(), context=context, now=NOW))

    assert result.kind is StepKind.ERROR
    assert "use re-enroll" in result.reason
    assert len(ca.messages) == 1
    assert worker.store.lineage("mycert2") == lineage
