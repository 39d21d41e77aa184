"""Fuzz the SCEP parsers: any input gives a result or an SCEPError, never another exception."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.scep import ber, cms
from agent.scep.cacerts import CACertificates, fingerprint, parse_ca_certificates
from agent.scep.capabilities import parse_capabilities
from agent.scep.client import PendingTransaction, prepare_enrollment
from agent.scep.csr import parse_dn, parse_san
from agent.scep.errors import SCEPError
from agent.scep.message import CertRep, RequestContext, new_nonce, parse_cert_rep
from tests.scep.conftest import NOW, PKIFactory, data_file, pem_certificate
from tests.scep.mock_ca import MockCA, PKIRequest

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _survives(parser: Callable[[Any], object], value: Any) -> None:
    with contextlib.suppress(SCEPError):
        parser(value)


@functools.cache
def _cert_rep_setup() -> tuple[bytes, Any, RequestContext]:
    """A valid CertRep SUCCESS, the TrustedCA it verifies against, and the request context."""
    pki = PKIFactory()
    root = pki.issue("Fuzz Root", ca=True)
    mock = MockCA(root, root, [root.certificate])
    request = prepare_enrollment(pki.key(), "CN=fuzz", (), "pw")
    ca = CACertificates((root.certificate,)).verify(fingerprint(root.certificate), at=NOW)
    context = RequestContext(
        request.transaction_id,
        new_nonce(),
        request.signer_certificate,
        request.signer_key,
        request.csr.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
    )
    pki_request = PKIRequest(
        "19",
        request.transaction_id,
        context.sender_nonce,
        request.signer_certificate,
        request.csr.public_bytes(Encoding.DER),
        "sha256",
        "aes128_cbc",
    )
    reply = mock.cert_rep(pki_request, mock.issue(pki_request))
    return reply, ca, context


def _mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """Byte flips, truncations and insertions of a valid message."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(seed)
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
            position = draw(st.integers(0, max(len(data) - 1, 0)))
            if kind == "flip" and data:
                data[position] ^= draw(st.integers(1, 255))
            elif kind == "truncate":
                del data[position:]
            elif kind == "insert":
                data[position:position] = draw(st.binary(min_size=1, max_size=4))
            elif data:
                del data[position]
        return bytes(data)

    return mutate()


def test_valid_cert_rep_parses() -> None:
    reply, ca, context = _cert_rep_setup()

    assert isinstance(parse_cert_rep(reply, ca, context), CertRep)


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_fuzz_capabilities(body: bytes | str) -> None:
    caps = parse_capabilities(body)

    assert isinstance(caps.choose_digest(), str)


@FUZZ
@given(st.one_of(st.binary(max_size=200), _mutations(data_file("jscep/scep_resp0.der"))))
def test_fuzz_ca_certificates(body: bytes) -> None:
    _survives(parse_ca_certificates, body)


@FUZZ
@given(st.data())
def test_fuzz_cert_rep(data: st.DataObject) -> None:
    reply, ca, context = _cert_rep_setup()
    body = data.draw(st.one_of(st.binary(max_size=200), _mutations(reply)))

    _survives(lambda value: parse_cert_rep(value, ca, context), body)


@FUZZ
@given(
    st.one_of(
        _mutations(data_file("smallstep/CertRep.der")),
        _mutations(data_file("jscep/scep_resp2.der")),
    )
)
def test_fuzz_signed_data_captures(body: bytes) -> None:
    _survives(cms.verify_signed_data, body)
    _survives(cms.read_signed_data, body)


@FUZZ
@given(_mutations(data_file("jscep/scep_resp1.der")))
def test_fuzz_enveloped_data(body: bytes) -> None:
    _, _, context = _cert_rep_setup()

    _survives(lambda value: cms.open_enveloped_data(value, context.signer_key), body)


@FUZZ
@given(st.binary(max_size=120))
def test_fuzz_ber(body: bytes) -> None:
    try:
        rewritten = ber.to_der(body)
    except SCEPError:
        return
    assert ber.to_der(rewritten) == rewritten


@FUZZ
@given(
    st.one_of(
        st.text(max_size=120),
        st.lists(
            st.tuples(
                st.sampled_from(["CN", "C", "O", "OU", "2.5.4.3", "X", " cn", ""]),
                st.text(max_size=12),
            ),
            max_size=5,
        ).map(lambda pairs: ", ".join(f"{key}={value}" for key, value in pairs)),
    )
)
def test_fuzz_dn(text: str) -> None:
    _survives(parse_dn, text)


@FUZZ
@given(st.text(max_size=60))
def test_fuzz_san(text: str) -> None:
    _survives(parse_san, text)


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_pending_json(text: str) -> None:
    _survives(PendingTransaction.from_json, text)


def _openxpki_chain() -> bytes:
    names = ["OpenXPKI_SCEP_RA.crt", "OpenXPKI_Issuing_CA.crt", "OpenXPKI_Root_CA.crt"]
    return cms.build_certs_only([pem_certificate(f"openxpki/{name}") for name in names])


OPENXPKI_ROOT_SHA256 = "7d3caac661488b0b093e2a6dbe56caa77766e228e827bb5e130d9711d008b099"


def test_openxpki_chain_verifies() -> None:
    ca = parse_ca_certificates(_openxpki_chain()).verify(OPENXPKI_ROOT_SHA256, "sha256", NOW)

    assert len(ca.ras) == 1


@FUZZ
@given(_mutations(_openxpki_chain()))
def test_fuzz_ca_certificates_verify(body: bytes) -> None:
    def parse_and_verify(value: bytes) -> object:
        return parse_ca_certificates(value).verify(OPENXPKI_ROOT_SHA256, "sha256", NOW)

    _survives(parse_and_verify, body)
