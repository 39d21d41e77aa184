"""Tests of ``pki-agent scep`` exit codes and files, against the mock CA."""

from __future__ import annotations

import datetime
import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from agent.cli import main
from agent.scep.attributes import PKIStatus
from agent.scep.cacerts import fingerprint
from tests.fixtures.agent import REPO_ROOT
from tests.scep.conftest import PKIFactory, key_usage
from tests.scep.mock_ca import MockCA, PKIRequest, Reply, serve


def _enroll_argv(mock_ca: MockCA, out: Path, *extra: str) -> list[str]:
    return [
        "scep",
        "enroll",
        mock_ca.url,
        "--dn",
        "CN=device, C=UK",
        "--fingerprint",
        fingerprint(mock_ca.ca.certificate),
        "--out",
        str(out),
        *extra,
    ]


def test_pending_then_poll(
    mock_ca: MockCA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_ca.decide = lambda request: Reply(PKIStatus.PENDING)

    status = main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pending-secret"))

    assert status == 3
    pending = tmp_path / "pending.json"
    # The pending file contains the request as sent, challenge included, so it is private.
    assert b"pending-secret".hex() in pending.read_text()
    assert stat.S_IMODE(os.stat(pending).st_mode) == 0o600
    state = (tmp_path / "state.json").read_text()
    assert "pending-secret" not in state
    assert b"pending-secret".hex() not in state
    assert "scep poll --out" in capsys.readouterr().out

    key = serialization.load_pem_private_key((tmp_path / "key.pem").read_bytes(), None)
    subject = x509.Name.from_rfc4514_string("CN=device,C=UK")
    mock_ca.decide = lambda request: mock_ca.issue_for(subject, key.public_key())
    assert main(["scep", "poll", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "cert.pem").exists()
    assert not pending.exists()


def test_rejected_exit_code(
    mock_ca: MockCA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, fail_info="2", hresult="-1")

    status = main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw"))

    assert status == 4
    err = capsys.readouterr().err
    assert "rejected: CA rejected the request: failInfo badRequest" in err
    assert "warning: no challenge" not in err
    assert "hint:" not in err


def _public_key_of_key_file(path: Path) -> bytes:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _public_key_of_certificate(path: Path) -> bytes:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_rejected_writes_no_files(mock_ca: MockCA, tmp_path: Path) -> None:
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, fail_info="2")
    out = tmp_path / "out"

    assert main(_enroll_argv(mock_ca, out, "--challenge", "pw")) == 4
    assert list(out.iterdir()) == []


def test_enroll_rejects_used_out(
    mock_ca: MockCA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw")) == 0
    key_before = (tmp_path / "key.pem").read_bytes()
    requests_before = len(mock_ca.requests)
    capsys.readouterr()

    status = main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw"))

    assert status == 1
    err = capsys.readouterr().err
    assert f"--out {tmp_path}: it already contains key.pem and cert.pem" in err
    assert "choose an empty directory, remove the files, or give --force" in err
    assert len(mock_ca.requests) == requests_before
    assert (tmp_path / "key.pem").read_bytes() == key_before


def test_force_rejected_keeps_files(mock_ca: MockCA, tmp_path: Path) -> None:
    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw")) == 0
    key_before = (tmp_path / "key.pem").read_bytes()
    certificate_before = (tmp_path / "cert.pem").read_bytes()
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, fail_info="2")

    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw", "--force")) == 4
    assert (tmp_path / "key.pem").read_bytes() == key_before
    assert (tmp_path / "cert.pem").read_bytes() == certificate_before


def test_force_pending_removes_old_cert(mock_ca: MockCA, tmp_path: Path) -> None:
    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw")) == 0
    key_before = (tmp_path / "key.pem").read_bytes()
    mock_ca.decide = lambda request: Reply(PKIStatus.PENDING)

    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw", "--force")) == 3
    assert (tmp_path / "key.pem").read_bytes() != key_before
    assert not (tmp_path / "cert.pem").exists()
    assert not (tmp_path / "chain.pem").exists()
    assert (tmp_path / "pending.json").exists()


def test_force_issued_replaces_key_and_cert(mock_ca: MockCA, tmp_path: Path) -> None:
    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw")) == 0
    key_before = (tmp_path / "key.pem").read_bytes()

    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw", "--force")) == 0
    assert (tmp_path / "key.pem").read_bytes() != key_before
    key = _public_key_of_key_file(tmp_path / "key.pem")
    assert key == _public_key_of_certificate(tmp_path / "cert.pem")


_NO_CHALLENGE_WARNING = (
    "pki-agent: warning: no challenge password given (--challenge, --challenge-file or "
    "$PKI_AGENT_SCEP_CHALLENGE); most CAs reject such a request\n"
)


def test_no_challenge_warns(
    mock_ca: MockCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("PKI_AGENT_SCEP_CHALLENGE", raising=False)

    assert main(_enroll_argv(mock_ca, tmp_path)) == 0
    assert capsys.readouterr().err == _NO_CHALLENGE_WARNING


def test_bad_request_without_challenge_hints(
    mock_ca: MockCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("PKI_AGENT_SCEP_CHALLENGE", raising=False)
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, fail_info="2")

    status = main(_enroll_argv(mock_ca, tmp_path))

    assert status == 4
    lines = capsys.readouterr().err.splitlines(keepends=True)
    assert lines[0] == _NO_CHALLENGE_WARNING
    assert lines[1] == "rejected: CA rejected the request: failInfo badRequest\n"
    assert lines[2].startswith("pki-agent: hint: the request carried no challenge password")
    assert "--challenge-file or $PKI_AGENT_SCEP_CHALLENGE" in lines[2]
    assert len(lines) == 3


def test_transport_error_exit_code(mock_ca: MockCA, tmp_path: Path) -> None:
    mock_ca.decide = lambda request: Reply(PKIStatus.FAILURE, http_status=500, body=b"down")

    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw")) == 1


def test_poll_without_pending(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scep", "poll", "--out", str(tmp_path)]) == 1
    assert "nothing is pending" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("relative_out", "reason"),
    [
        ("afile", "it exists and is not a directory"),
        ("afile/sub", "a part of its path is not a directory"),
    ],
)
def test_enroll_out_unusable(
    mock_ca: MockCA,
    tmp_path: Path,
    relative_out: str,
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "afile").write_text("not a directory\n")
    out = tmp_path / relative_out

    status = main(_enroll_argv(mock_ca, out, "--challenge", "pw"))

    assert status == 1
    err = capsys.readouterr().err
    assert err == f"pki-agent: cannot use --out {out}: {reason}\n"
    assert mock_ca.requests == []


def test_cacert_out_is_file(
    mock_ca: MockCA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "afile"
    out.write_text("not a directory\n")

    status = main(["scep", "cacert", mock_ca.url, "--out", str(out)])

    assert status == 1
    err = capsys.readouterr().err
    assert err == f"pki-agent: cannot use --out {out}: it exists and is not a directory\n"
    assert out.read_text() == "not a directory\n"


_STATE = b'{"url": "http://127.0.0.1:9/scep", "fingerprint": "00", "fingerprint_alg": "sha256"}'


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (b"{not json", "state.json is not valid JSON: Expecting property name"),
        (b"\xff\xfe\x00garbage", "state.json is not UTF-8 text"),
        (b"[]", "state.json does not contain a JSON object"),
        (b"{}", "state.json has no 'url' string; enroll again"),
        (_STATE.replace(b"http://", b""), "state.json contains an invalid SCEP URL"),
    ],
    ids=["not-json", "binary", "list", "no-url", "url-without-scheme"],
)
def test_poll_state_unusable(
    tmp_path: Path, state: bytes, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "state.json").write_bytes(state)
    (tmp_path / "pending.json").write_text("{}")

    status = main(["scep", "poll", "--out", str(tmp_path)])

    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith(f"pki-agent: cannot use --out {tmp_path}: {reason}")
    assert err.count("\n") == 1


_ENROLL_ARGV = ["scep", "enroll", "http://127.0.0.1:9/scep", "--dn", "CN=x", "--out", "x"]


@pytest.mark.parametrize(
    "argv",
    [
        ["scep"],
        ["scep", "enroll", "http://127.0.0.1:9/scep", "--out", "x"],
        [*_ENROLL_ARGV, "--keysize", "1024"],
        [*_ENROLL_ARGV, "--cipher", "des-cbc"],
        [*_ENROLL_ARGV, "--challenge", "a", "--challenge-file", "f"],
    ],
    ids=["no-subcommand", "no-dn", "key-size", "des", "two-challenges"],
)
def test_usage_exit_code(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2


@pytest.mark.parametrize("option", ["--connect-timeout", "--read-timeout"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("0", "must be greater than 0"),
        ("-1", "must be greater than 0"),
        ("nan", "must be a finite number of seconds"),
        ("inf", "must be a finite number of seconds"),
        ("1e12", "must be at most 86400 seconds"),
        ("soon", "must be a number of seconds"),
    ],
)
def test_timeout_usage_error(
    option: str, value: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["scep", "caps", f"{option}={value}", "http://127.0.0.1:9/scep"])

    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"{option} {problem}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["caps", "cacert", "enroll"])
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("127.0.0.1:9/scep", "the scheme is missing"),
        ("ftp://127.0.0.1/scep", "the scheme ftp:// is not supported"),
        ("http:///scep", "the host is missing"),
        ("http://127.0.0.1:99999/scep", "the port is not a number from 1 to 65535"),
        ("http://[::1/scep", "Invalid IPv6 URL"),
    ],
)
def test_url_usage_error(
    command: str, url: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["scep", command, url]
    if command == "enroll":
        argv += ["--dn", "CN=x", "--out", "unused"]

    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid SCEP URL {url!r}: {problem}" in err
    assert "expected http:// or https://, a host" in err


@pytest.mark.parametrize(
    ("url", "shown", "problem"),
    [
        ("http://user:secret@127.0.0.1:99999/scep", "http://127.0.0.1:99999/scep",
         "the port is not a number from 1 to 65535"),
        ("http://user:secret@[::1/scep", "http://[::1/scep", "Invalid IPv6 URL"),
        # urlsplit drops the tab and would read the URL with its password.
        ("http:/\t/user:secret@127.0.0.1/scep", "http://127.0.0.1/scep",
         "it contains a space or control character"),
        (" http://user:secret@127.0.0.1/scep", "http://127.0.0.1/scep",
         "it contains a space or control character"),
        # The fullwidth solidus (U+FF0F) fails urllib.parse's NFKC check.
        ("http://user:secret@a\uff0fb/scep", "http://a\uff0fb/scep",
         "netloc 'a\uff0fb' contains invalid characters under NFKC normalization"),
    ],
    ids=["port", "ipv6", "tab", "space", "nfkc"],
)
def test_url_error_hides_password(
    url: str, shown: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["scep", "caps", url])

    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid SCEP URL {shown!r}: {problem}" in err
    assert "secret" not in err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--dn", "nu6", "invalid DN 'nu6'"),
        ("--san", "ip:999.1.1.1", "invalid subjectAltName 'ip:999.1.1.1'"),
        ("--san", "192.168.1.300", "'192.168.1.300': not a valid IPv4 address"),
        ("--san", "foo bar!", "'foo bar!': not a valid DNS name"),
        ("--fingerprint", "zz", "invalid fingerprint 'zz'"),
    ],
)
def test_enroll_invalid_input_sends_nothing(
    mock_ca: MockCA,
    tmp_path: Path,
    option: str,
    value: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    argv = ["scep", "enroll", mock_ca.url, "--dn", "CN=x", "--challenge", "pw", "--out", str(out)]

    status = main([*argv, option, value])

    assert status == 2
    assert message in capsys.readouterr().err
    assert mock_ca.requests == []
    assert not out.exists()


def test_cacert_invalid_fingerprint_usage_error(
    mock_ca: MockCA, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["scep", "cacert", mock_ca.url, "--fingerprint", "ab:cd"])

    assert status == 2
    assert "invalid fingerprint 'ab:cd'" in capsys.readouterr().err
    assert mock_ca.requests == []


def test_help_lists_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["scep", "enroll", "--help"])

    text = capsys.readouterr().out
    assert "3 pending" in text
    assert "4 rejected" in text


def test_challenge_from_environment(
    mock_ca: MockCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SCEP_SECRET", "from-env")

    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge-env", "MY_SCEP_SECRET")) == 0
    state = json.loads((tmp_path / "state.json").read_text())
    assert "from-env" not in json.dumps(state)
    assert mock_ca.pki_requests[-1].payload.count(b"from-env") == 1


def test_state_file_private(mock_ca: MockCA, tmp_path: Path) -> None:
    url = mock_ca.url.replace("http://", "http://scepuser:url-secret@")
    argv = _enroll_argv(mock_ca, tmp_path, "--challenge", "pw")
    argv[argv.index(mock_ca.url)] = url

    assert main(argv) == 0
    state_file = tmp_path / "state.json"
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    assert json.loads(state_file.read_text())["url"] == url


def test_challenge_file_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent"

    status = main(
        [
            "scep",
            "enroll",
            "http://127.0.0.1:9/scep",
            "--dn",
            "CN=x",
            "--challenge-file",
            str(missing),
            "--out",
            str(tmp_path / "out"),
        ]
    )

    assert status == 1
    assert "invalid --challenge-file" in capsys.readouterr().err


def test_challenge_file_first_line(mock_ca: MockCA, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("line-one\nline-two\n")

    assert main(_enroll_argv(mock_ca, tmp_path / "out", "--challenge-file", str(secret))) == 0
    payload = mock_ca.pki_requests[-1].payload
    assert b"line-one" in payload
    assert b"line-two" not in payload


@pytest.fixture
def tiered_ca(pki: PKIFactory) -> Iterator[MockCA]:
    """A mock CA with a root, an issuing intermediate and two RAs, one per key usage."""
    root = pki.issue("Tiered Root CA", ca=True)
    issuing = pki.issue("Tiered Issuing CA", root, ca=True)
    encryption = pki.issue("Tiered RA encryption", issuing, usage=key_usage(key_encipherment=True))
    signing = pki.issue("Tiered RA signing", issuing, usage=key_usage(digital_signature=True))
    certificates = [c.certificate for c in (encryption, signing, issuing, root)]
    yield from serve(MockCA(issuing, encryption, certificates))


_TIERED_ROLES = sorted(
    [
        "encryption,ra: CN=Tiered RA encryption",
        "signature,ra: CN=Tiered RA signing",
        "intermediate: CN=Tiered Issuing CA",
        "root: CN=Tiered Root CA",
    ]
)


def _role_lines(output: str) -> list[str]:
    """Return the ROLES: SUBJECT lines, sorted because the PKCS#7 may reorder certificates."""
    return sorted(line for line in output.splitlines() if ": CN=" in line and line[0] != " ")


def test_cacert_roles_without_fingerprint(
    tiered_ca: MockCA, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scep", "cacert", tiered_ca.url]) == 0
    out = capsys.readouterr().out
    assert _role_lines(out) == _TIERED_ROLES
    assert out.count("root CA not verified, because no --fingerprint was given.") == 1


def test_cacert_roles_with_fingerprint(
    tiered_ca: MockCA, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tiered_ca.ca_certificates[-1]

    assert main(["scep", "cacert", tiered_ca.url, "--fingerprint", fingerprint(root)]) == 0
    out = capsys.readouterr().out
    assert _role_lines(out) == _TIERED_ROLES
    assert "not verified" not in out


def test_cacert_unknown_roles_warns(pki: PKIFactory, capsys: pytest.CaptureFixture[str]) -> None:
    root = pki.issue("Expired RA Root CA", ca=True)
    expired = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    ra = pki.issue("Expired RA", root, not_after=expired)
    server = serve(MockCA(root, ra, [root.certificate, ra.certificate]))
    try:
        status = main(["scep", "cacert", next(server).url])
    finally:
        server.close()

    assert status == 0
    printed = capsys.readouterr()
    assert "pki-agent: warning: roles not known: certificate CN=Expired RA" in printed.err
    assert "root: CN=Expired RA Root CA" in printed.out
    assert "other: CN=Expired RA" in printed.out
    assert "root CA not verified" in printed.out


def _pem_certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_chain_from_cert_rep(
    mock_ca: MockCA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw")) == 0
    assert _pem_certificates(tmp_path / "chain.pem") == [mock_ca.ca.certificate]
    assert f"{tmp_path / 'cert.pem'}, {tmp_path / 'chain.pem'}" in capsys.readouterr().out


def test_chain_from_get_ca_cert(mock_ca: MockCA, tmp_path: Path) -> None:
    def issue_without_chain(request: PKIRequest) -> Reply:
        reply = mock_ca.issue(request)
        return replace(reply, certificates=reply.certificates[:1])

    mock_ca.decide = issue_without_chain

    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw")) == 0
    assert _pem_certificates(tmp_path / "chain.pem") == [mock_ca.ca.certificate]


def test_chain_leaves_out_root(tiered_ca: MockCA, tmp_path: Path) -> None:
    issuing = tiered_ca.ca.certificate
    root = tiered_ca.ca_certificates[-1]
    argv = _enroll_argv(tiered_ca, tmp_path, "--challenge", "pw")
    argv[argv.index("--fingerprint") + 1] = fingerprint(root)

    assert main(argv) == 0
    assert _pem_certificates(tmp_path / "chain.pem") == [issuing]


def test_chain_unknown_not_written(
    mock_ca: MockCA, pki: PKIFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = pki.issue("Unknown CA", ca=True)

    def issue_from_stranger(request: PKIRequest) -> Reply:
        csr = x509.load_der_x509_csr(request.payload)
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(stranger.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(stranger.key, hashes.SHA256())
        )
        return Reply(PKIStatus.SUCCESS, certificates=[certificate])

    mock_ca.decide = issue_from_stranger

    assert main(_enroll_argv(mock_ca, tmp_path, "--challenge", "pw")) == 0
    assert not (tmp_path / "chain.pem").exists()
    assert "chain.pem" not in capsys.readouterr().out


def test_enroll_without_fingerprint_warns(
    mock_ca: MockCA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "scep",
        "enroll",
        mock_ca.url,
        "--dn",
        "CN=device",
        "--challenge",
        "pw",
        "--out",
        str(tmp_path),
    ]

    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "no --fingerprint given" in err
    assert fingerprint(mock_ca.ca.certificate) in err
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["fingerprint"] == fingerprint(mock_ca.ca.certificate)


@pytest.mark.parametrize(("method", "expected"), [("get", "GET"), ("post", "POST")])
def test_method_option(mock_ca: MockCA, tmp_path: Path, method: str, expected: str) -> None:
    argv = _enroll_argv(mock_ca, tmp_path, "--challenge", "pw", "--method", method)

    assert main(argv) == 0
    operations = [r for r in mock_ca.requests if "operation=PKIOperation" in r.path]
    assert [r.method for r in operations] == [expected]
    assert mock_ca.pki_requests[-1].cipher == "aes128_cbc"


def test_sigint_keeps_transaction_id(mock_ca: MockCA, tmp_path: Path) -> None:
    received = threading.Event()
    release = threading.Event()

    def slow_reply(request: PKIRequest) -> Reply:
        received.set()
        release.wait(60)
        return Reply(PKIStatus.FAILURE, fail_info="badRequest")

    mock_ca.decide = slow_reply
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", *_enroll_argv(mock_ca, tmp_path / "out")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": ""},
        # A background job of a non-interactive shell starts with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert received.wait(60)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        release.set()
        proc.kill()
        proc.wait()

    assert proc.returncode == 130
    assert stdout.startswith("transactionID ")
    assert stderr.endswith("pki-agent: interrupted\n")
