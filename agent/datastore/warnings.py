"""Configuration warnings of enrollments: problems that do not block a commit.

The enrollment daemon imports this module to publish the same warnings in
its operational state.
"""

from __future__ import annotations

from typing import Any

PASSWORD_MISSING = "challenge password missing"
SAN_MISSING = "SubjectAlternativeName missing"


def enrollment_warnings(config: dict[str, Any]) -> dict[str, list[str]]:
    """Map each enrollment name to its warnings, given RFC 7951 JSON of running.

    Enrollments without warnings are left out.
    """
    pki = config.get("pki-agent:pki", {})
    result: dict[str, list[str]] = {}
    for entry in pki.get("cert", {}).get("enroll", []):
        warnings = []
        if not entry.get("password"):
            warnings.append(PASSWORD_MISSING)
        if not any(entry.get("san", {}).values()):
            warnings.append(SAN_MISSING)
        if warnings:
            result[entry["name"]] = warnings
    return result
