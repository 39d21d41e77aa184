"""Options and environment defaults of pki-cli."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tools.pki_cli.grammar import SetEnrollment, ShowCertificates, ShowEnrollment, UsageError
from tools.pki_cli.main import parse_options


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PKI_CLI_HOST", "PKI_CLI_PORT", "PKI_CLI_USER", "PKI_CLI_KEY",
                 "PKI_CLI_HOST_KEY", "PKI_CLI_NOW"):
        monkeypatch.delenv(name, raising=False)
    options = parse_options(["show"])
    assert options.settings.host == "127.0.0.1"
    assert options.settings.port == 830
    assert options.settings.user == "admin"
    assert options.settings.key is None
    assert options.settings.host_key is None
    assert options.now is None
    assert options.output_format == "text"


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKI_CLI_HOST", "::1")
    monkeypatch.setenv("PKI_CLI_PORT", "8830")
    monkeypatch.setenv("PKI_CLI_USER", "operator")
    monkeypatch.setenv("PKI_CLI_KEY", "/keys/id")
    monkeypatch.setenv("PKI_CLI_NOW", "2026-12-04T21:00:00Z")
    options = parse_options(["show"])
    assert options.settings.host == "::1"
    assert options.settings.port == 8830
    assert options.settings.user == "operator"
    assert options.settings.key == "/keys/id"
    assert options.now == datetime(2026, 12, 4, 21, tzinfo=UTC)


def test_option_overrides_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKI_CLI_PORT", "8830")
    assert parse_options(["--port", "1830", "show"]).settings.port == 1830


def test_options_after_words() -> None:
    options = parse_options(["cert", "show", "--watch", "--format", "json"])
    assert options.command == ShowCertificates()
    assert options.watch
    assert options.output_format == "json"


def test_double_dash_keeps_dash_values() -> None:
    options = parse_options(["--", "cert", "enroll", "c", "password", "-p4ss"])
    assert options.command == SetEnrollment("c", (("password", "-p4ss"),), None)


def test_double_dash_after_options() -> None:
    options = parse_options(["cert", "show", "--format", "json", "--", "mycert1"])
    assert options.command == ShowEnrollment("mycert1")
    assert options.output_format == "json"


def test_invalid_now() -> None:
    with pytest.raises(UsageError) as caught:
        parse_options(["--now", "yesterday", "show"])
    assert "is not RFC 3339" in str(caught.value)


def test_now_without_offset_rejected() -> None:
    with pytest.raises(UsageError):
        parse_options(["--now", "2026-12-04T21:00:00", "show"])


def test_help_lists_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_options(["--help"])
    text = capsys.readouterr().out
    assert "  3  no NETCONF session" in text
    assert "  4  'cert show NAME' or 'enroll-server show ID' found no such object" in text
