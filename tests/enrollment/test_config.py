"""Parsing running into the daemon's configuration model."""

from __future__ import annotations

from typing import Any

import pytest

from agent.datastore.warnings import enrollment_warnings
from agent.enrollment.config import ConfigError, RenewRequest, parse_config
from tests.enrollment.helpers import enroll_entry, running, server_entry


def test_defaults_applied() -> None:
    config = parse_config(running([server_entry()], [enroll_entry()]))

    server = config.servers["xpki-srv"]
    enroll = config.enrollments["mycert1"]
    assert server.enabled
    assert server.cipher == "aes128-cbc"
    assert server.renew_request is RenewRequest.RENEWAL_REQ
    assert server.fingerprint == "aa" * 32
    assert enroll.keysize == 2048
    assert enroll.renewal_threshold == 80
    assert config.server_check_interval == 3600


def test_password_not_in_repr() -> None:
    config = parse_config(running([server_entry()], [enroll_entry(password="s3cr3t-value")]))

    assert "s3cr3t-value" not in repr(config)


@pytest.mark.parametrize("change", [
    {"dn": "CN=other, C=UK"},
    {"keysize": 4096},
    {"profile": "tls-client"},
    {"san": {"dns-name": ["device.example.net"]}},
    {"server": "win-srv"},
])
def test_request_digest_follows_request(change: dict[str, Any]) -> None:
    before = parse_config(running([server_entry()], [enroll_entry()]))
    after = parse_config(running([server_entry()], [enroll_entry(**change)]))

    assert (before.enrollments["mycert1"].request_digest()
            != after.enrollments["mycert1"].request_digest())


def test_request_digest_ignores_password() -> None:
    before = parse_config(running([server_entry()], [enroll_entry(password="one")]))
    after = parse_config(running([server_entry()], [enroll_entry(password="two")]))

    assert (before.enrollments["mycert1"].request_digest()
            == after.enrollments["mycert1"].request_digest())


@pytest.mark.parametrize("entry", [
    enroll_entry(),
    enroll_entry(password=None),
    enroll_entry(san={}),
    enroll_entry(password=None, san={"ip-address": []}),
])
def test_warnings_match_datastore(entry: dict[str, Any]) -> None:
    entry = {key: value for key, value in entry.items() if value is not None}
    document = running([server_entry()], [entry])

    parsed = parse_config(document).enrollments["mycert1"].warnings()

    assert list(parsed) == enrollment_warnings(document).get("mycert1", [])


def test_invalid_entry_raises() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(running([{"id": 1, "label": "x"}], []))

    assert "enroll-server" in info.value.path
