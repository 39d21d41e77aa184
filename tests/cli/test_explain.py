"""Rewording of the agent's rpc-errors with the command and the configuration."""

from __future__ import annotations

import pytest

from tools.pki_cli.client import ConfigError
from tools.pki_cli.explain import Configured, explain, needs_context
from tools.pki_cli.grammar import parse_words

CONFIGURED = Configured({1: "xpki-srv", 2: "win-srv"}, {"mycert2": "win-srv"})


@pytest.mark.parametrize(
    ("words", "error", "expected"),
    [
        (["no", "enroll-server", "2"],
         ConfigError("data-missing", "server label not defined in the system",
                     "/pki-agent:pki/cert/enroll[name='mycert2']/server"),
         "enroll-server 2 (win-srv) is used by enrollment mycert2: delete the enrollment "
         "or give it another server first"),
        (["cert", "enroll", "c1", "server", "nosuch-srv", "dn", "CN=c1"],
         ConfigError("data-missing", "server label not defined in the system",
                     "/pki-agent:pki/cert/enroll[name='c1']/server"),
         "cert enroll c1: server 'nosuch-srv' is not the label of any enroll-server; "
         "configured labels: xpki-srv, win-srv"),
        (["cert", "re-enroll", "nosuch"],
         ConfigError("data-missing", 'Invalid leafref value "nosuch"',
                     "/pki-agent:re-enroll/name"),
         "re-enroll: no enrollment named 'nosuch'; configured enrollments: mycert2"),
        (["enroll-server", "9", "label", "x9"],
         ConfigError("data-missing", 'Mandatory node "url" instance does not exist.', ""),
         "enroll-server 9: url missing; a new server needs label, url, fingerprint"),
        (["enroll-server", "9", "label", "x9"],
         ConfigError("data-missing", "fingerprint is required",
                     "/pki-agent:pki/enroll-server[id='9']/fingerprint"),
         "enroll-server 9: fingerprint missing; a new server needs label, url, fingerprint"),
        (["no", "cert", "enroll", "gone"],
         ConfigError("data-missing", "no data exists at /x to delete", "/x"),
         "cert enroll gone not found; configured enrollments: mycert2"),
    ],
)
def test_error_reworded(words: list[str], error: ConfigError, expected: str) -> None:
    assert needs_context([error])
    [explained] = explain([error], parse_words(words), CONFIGURED)
    assert explained.message == expected
    assert explained.path == ""


def test_unmatched_error_kept() -> None:
    error = ConfigError("invalid-value", "server label missing",
                        "/pki-agent:pki/cert/enroll[name='c1']")
    assert not needs_context([error])
    assert explain([error], parse_words(["cert", "enroll", "c1", "dn", "CN=c1"]),
                   CONFIGURED) == [error]
