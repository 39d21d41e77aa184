"""Configuration commands, error and warning boxes and exit codes against a running agent."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from lxml import etree

from tests.cli.live import CLI, box_text, make_cli
from tests.fixtures.agent import RunningAgent, free_port
from tools.pki_cli.client import sha256_fingerprint

PKI_NS = "urn:pki-agent:yang:pki-agent"
NS = {"p": PKI_NS}
FINGERPRINT = "AB:" * 31 + "AB"


@pytest.fixture
def cli(agent: RunningAgent, capsys: pytest.CaptureFixture[str]) -> CLI:
    return make_cli(agent, capsys)


def _running(agent: RunningAgent) -> etree._Element:
    with agent.connect() as session:
        reply = session.get_config(source="running")
    return reply.data_ele


def _add_server(cli: CLI, server_id: str = "1", label: str = "xpki-srv") -> None:
    # A closed port on 127.0.0.1: the agent finds the server not reachable.
    url = f"http://127.0.0.1:{free_port()}/scep"
    result = cli("enroll-server", server_id, "label", label, "url", url,
                 "fingerprint", FINGERPRINT)
    assert result.code == 0, result.out + result.err


def test_set_server_stored_normalised(cli: CLI, agent: RunningAgent) -> None:
    result = cli("enroll-server", "1", "label", "xpki-srv", "description", "OpenXPKI server",
                 "url", "http://127.0.0.1:9/scep/generic", "fingerprint", FINGERPRINT,
                 "fingerprint-alg", "sha256", "cipher", "aes256-cbc",
                 "renew-request", "pkcs-req", "protocol", "scep")
    assert result.code == 0, result.out
    assert "Configuration Errors" not in result.out
    server = _running(agent).find("p:pki/p:enroll-server", NS)
    assert server is not None
    assert server.findtext("p:label", namespaces=NS) == "xpki-srv"
    assert server.findtext("p:description", namespaces=NS) == "OpenXPKI server"
    assert server.findtext("p:fingerprint", namespaces=NS) == "ab" * 32
    assert server.findtext("p:cipher", namespaces=NS) == "aes256-cbc"
    assert server.findtext("p:renew-request", namespaces=NS) == "pkcs-req"


def test_enroll_infers_san_types(cli: CLI, agent: RunningAgent) -> None:
    _add_server(cli)
    result = cli("cert", "enroll", "mycert1", "server", "xpki-srv", "password", "secret1",
                 "dn", "CN=mycert1.co.uk, C=UK", "san", "192.168.100.101",
                 "san", "mycert1.co.uk", "san", "ops@example.com", "profile", "tls-server",
                 "keysize", "3072", "renewal-threshold", "70")
    assert result.code == 0, result.out
    enroll = _running(agent).find("p:pki/p:cert/p:enroll", NS)
    assert enroll is not None
    assert enroll.findtext("p:san/p:ip-address", namespaces=NS) == "192.168.100.101"
    assert enroll.findtext("p:san/p:dns-name", namespaces=NS) == "mycert1.co.uk"
    assert enroll.findtext("p:san/p:email", namespaces=NS) == "ops@example.com"
    assert enroll.findtext("p:keysize", namespaces=NS) == "3072"
    assert enroll.findtext("p:profile", namespaces=NS) == "tls-server"
    assert enroll.find("p:password", NS) is None


def test_san_replaced_by_next_command(cli: CLI, agent: RunningAgent) -> None:
    _add_server(cli)
    cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1", "san", "10.0.0.1")
    assert cli("cert", "enroll", "c1", "san", "c1.example").code == 0
    enroll = _running(agent).find("p:pki/p:cert/p:enroll", NS)
    assert enroll is not None
    assert enroll.findall("p:san/p:ip-address", NS) == []
    assert enroll.findtext("p:san/p:dns-name", namespaces=NS) == "c1.example"


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["cert", "enroll", "c1", "dn", "CN=c1"], "server label missing"),
        (["cert", "enroll", "c1", "server", "xpki-srv"], "certificate distinguished name missing"),
    ],
)
def test_commit_error_box(cli: CLI, agent: RunningAgent, words: list[str], message: str) -> None:
    _add_server(cli)
    result = cli(*words)
    assert result.code == 1
    assert "| Configuration Errors: 1" in result.out
    assert f"| 1. {message}" in result.out
    assert "enroll[name='c1']" in result.out
    assert _running(agent).find("p:pki/p:cert/p:enroll", NS) is None


def test_candidate_discarded_after_error(cli: CLI, agent: RunningAgent) -> None:
    _add_server(cli)
    assert cli("cert", "enroll", "bad", "dn", "CN=bad").code == 1
    result = cli("cert", "enroll", "good", "server", "xpki-srv", "dn", "CN=good",
                 "password", "p", "san", "10.0.0.2")
    assert result.code == 0, result.out
    names = [element.text for element in _running(agent).iterfind(".//p:enroll/p:name", NS)]
    assert names == ["good"]


def test_invalid_value_error_box(cli: CLI, agent: RunningAgent) -> None:
    _add_server(cli)
    result = cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1", "keysize", "1234")
    assert result.code == 1
    assert "| Configuration Errors: 1" in result.out
    assert "| 1. keysize '1234' is invalid: allowed key sizes are 2048, 3072, 4096" in result.out
    assert _running(agent).find("p:pki/p:cert/p:enroll", NS) is None


def test_unknown_server_label_named(cli: CLI) -> None:
    _add_server(cli)
    _add_server(cli, "2", "win-srv")
    result = cli("cert", "enroll", "c1", "server", "nosuch-srv", "dn", "CN=c1")
    assert result.code == 1
    assert "| Configuration Errors: 1" in result.out
    text = box_text(result.out)
    assert ("cert enroll c1: server 'nosuch-srv' is not the label of any enroll-server; "
            "configured labels: xpki-srv, win-srv") in text


def test_delete_used_server_names_enrollment(cli: CLI, agent: RunningAgent) -> None:
    _add_server(cli)
    _add_server(cli, "2", "win-srv")
    assert cli("cert", "enroll", "mycert2", "server", "win-srv", "dn", "CN=c2").code == 0
    result = cli("no", "enroll-server", "2")
    assert result.code == 1
    text = box_text(result.out)
    assert "enroll-server 2 (win-srv) is used by enrollment mycert2" in text
    assert "| Configuration Errors: 1" in result.out
    ids = [element.text for element in _running(agent).iterfind(".//p:enroll-server/p:id", NS)]
    assert ids == ["1", "2"]


def test_new_server_missing_fingerprint(cli: CLI) -> None:
    result = cli("enroll-server", "9", "label", "x9", "url", "http://127.0.0.1:9/scep")
    assert result.code == 1
    text = box_text(result.out)
    assert ("enroll-server 9: fingerprint missing; a new server needs label, url, fingerprint"
            in text)


def test_fingerprint_length_error_box(cli: CLI) -> None:
    result = cli("enroll-server", "1", "label", "s", "url", "http://127.0.0.1:9/scep",
                 "fingerprint", "abcd", "fingerprint-alg", "md5")
    assert result.code == 1
    assert "fingerprint length does not match fingerprint-alg" in result.out


def test_warnings_only_of_changed_enrollment(cli: CLI) -> None:
    _add_server(cli)
    assert cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1").code == 0
    result = cli("cert", "enroll", "c2", "server", "xpki-srv", "dn", "CN=c2",
                 "password", "p", "san", "10.0.0.2")
    assert result.code == 0
    assert result.out == ""
    result = cli("no", "cert", "enroll", "c2", "san")
    assert "| Configuration Warnings: 1" in result.out
    assert "| 1. cert enroll c2: SubjectAlternativeName missing" in result.out
    assert "c1" not in result.out
    assert cli("enroll-server", "1", "description", "changed").out == ""


def test_warning_box_after_commit(cli: CLI) -> None:
    _add_server(cli)
    result = cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1")
    assert result.code == 0
    assert "| Configuration Warnings: 2" in result.out
    assert "| 1. cert enroll c1: challenge password missing" in result.out
    assert "| 2. cert enroll c1: SubjectAlternativeName missing" in result.out
    assert "Configuration Errors" not in result.out


def test_no_warning_box_when_complete(cli: CLI) -> None:
    _add_server(cli)
    result = cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1",
                 "password", "p", "san", "10.0.0.1")
    assert result.code == 0
    assert result.out == ""


def test_password_never_shown(cli: CLI) -> None:
    _add_server(cli)
    cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1",
        "password", "Very-Secret-9", "san", "10.0.0.1")
    text = cli("cert", "show", "c1")
    assert "Password          : ********" in text.out
    data = cli("--format", "json", "cert", "show", "c1")
    assert "Very-Secret-9" not in text.out + data.out
    assert json.loads(data.out)["pki-agent:pki"]["cert"]["enroll"][0]["name"] == "c1"


def test_password_not_set_shown(cli: CLI) -> None:
    _add_server(cli)
    cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1")
    assert "Password          : (not set)" in cli("cert", "show", "c1").out


def test_no_commands_delete(cli: CLI, agent: RunningAgent) -> None:
    _add_server(cli)
    _add_server(cli, "2", "win-srv")
    cli("enroll-server", "2", "description", "to be removed")
    cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1", "password", "p")
    assert cli("no", "cert", "enroll", "c1").code == 0
    assert cli("no", "enroll-server", "2", "description").code == 0
    running = _running(agent)
    assert running.find(".//p:enroll", NS) is None
    assert running.find(".//p:enroll-server[p:id='2']/p:description", NS) is None
    assert cli("no", "enroll-server", "2").code == 0
    ids = [element.text for element in _running(agent).iterfind(".//p:enroll-server/p:id", NS)]
    assert ids == ["1"]


def test_delete_missing_server_error(cli: CLI) -> None:
    _add_server(cli)
    result = cli("no", "enroll-server", "7")
    assert result.code == 1
    assert "| Configuration Errors: 1" in result.out
    assert "| 1. enroll-server 7 not found; configured IDs: 1" in result.out


def test_trigger_prints_one_line(cli: CLI) -> None:
    result = cli("trigger")
    assert result.code == 0
    assert result.out.startswith("trigger sent: ")
    assert result.out.count("\n") == 1


def test_renew_unknown_enrollment_error(cli: CLI) -> None:
    _add_server(cli)
    cli("cert", "enroll", "mycert1", "server", "xpki-srv", "dn", "CN=c1")
    result = cli("cert", "renew", "nosuch")
    assert result.code == 1
    assert "| RPC Errors: 1" in result.out
    assert "Configuration Errors" not in result.out
    text = box_text(result.out)
    assert "renew-now: no enrollment named 'nosuch'; configured enrollments: mycert1" in text


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["cert", "show", "nosuch"], "No enrollment named 'nosuch' is configured.\n"),
        (["enroll-server", "show", "5"], "No enroll-server with ID 5 is configured.\n"),
    ],
)
def test_show_unknown_exit_code(cli: CLI, words: list[str], expected: str) -> None:
    result = cli(*words)
    assert result.code == 4
    assert result.out == expected
    assert cli("--format", "json", *words).code == 4


def test_connect_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.pki_cli import main

    code = main(["--port", str(free_port()), "--key", "/nonexistent", "show"])
    assert code == 3
    err = capsys.readouterr().err
    assert "cannot open a NETCONF session" in err
    assert "the SSH private key file /nonexistent does not exist" in err
    assert "FileNotFoundError" not in err


def test_connect_refused_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.pki_cli import main

    key = tmp_path / "id"
    key.write_text("not read: nothing listens on the port\n")
    assert main(["--port", str(free_port()), "--key", str(key), "show"]) == 3
    assert "Check that the agent runs" in capsys.readouterr().err


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.pki_cli import main

    assert main(["cert", "enroll", "c1", "server"]) == 2
    assert "keyword 'server' has no value" in capsys.readouterr().err


def test_host_key_checked(agent: RunningAgent, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.pki_cli import main
    from tools.pki_cli.walkthrough import read_host_key

    options = ["--port", str(agent.port), "--key", str(agent.key_path)]
    host_key = read_host_key(agent.state_dir)
    assert main([*options, "--host-key", host_key, "show"]) == 0
    assert "Enroll Servers" in capsys.readouterr().out

    other_key = "AAAAC3NzaC1lZDI1NTE5AAAAIFzJGfXiwzCcl+kbIBA2BT6hE7896W9zyss2JiU5N6Jw"
    assert main([*options, "--host-key", other_key, "show"]) == 3
    err = " ".join(capsys.readouterr().err.split())
    presented = f"ssh-ed25519 {host_key} ({sha256_fingerprint(base64.b64decode(host_key))})"
    assert f"the agent presents the SSH host key {presented}" in err
    expected = f"{other_key} ({sha256_fingerprint(base64.b64decode(other_key))})"
    assert f"but --host-key expects {expected}" in err


@pytest.mark.parametrize(
    ("words", "top_level"),
    [
        (["show"], {"daemon", "enroll-server"}),
        (["cert", "show"], {"cert"}),
        (["cert", "show", "c1"], {"cert"}),
        (["enroll-server", "show", "1"], {"enroll-server"}),
    ],
)
def test_json_format_every_show(cli: CLI, words: list[str], top_level: set[str]) -> None:
    _add_server(cli)
    cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1", "password", "p")
    result = cli("--format", "json", *words)
    assert result.code == 0
    body = json.loads(result.out)["pki-agent:pki"]
    assert set(body) == top_level


def test_remove_unknown_ca_error(cli: CLI) -> None:
    result = cli("cert", "remove-ca", "nosuch")
    assert result.code == 1
    assert "| RPC Errors: 1" in result.out
    assert "nosuch" in result.out


def test_password_from_standard_input(
    cli: CLI, agent: RunningAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_server(cli)
    monkeypatch.setattr("sys.stdin", io.StringIO("From-Stdin-7\n"))
    result = cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1",
                 "password", "-", "san", "10.0.0.1")
    assert result.code == 0, result.out + result.err
    assert result.out == ""
    assert "Password          : ********" in cli("cert", "show", "c1").out


def test_empty_password_from_standard_input(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    result = cli("cert", "enroll", "c1", "server", "xpki-srv", "dn", "CN=c1", "password", "-")
    assert result.code == 2
    assert "the password read from standard input is empty" in result.err


def test_timers_set_and_reset(cli: CLI, agent: RunningAgent) -> None:
    assert cli("pki", "poll-interval", "60", "server-check-interval", "600").code == 0
    pki = _running(agent).find("p:pki", NS)
    assert pki is not None
    assert pki.findtext("p:poll-interval", namespaces=NS) == "60"
    assert pki.findtext("p:server-check-interval", namespaces=NS) == "600"
    assert "Poll interval : 60 s (1m 0s)" in cli("show").out
    assert cli("no", "pki", "poll-interval").code == 0
    assert "Poll interval : 120 s (2m 0s)" in cli("show").out


def test_timer_out_of_range_error_box(cli: CLI) -> None:
    result = cli("pki", "poll-interval", "0")
    assert result.code == 1
    assert "| Configuration Errors: 1" in result.out
    assert "| 1. poll-interval '0' is invalid: expected a whole number from 1 to 86400" in (
        result.out)
