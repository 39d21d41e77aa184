"""Enrollment warnings and the default state provider."""

from __future__ import annotations

from typing import Any

import pytest

from agent.datastore import default_state, enrollment_warnings


def config(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"pki-agent:pki": {"enroll-server": [{"id": 3, "label": "ca"}],
                              "cert": {"enroll": list(entries)}}}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "a", "password": "p", "san": {"dns-name": ["x.example"]}}, None),
        ({"name": "a", "san": {"dns-name": ["x.example"]}}, ["challenge password missing"]),
        ({"name": "a", "password": "p"}, ["SubjectAlternativeName missing"]),
        ({"name": "a", "password": "p", "san": {}}, ["SubjectAlternativeName missing"]),
        ({"name": "a"}, ["challenge password missing", "SubjectAlternativeName missing"]),
    ],
)
def test_enrollment_warnings(entry: dict[str, Any], expected: list[str] | None) -> None:
    assert enrollment_warnings(config(entry)).get("a") == expected


def test_default_state_shows_nothing_checked() -> None:
    state = default_state(config({"name": "a", "password": "p"}))["pki-agent:pki"]

    assert state["daemon"] == {"status": "not-running"}
    assert state["enroll-server"] == [{"id": 3, "state": {"status": "not-checked"}}]
    assert state["cert"]["enroll"] == [
        {"name": "a", "state": {"warning": ["SubjectAlternativeName missing"]}}]


def test_default_state_of_empty_config() -> None:
    assert default_state({}) == {"pki-agent:pki": {"daemon": {"status": "not-running"}}}
