"""The daemon's RPC errors in the replies that ncclient receives: error-tag, error-path, message."""

from __future__ import annotations

from typing import Any

import pytest
from ncclient.operations.rpc import RPCError

from tests.e2e.netconf import call, commit, enroll_xml, server_xml


@pytest.mark.parametrize(("rpc", "leaves", "tag", "path", "text"), [
    ("remove-ca-certificate", {"label": "absent+ra"}, "data-missing",
     "/pki-agent:remove-ca-certificate/label", "no CA-local certificate with this label"),
    ("renew-now", {"name": "device1"}, "invalid-value",
     "/pki-agent:renew-now/name", "has no issued certificate to renew"),
], ids=["remove-unknown-label", "renew-without-certificate"])
def test_rpc_error_tag_and_path(agent_factory: Any, rpc: str, leaves: dict[str, str], tag: str,
                                path: str, text: str) -> None:
    agent = agent_factory()
    with agent.connect() as session:
        # The URL is never reached: the server is disabled.
        commit(session, server_xml(1, "off-srv", "http://127.0.0.1:9/scep", "11" * 32,
                                   enabled=False),
               enroll_xml("device1", "off-srv", "CN=device1", password="x"))

        with pytest.raises(RPCError) as caught:
            call(session, rpc, **leaves)

    assert caught.value.tag == tag
    assert caught.value.path == path
    assert text in caught.value.message
