"""Tests of the SCEP client against the mock CA on 127.0.0.1."""

from __future__ import annotations

import base64
import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep import ber, cms
from agent.scep.attributes import MessageType, PKIStatus
from agent.scep.cacerts import CACertificates
from agent.scep.capabilities import Capabilities
from agent.scep.client import (
    Issued,
    Pending,
    PendingTransaction,
    RenewRequest,
    SCEPClient,
    prepare_enrollment,
    renew,
)
from agent.scep.csr import build_csr
from agent.scep.errors import (
    CARejected,
    InvalidInput,
    ProtocolError,
    TransportError,
    hresult_hex,
)
from agent.scep.transport import encode_get_message, operation_url
from tests.scep.conftest import PKIFactory
from tests.scep.mock_ca import MockCA, PKIRequest, Reply

DN = "CN=device.example, O=Example, C=UK"


def _setup(mock_ca: MockCA) -> tuple[SCEPClient, Capabilities]:
    client = SCEPClient(mock_ca.url, connect_timeout=2.0, read_timeout=5.0)
    return client, client.get_ca_caps()


def _trusted(client: SCEPClient, mock_ca: MockCA):
    from agent.scep.cacerts import fingerprint

    return client.get_ca_cert().verify(fingerprint(mock_ca.ca.certificate))


def test_get_encoding_escapes_base64() -> None:
    payload = b"\xfb\xff\xbf>?"
    encoded = base64.b64encode(payload).decode()
    assert "+" in encoded
    assert "/" in encoded

    value = encode_get_message(payload)

    assert "+" not in value
    assert "/" not in value
    assert "=" not in value
    assert "%2B" in value
    assert "%2F" in value
    assert base64.b64decode(unquote(value)) == payload


def test_enroll_post(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    key = pki.key()

    result = client.enroll(ca, caps, prepare_enrollment(key, DN, ("dns:device.example",), "pw"))

    assert isinstance(result, Issued)
    assert result.certificate.public_key() == key.public_key()
    assert result.chain == (mock_ca.ca.certificate,)
    post = mock_ca.requests[-1]
    assert post.method == "POST"
    assert post.headers["Content-Type"] == "application/x-pki-message"
    assert int(post.headers["Content-Length"]) == len(post.body)
    assert mock_ca.pki_requests[-1].message_type == MessageType.PKCS_REQ
    assert mock_ca.pki_requests[-1].cipher == "aes128_cbc"
    assert mock_ca.pki_requests[-1].digest_algorithm == "sha256"
    assert len(mock_ca.pki_requests[-1].sender_nonce) == 16


def test_enroll_get(mock_ca: MockCA, pki: PKIFactory) -> None:
    mock_ca.caps = b"SHA-1\nDES3\n"
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)

    result = client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert isinstance(result, Issued)
    request = mock_ca.requests[-1]
    assert request.method == "GET"
    query = request.path.split("?", 1)[1]
    assert query.startswith("operation=PKIOperation&message=")
    message = query.split("message=", 1)[1]
    assert not set("+/=\n") & set(message)
    assert mock_ca.pki_requests[-1].cipher == "tripledes_3key"
    assert mock_ca.pki_requests[-1].digest_algorithm == "sha1"


def test_caps_failure_gives_empty(mock_ca: MockCA) -> None:
    mock_ca.caps_status = 500

    _, caps = _setup(mock_ca)

    assert caps == Capabilities()


def test_http_500_is_transport_error(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(
        PKIStatus.FAILURE, http_status=500, body=b"boom: db down"
    )

    with pytest.raises(TransportError) as caught:
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert caught.value.status == 500
    assert "boom: db down" in str(caught.value)
    assert caught.value.retryable


def test_non_cms_body_is_transport_error(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, body=b"<html>maintenance</html>")

    with pytest.raises(TransportError, match="not a CMS message"):
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))


@contextmanager
def _redirecting_front(status: int, target: str) -> Iterator[str]:
    """Run a server on 127.0.0.1 that redirects every request to `target` with its query."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _redirect(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(status)
            self.send_header("Location", f"{target}?{self.path.partition('?')[2]}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _redirect

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/old"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_enroll_through_307_redirect(mock_ca: MockCA, pki: PKIFactory) -> None:
    with _redirecting_front(307, mock_ca.url) as front:
        client = SCEPClient(front, connect_timeout=2.0, read_timeout=5.0)
        caps = client.get_ca_caps()
        ca = _trusted(client, mock_ca)

        result = client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert isinstance(result, Issued)
    assert mock_ca.requests[-1].method == "POST"


@pytest.mark.parametrize("status", [301, 302, 303])
def test_enroll_stops_at_redirect_to_get(mock_ca: MockCA, pki: PKIFactory, status: int) -> None:
    with _redirecting_front(status, mock_ca.url) as front:
        client = SCEPClient(front, connect_timeout=2.0, read_timeout=5.0)
        caps = client.get_ca_caps()
        ca = _trusted(client, mock_ca)

        with pytest.raises(TransportError) as caught:
            client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert caught.value.status == status
    assert f"Use {mock_ca.url} as the server URL" in str(caught.value)
    assert mock_ca.pki_requests == []
    assert [request.method for request in mock_ca.requests] == ["GET", "GET"]


def test_non_cms_body_names_redirect_target(mock_ca: MockCA, pki: PKIFactory) -> None:
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, body=b"<html>maintenance</html>")
    with _redirecting_front(308, mock_ca.url) as front:
        client = SCEPClient(front, connect_timeout=2.0, read_timeout=5.0)
        caps = client.get_ca_caps()
        ca = _trusted(client, mock_ca)

        with pytest.raises(TransportError) as caught:
            client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert str(caught.value) == (
        f"SCEP PKIOperation failed: reply from {mock_ca.url} is not a CMS message")


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SCEPClient(f"http://127.0.0.1:{port}/scep", connect_timeout=1.0, read_timeout=1.0)

    with pytest.raises(TransportError) as caught:
        client.get_ca_cert()

    assert caught.value.status is None
    assert client.get_ca_caps() == Capabilities()


def test_read_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
    thread.start()
    client = SCEPClient(f"http://127.0.0.1:{listener.getsockname()[1]}/scep", read_timeout=0.2)
    try:
        with pytest.raises(TransportError, match="timed out"):
            client.get_ca_cert()
    finally:
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_ndes_failure_with_hresult(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(
        PKIStatus.FAILURE, fail_info="2", hresult="-2147024809", content=b"\x00"
    )

    with pytest.raises(CARejected) as caught:
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert caught.value.fail_info == "badRequest"
    assert caught.value.hresult == "-2147024809"
    assert "HRESULT 0x80070057 (-2147024809)" in str(caught.value)


@pytest.mark.parametrize(("code", "label"), [("0", "badAlg"), ("4", "badCertId"), ("99", "99")])
def test_fail_info_values(mock_ca: MockCA, pki: PKIFactory, code: str, label: str) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, fail_info=code)

    with pytest.raises(CARejected) as caught:
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert caught.value.fail_info == label


def test_pending_then_poll(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.PENDING)
    request = prepare_enrollment(pki.key(), DN, (), "very-secret-challenge")

    pending = client.enroll(ca, caps, request)
    assert isinstance(pending, Pending)
    saved = pending.transaction.to_json()
    assert json.loads(saved)["transaction_id"] == request.transaction_id
    assert json.loads(saved)["request"] == request.csr.public_bytes(Encoding.DER).hex()

    restored = PendingTransaction.from_json(saved)
    assert restored.request_der == request.csr.public_bytes(Encoding.DER)
    assert "very-secret-challenge" not in repr(restored)
    assert b"very-secret-challenge".hex() not in repr(restored)
    subject = request.csr.subject
    mock_ca.decide = lambda poll: mock_ca.issue_for(subject, request.private_key.public_key())
    result = client.poll(ca, caps, restored)

    assert isinstance(result, Issued)
    assert result.certificate.public_key() == request.private_key.public_key()
    poll = mock_ca.pki_requests[-1]
    assert poll.message_type == MessageType.CERT_POLL
    assert poll.transaction_id == request.transaction_id
    assert poll.signer == request.signer_certificate


def test_poll_names_stored_request(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.PENDING)
    request = prepare_enrollment(pki.key(), DN, (), "pw")
    pending = client.enroll(ca, caps, request)
    assert isinstance(pending, Pending)
    restored = PendingTransaction.from_json(pending.transaction.to_json())
    # The CA's name changed after the request, and the subject field is stale:
    # the poll must still name the issuer and subject that the request named.
    other_ca = pki.issue("Renamed Issuing CA", ca=True).certificate
    changed = dataclasses.replace(ca, issuing_ca=other_ca)
    stale = dataclasses.replace(restored, subject_der=b"\x30\x00")

    client.poll(changed, caps, stale)

    poll = mock_ca.pki_requests[-1]
    assert poll.message_type == MessageType.CERT_POLL
    # IssuerAndSubject is a SEQUENCE of the issuer Name and the subject Name.
    names = ber.read_tlv(poll.payload).content
    issuer_end = ber.read_tlv(names).end
    assert names[:issuer_end] == ca.issuing_ca.subject.public_bytes()
    assert names[issuer_end:] == request.csr.subject.public_bytes()


def test_pending_json_without_request(pki: PKIFactory) -> None:
    signer = pki.issue("signer")
    transaction = PendingTransaction("tx", b"\x30\x00", b"", signer.certificate, signer.key)
    older = json.loads(transaction.to_json())
    del older["request"], older["issuer"]

    restored = PendingTransaction.from_json(json.dumps(older))

    assert restored.request_der == b""
    assert restored.issuer_der == b""


@pytest.mark.parametrize(("field", "value"), [("request", "3000"), ("issuer", "31"),
                                              ("request", "zz")])
def test_pending_json_bad_request(pki: PKIFactory, field: str, value: str) -> None:
    signer = pki.issue("signer")
    saved = json.loads(PendingTransaction("tx", b"", b"", signer.certificate,
                                          signer.key).to_json())
    saved[field] = value

    with pytest.raises(ProtocolError, match="pending transaction"):
        PendingTransaction.from_json(json.dumps(saved))


def test_pending_json_invalid() -> None:
    with pytest.raises(ProtocolError, match="pending transaction"):
        PendingTransaction.from_json('{"transaction_id": "x"}')


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"transaction_id": "other"}, "transactionID mismatch"),
        ({"recipient_nonce": b"n" * 16}, "recipientNonce mismatch"),
    ],
)
def test_reply_correlation(
    mock_ca: MockCA, pki: PKIFactory, change: dict[str, object], problem: str
) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.PENDING, **change)  # type: ignore[arg-type]

    with pytest.raises(ProtocolError, match=problem):
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))


# A certificate that the CA issued to another device must not sign a CertRep either.
@pytest.mark.parametrize("issued_by_ca", [False, True], ids=["self-issued", "other-device"])
def test_untrusted_signer(mock_ca: MockCA, pki: PKIFactory, issued_by_ca: bool) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    impostor = pki.issue("impostor", mock_ca.ca if issued_by_ca else None)
    mock_ca.decide = lambda request: Reply(PKIStatus.PENDING, signer=impostor)

    with pytest.raises(ProtocolError, match="signer is not trusted"):
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))


def test_success_without_our_certificate(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.SUCCESS, certificates=[mock_ca.ca.certificate])

    with pytest.raises(ProtocolError, match="without a certificate for our key"):
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))


def test_success_without_envelope(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.SUCCESS, content=b"")

    with pytest.raises(ProtocolError, match="without a pkcsPKIEnvelope"):
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))


def test_success_undecryptable(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    other = pki.issue("someone-else")
    mock_ca.decide = lambda request: Reply(
        PKIStatus.SUCCESS,
        content=cms.build_enveloped_data(cms.build_certs_only([]), other.certificate),
    )

    with pytest.raises(ProtocolError, match="cannot decrypt"):
        client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))


def test_ndes_style_oaep_aes_reply(mock_ca: MockCA, pki: PKIFactory) -> None:
    mock_ca.caps = b"DES3\nSHA-1\n"
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)

    def reply(request: PKIRequest) -> Reply:
        issued = mock_ca.issue(request)
        issued.cipher = cms.ContentCipher.AES256_CBC
        issued.key_transport = cms.KeyTransport.OAEP
        return issued

    mock_ca.decide = reply
    result = client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert isinstance(result, Issued)
    assert mock_ca.pki_requests[-1].cipher == "tripledes_3key"


def _issued_pair(client: SCEPClient, mock_ca: MockCA, pki: PKIFactory):
    ca = _trusted(client, mock_ca)
    key = pki.key()
    caps = client.get_ca_caps()
    result = client.enroll(ca, caps, prepare_enrollment(key, DN, (), "pw"))
    assert isinstance(result, Issued)
    return ca, caps, result.certificate, key


def test_renewal_req_signed_with_current(mock_ca: MockCA, pki: PKIFactory) -> None:
    client = SCEPClient(mock_ca.url)
    ca, caps, current, current_key = _issued_pair(client, mock_ca, pki)
    new_key = pki.key()

    result = renew(client, ca, caps, new_key, build_csr(new_key, DN), current, current_key)

    assert isinstance(result, Issued)
    assert result.certificate.public_key() == new_key.public_key()
    request = mock_ca.pki_requests[-1]
    assert request.message_type == MessageType.RENEWAL_REQ
    assert request.signer == current


def test_renewal_pkcs_req_setting(mock_ca: MockCA, pki: PKIFactory) -> None:
    client = SCEPClient(mock_ca.url)
    ca, caps, current, current_key = _issued_pair(client, mock_ca, pki)
    new_key = pki.key()

    renew(
        client,
        ca,
        caps,
        new_key,
        build_csr(new_key, DN),
        current,
        current_key,
        RenewRequest.PKCS_REQ,
    )

    assert mock_ca.pki_requests[-1].message_type == MessageType.PKCS_REQ
    assert mock_ca.pki_requests[-1].signer == current


def test_renewal_retries_once_on_bad_request(mock_ca: MockCA, pki: PKIFactory) -> None:
    client = SCEPClient(mock_ca.url)
    ca, caps, current, current_key = _issued_pair(client, mock_ca, pki)
    new_key = pki.key()

    def reject_renewal(request: PKIRequest) -> Reply:
        if request.message_type == MessageType.RENEWAL_REQ:
            return Reply(PKIStatus.FAILURE, fail_info="2")
        return mock_ca.issue(request)

    mock_ca.decide = reject_renewal
    before = len(mock_ca.pki_requests)
    result = renew(client, ca, caps, new_key, build_csr(new_key, DN), current, current_key)

    assert isinstance(result, Issued)
    types = [r.message_type for r in mock_ca.pki_requests[before:]]
    assert types == [MessageType.RENEWAL_REQ, MessageType.PKCS_REQ]
    assert mock_ca.pki_requests[-1].signer == current


# failInfo 2 (badRequest) gets one PKCSReq retry and any other failure none.
@pytest.mark.parametrize(
    ("fail_info", "expected_requests"),
    [("2", 2), ("1", 1)],
    ids=["bad-request-retried-once", "other-not-retried"],
)
def test_renewal_failure_retries(
    mock_ca: MockCA, pki: PKIFactory, fail_info: str, expected_requests: int
) -> None:
    client = SCEPClient(mock_ca.url)
    ca, caps, current, current_key = _issued_pair(client, mock_ca, pki)
    new_key = pki.key()
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, fail_info=fail_info)
    before = len(mock_ca.pki_requests)

    with pytest.raises(CARejected):
        renew(client, ca, caps, new_key, build_csr(new_key, DN), current, current_key)

    assert len(mock_ca.pki_requests) - before == expected_requests


def test_renewal_needs_new_key(mock_ca: MockCA, pki: PKIFactory) -> None:
    client = SCEPClient(mock_ca.url)
    ca, caps, current, current_key = _issued_pair(client, mock_ca, pki)

    with pytest.raises(InvalidInput, match="new key"):
        renew(client, ca, caps, current_key, build_csr(current_key, DN), current, current_key)


def test_renewal_same_certificate_rejected(mock_ca: MockCA, pki: PKIFactory) -> None:
    client = SCEPClient(mock_ca.url)
    ca, caps, current, current_key = _issued_pair(client, mock_ca, pki)
    new_key = pki.key()
    mock_ca.decide = lambda request: Reply(PKIStatus.SUCCESS, certificates=[current])

    with pytest.raises(ProtocolError):
        renew(client, ca, caps, new_key, build_csr(new_key, DN), current, current_key)


def test_get_cert_by_serial(mock_ca: MockCA, pki: PKIFactory) -> None:
    client = SCEPClient(mock_ca.url)
    ca, caps, current, current_key = _issued_pair(client, mock_ca, pki)
    mock_ca.decide = lambda request: Reply(
        PKIStatus.SUCCESS, certificates=[mock_ca.ca.certificate, current]
    )

    fetched = client.get_cert(ca, caps, current.serial_number, current, current_key)

    assert fetched == current
    request = mock_ca.pki_requests[-1]
    assert request.message_type == MessageType.GET_CERT
    payload = asn1_cms.IssuerAndSerialNumber.load(request.payload)
    assert payload["serial_number"].native == current.serial_number
    assert payload["issuer"].dump() == mock_ca.ca.certificate.subject.public_bytes()


def test_get_cert_wrong_serial(mock_ca: MockCA, pki: PKIFactory) -> None:
    client = SCEPClient(mock_ca.url)
    ca, caps, current, current_key = _issued_pair(client, mock_ca, pki)
    mock_ca.decide = lambda request: Reply(PKIStatus.SUCCESS, certificates=[current])

    with pytest.raises(ProtocolError, match="serial"):
        client.get_cert(ca, caps, current.serial_number + 1, current, current_key)


def test_cert_poll_payload(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.PENDING)
    request = prepare_enrollment(pki.key(), DN, (), "pw")
    pending = client.enroll(ca, caps, request)
    assert isinstance(pending, Pending)

    assert isinstance(client.poll(ca, caps, pending.transaction), Pending)

    body = ber.read_tlv(mock_ca.pki_requests[-1].payload)
    issuer, subject = ber.children(body.content)
    assert body.identifier == b"\x30"
    assert issuer.content == ber.read_tlv(mock_ca.ca.certificate.subject.public_bytes()).content
    assert subject.content == ber.read_tlv(request.csr.subject.public_bytes()).content


def test_signer_ra_accepted(mock_ca: MockCA, pki: PKIFactory) -> None:
    client, caps = _setup(mock_ca)
    ca = _trusted(client, mock_ca)
    mock_ca.decide = lambda request: Reply(PKIStatus.PENDING, signer=mock_ca.recipient)

    result = client.enroll(ca, caps, prepare_enrollment(pki.key(), DN, (), "pw"))

    assert isinstance(result, Pending)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://ca.test/scep", "http://ca.test/scep?operation=GetCACaps"),
        (
            "http://ca.test/cgi-bin/pkiclient.exe",
            "http://ca.test/cgi-bin/pkiclient.exe?operation=GetCACaps",
        ),
        ("http://ca.test/scep?profile=a", "http://ca.test/scep?profile=a&operation=GetCACaps"),
    ],
)
def test_operation_url(url: str, expected: str) -> None:
    assert operation_url(url, "GetCACaps") == expected


def test_pending_repr_hides_secrets(pki: PKIFactory) -> None:
    key = pki.key()
    request = prepare_enrollment(key, DN, (), "repr-secret-challenge")
    trusted = CACertificates((request.signer_certificate,)).verify(
        request.signer_certificate.fingerprint(hashes.SHA256()).hex())
    transaction = PendingTransaction.for_request(request, trusted)

    text = repr(transaction)

    assert transaction.request_der
    assert "repr-secret-challenge" not in text
    assert b"repr-secret-challenge".hex() not in text
    assert "PRIVATE KEY" not in text


@pytest.mark.parametrize(("raw", "expected"), [
    ("-2147024809", "0x80070057"),
    ("-2146875392", "0x80094800"),
    ("0x80070057", "0x80070057"),
    ("2147942487", "0x80070057"),
    ("0", "0x00000000"),
    ("not a number", "not a number"),
    ("99999999999", "99999999999"),
])
def test_hresult_hex(raw: str, expected: str) -> None:
    assert hresult_hex(raw) == expected
