"""Golden output of the show views against a running agent and two test CAs.

The output goes through `tests.cli.live.normalise`, which replaces the
times, fingerprints, transactionIDs and ports that change from run to run.
Relative times use the injected now of `tests.cli.live.NOW`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.cli.golden import assert_golden
from tests.cli.live import CLI, make_cli, normalise
from tests.fixtures.agent import RunningAgent

WAIT_TIMEOUT = 60.0
OPENXPKI_CHALLENGE = "demo-challenge"

pytestmark = pytest.mark.slow


def _wait(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _json(cli: CLI, *words: str) -> dict:  # type: ignore[type-arg]
    result = cli("--format", "json", *words)
    assert result.code == 0, result.out + result.err
    return dict(json.loads(result.out)["pki-agent:pki"])


def _states(cli: CLI) -> dict[str, str]:
    enrollments = _json(cli, "cert", "show").get("cert", {}).get("enroll", [])
    return {item["name"]: item.get("state", {}).get("state", "") for item in enrollments}


def _statuses(cli: CLI) -> list[str]:
    return [item.get("state", {}).get("status", "")
            for item in _json(cli, "show").get("enroll-server", [])]


def _normalise_ra_labels(text: str) -> str:
    """Replace the NDES RA labels in the encryption and signer lines with 'win-srv+ra*'.

    NOTE: which of NDES's two RA certificates gets 'win-srv+ra' and which
    'win-srv+ra-2' changes from run to run, so only the pair is checked.
    """
    lines = text.splitlines(keepends=True)
    ra_lines = [index for index, line in enumerate(lines)
                if line.startswith(("Encryption cert : win-srv", "Signer cert     : win-srv"))]
    if not ra_lines:
        return text
    labels = sorted(lines[index].split(": ", 1)[1].strip() for index in ra_lines)
    assert labels == ["win-srv+ra", "win-srv+ra-2"], labels
    for index in ra_lines:
        lines[index] = lines[index].split(": ", 1)[0] + ": win-srv+ra*\n"
    return "".join(lines)


def test_show_views_golden(
    agent: RunningAgent,
    scep_ca_factory: Callable[..., object],
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli = make_cli(agent, capsys)
    xpki = scep_ca_factory("openxpki", approval="manual", challenge=OPENXPKI_CHALLENGE)
    ndes = scep_ca_factory("ndes", approval="manual")
    assert cli("enroll-server", "1", "label", "xpki-srv", "description", "OpenXPKI test CA",
               "url", xpki.url, "fingerprint", xpki.root_sha256,  # type: ignore[attr-defined]
               "cipher", "aes256-cbc", "renew-request", "pkcs-req").code == 0
    assert cli("enroll-server", "2", "label", "win-srv", "url", ndes.url,  # type: ignore[attr-defined]
               "fingerprint", ndes.root_md5, "fingerprint-alg", "md5",  # type: ignore[attr-defined]
               "cipher", "3des-cbc").code == 0
    _wait("both servers responding", lambda: _statuses(cli) == ["responding", "responding"])

    challenge = ndes.issue_challenge()  # type: ignore[attr-defined]
    assert cli("cert", "enroll", "mycert1", "server", "xpki-srv", "password", OPENXPKI_CHALLENGE,
               "dn", "CN=mycert1.co.uk, C=UK", "san", "192.168.100.101",
               "profile", "tls-server").code == 0
    assert cli("cert", "enroll", "mycert2", "server", "win-srv", "password", challenge,
               "dn", "CN=mycert2.co.uk, C=UK", "profile", "IPSECIntermediateOffline").code == 0
    assert cli("cert", "enroll", "mycert3", "server", "win-srv", "dn", "CN=mycert3.co.uk, C=UK",
               "san", "192.168.100.103").code == 0
    _wait("two requests pending at the CAs and one rejected",
          lambda: len(xpki.pending()) == 1 and len(ndes.pending()) == 1  # type: ignore[attr-defined]
          and _states(cli).get("mycert3") == "rejected")

    views = {
        "live-show.txt": ["show"],
        "live-cert-show-pending.txt": ["cert", "show"],
        "live-cert-show-mycert1-pending.txt": ["cert", "show", "mycert1"],
        "live-cert-show-mycert2-pending.txt": ["cert", "show", "mycert2"],
        "live-cert-show-mycert3-rejected.txt": ["cert", "show", "mycert3"],
        "live-enroll-server-show-1.txt": ["enroll-server", "show", "1"],
        "live-enroll-server-show-2.txt": ["enroll-server", "show", "2"],
    }
    for name, words in views.items():
        result = cli(*words)
        assert result.code == 0, result.out
        assert_golden(name, _normalise_ra_labels(normalise(result.out)))

    xpki.approve()  # type: ignore[attr-defined]
    ndes.approve()  # type: ignore[attr-defined]
    assert cli("trigger").code == 0
    _wait("mycert1 and mycert2 issued",
          lambda: _states(cli) == {"mycert1": "issued", "mycert2": "issued",
                                   "mycert3": "rejected"})
    assert_golden("live-cert-show-issued.txt", normalise(cli("cert", "show").out))
    assert_golden("live-cert-show-mycert1-issued.txt",
                  normalise(cli("cert", "show", "mycert1").out))
    renew = cli("cert", "renew", "mycert2")
    assert renew.code == 0, renew.out
    assert renew.out == "renewal of mycert2 started; see 'pki-cli cert show mycert2'\n"

    # The remove-ca-certificate RPC deletes one CA-local row by label. The
    # agent checks an enabled server again at once and downloads the row
    # again, so the server is disabled first.
    assert cli("enroll-server", "1", "enabled", "false").code == 0
    assert "xpki-srv-1.b2ca1c1f" in cli("cert", "show").out
    removed = cli("cert", "remove-ca", "xpki-srv-1.b2ca1c1f")
    assert removed.code == 0
    assert removed.out == "CA certificate xpki-srv-1.b2ca1c1f removed; see 'pki-cli cert show'\n"
    assert "xpki-srv-1.b2ca1c1f" not in cli("cert", "show").out
