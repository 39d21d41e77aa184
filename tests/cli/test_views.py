"""Golden output of every show view and box, rendered from a fixed state with an injected now."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from tests.cli.golden import assert_golden
from tools.pki_cli import state, views
from tools.pki_cli.text import format_duration, format_relative, render_box, render_table

STATE_XML = Path(__file__).parent / "data" / "state.xml"
NOW = datetime(2026, 12, 4, 21, 0, 0, tzinfo=UTC)


@pytest.fixture
def data() -> state.JSONData:
    return state.pki_from_xml(etree.parse(str(STATE_XML)).getroot())


def test_show_daemon_golden(data: state.JSONData) -> None:
    assert_golden("show.txt", views.render_daemon(data, NOW))


def test_cert_show_golden(data: state.JSONData) -> None:
    assert_golden("cert-show.txt", views.render_certificates(data))


@pytest.mark.parametrize("name", ["mycert1", "mycert2", "missing"])
def test_cert_show_name_golden(data: state.JSONData, name: str) -> None:
    assert_golden(f"cert-show-{name}.txt", views.render_enrollment(data, name, NOW))


@pytest.mark.parametrize("server_id", [1, 2, 9])
def test_enroll_server_show_golden(data: state.JSONData, server_id: int) -> None:
    assert_golden(f"enroll-server-show-{server_id}.txt", views.render_server(data, server_id, NOW))


def test_error_box_golden() -> None:
    errors = [
        "server label missing (at /pki-agent:pki/cert/enroll[name='mycert3'])",
        "server label not defined in the system (at /pki-agent:pki/cert/enroll[name='mycert4']"
        "/server)",
    ]
    assert_golden("errors.txt", views.render_errors(errors))


def test_warning_box_golden(data: state.JSONData) -> None:
    assert_golden("warnings.txt", views.render_warnings(views.collect_warnings(data)))


def test_daemon_uptime_from_started() -> None:
    data = {"pki-agent:pki": {"daemon": {"status": "running", "started": "2026-12-04T20:59:00Z"}}}
    assert "Uptime        : 1m 0s" in views.render_daemon(data, NOW)


def test_password_masked_never_echoed() -> None:
    data = {"pki-agent:pki": {"cert": {"enroll": [
        {"name": "c", "password": "s3cret-challenge", "state": {"state": "pending"}}]}}}
    text = views.render_enrollment(data, "c", NOW)
    assert "s3cret-challenge" not in text
    assert "Password          : ********" in text


def test_password_missing_shown() -> None:
    assert views.password_text(["challenge password missing"]) == "(not set)"
    assert views.password_text(["SubjectAlternativeName missing"]) == views.MASKED_PASSWORD


@pytest.mark.parametrize(
    ("enrollment_state", "expected"),
    [("pending", "PENDING"), ("failed", "PENDING"), ("rejected", "REJECTED")],
)
def test_placeholder_row_for_enrollment(enrollment_state: str, expected: str) -> None:
    body = {"cert": {"enroll": [{"name": "c", "state": {"state": enrollment_state}}]}}
    rows = views.certificate_rows(body)
    assert rows == [{"label": "c", "type": "pub", "subject-hash": expected}]


def test_no_placeholder_when_agent_lists_row() -> None:
    row = {"label": "c", "type": "pub", "subject-hash": "PENDING"}
    body = {"cert": {"enroll": [{"name": "c", "state": {"state": "pending"}}],
                     "certificates": {"certificate": [row]}}}
    assert views.certificate_rows(body) == [row]


def test_no_placeholder_for_issued() -> None:
    body = {"cert": {"enroll": [{"name": "c", "state": {"state": "issued"}}]}}
    assert views.certificate_rows(body) == []


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0s"), (59, "59s"), (60, "1m 0s"), (3723, "1h 2m 3s"), (90061, "1d 1h 1m 1s"),
     (86400, "1d 0h 0m 0s"), (-5, "0s")],
)
def test_format_duration(seconds: int, expected: str) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-04T21:01:00Z", "2026-12-04 21:01:00 (in 1m 0s)"),
        ("2026-12-04T20:59:50Z", "2026-12-04 20:59:50 (10s ago)"),
        ("2026-12-04T22:01:00+01:00", "2026-12-04 21:01:00 (in 1m 0s)"),
        ("not a time", "not a time"),
        (None, ""),
    ],
)
def test_format_relative(value: str | None, expected: str) -> None:
    assert format_relative(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "past", "expected"),
    [
        # Half a second ago is in the past, not "in 0s".
        ("2026-12-04T20:59:59.5Z", False, "2026-12-04 20:59:59 (1s ago)"),
        ("2026-12-04T21:00:00Z", False, "2026-12-04 21:00:00 (0s ago)"),
        # A last attempt is past even when the agent's clock is ahead.
        ("2026-12-04T21:00:03Z", True, "2026-12-04 21:00:03 (0s ago)"),
        ("2026-12-04T20:59:50Z", True, "2026-12-04 20:59:50 (10s ago)"),
    ],
)
def test_format_relative_past(value: str, past: bool, expected: str) -> None:
    assert format_relative(value, NOW, past=past) == expected


def test_table_strips_trailing_blanks() -> None:
    lines = render_table(["A", "B"], [["x", ""], ["longer", "y"]])
    assert lines == ["A       B", "x", "longer  y"]


def test_box_wraps_long_items() -> None:
    lines = render_box("Configuration Errors: 1", ["word " * 30])
    assert all(len(line) == len(lines[0]) for line in lines)
    assert lines[3].startswith("| 1. word")
    assert lines[4].startswith("|    word")


def test_empty_box_has_title_only() -> None:
    assert render_box("Configuration Warnings: 0", []) == [
        "+---------------------------+",
        "| Configuration Warnings: 0 |",
        "+---------------------------+",
    ]


def test_long_message_shortened_in_table() -> None:
    message = "SCEP GetCACert failed: " + "x" * 100
    data = {"pki-agent:pki": {"enroll-server": [
        {"id": 1, "label": "s1", "state": {"status": "server-not-reachable", "message": message}}]}}
    row = views.render_daemon(data, NOW).splitlines()[-1]
    assert row.endswith("x" * 34 + "...")
    assert message not in row
    assert message in views.render_server(data, 1, NOW)


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ("SCEP CA", "SCEP CA"),
        ("c" * 64, "c" * 64),
        ("emailAddress=" + "e" * 60 + ",C=US", "emailAddress=" + "e" * 48 + "..."),
    ],
)
def test_cert_show_name_cell(name: str, cell: str) -> None:
    row = {"label": "mdm-srv", "type": "ca-local", "subject-hash": "0a1b2c3d", "name": name,
           "distribution": "scep"}
    data = {"pki-agent:pki": {"cert": {"certificates": {"certificate": [row]}}}}

    line = views.render_certificates(data).splitlines()[1]

    assert f"  {cell}  SCEP  mdm-srv" in line
