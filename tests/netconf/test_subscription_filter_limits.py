"""create-subscription xpath filters get the same cost limits as get, and no regular expressions."""

from __future__ import annotations

import pytest

from tests.netconf.rpc_harness import (
    PKI_NS,
    Harness,
    error_fields,
    errors,
    is_ok,
)

NOTIFICATION_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
REGEX_NS = "http://exslt.org/regular-expressions"


def subscribe(select: str) -> str:
    return (f'<create-subscription xmlns="{NOTIFICATION_NS}"><filter type="xpath" '
            f'xmlns:p="{PKI_NS}" xmlns:re="{REGEX_NS}" select="{select}"/>'
            "</create-subscription>")


@pytest.mark.parametrize(
    ("select", "reason"),
    [
        ("//*[re:test(., '^(a|a)*$')]", "re:test() is not allowed"),
        ("//*[count(//*) &gt; 0]", "not allowed inside a predicate"),
        ("1+1", "is not a location path"),
    ],
)
def test_costly_subscription_filter_rejected(harness: Harness, select: str, reason: str) -> None:
    reply = harness.send(harness.open(), subscribe(select))
    [error] = errors(reply)
    fields = error_fields(error)
    assert fields["error-tag"] == "invalid-value"
    assert reason in fields["error-message"]


def test_bounded_subscription_filter_accepted(harness: Harness) -> None:
    reply = harness.send(harness.open(), subscribe("/p:server-status-change[p:label='a']"))
    assert is_ok(reply)
