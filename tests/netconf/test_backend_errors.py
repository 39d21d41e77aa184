"""Errors that the backend's RPC handlers raise, as the client sees them."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from agent.hooks import BackendCondition, BackendError, Hooks, JSONData, RPCHandler
from tests.netconf.rpc_harness import (
    PKI_NS,
    SERVERS_XML,
    edit,
    error_fields,
    errors,
    harness_fixture,
    is_ok,
)


def failing(error: Exception) -> RPCHandler:
    async def handler(rpc_input: JSONData) -> JSONData | None:
        raise error
    return handler


def call(tmp_path: Path, name: str, body: str, handler: RPCHandler) -> etree._Element:
    hooks = Hooks(rpc_handlers={f"pki-agent:{name}": handler})
    for harness in harness_fixture(tmp_path, hooks):
        session = harness.open()
        assert is_ok(harness.send(session, edit(SERVERS_XML)))
        assert is_ok(harness.send(session, "<commit/>"))
        return harness.send(session, f'<{name} xmlns="{PKI_NS}">{body}</{name}>')
    raise AssertionError("the harness fixture yielded nothing")


@pytest.mark.parametrize("condition", list(BackendCondition))
def test_backend_condition_becomes_error_tag(tmp_path: Path,
                                             condition: BackendCondition) -> None:
    error = BackendError("CA certificate 'xpki-srv+ra' not found", condition,
                         path="/pki-agent:remove-ca-certificate/label")
    reply = call(tmp_path, "remove-ca-certificate", "<label>xpki-srv+ra</label>", failing(error))

    fields = error_fields(errors(reply)[0])
    assert fields["error-type"] == "application"
    assert fields["error-tag"] == condition.value
    assert fields["error-message"] == "CA certificate 'xpki-srv+ra' not found"
    assert fields["error-path"] == "/pki-agent:remove-ca-certificate/label"


def test_backend_error_without_path(tmp_path: Path) -> None:
    error = BackendError("enrollment 'mycert1' has no issued certificate; use re-enroll",
                         BackendCondition.DATA_MISSING)
    reply = call(tmp_path, "renew-now", "<name>mycert1</name>", failing(error))

    fields = error_fields(errors(reply)[0])
    assert fields["error-tag"] == "data-missing"
    assert "error-path" not in fields
    assert fields["error-message"] == error.message


def test_default_condition_is_operation_failed(tmp_path: Path) -> None:
    reply = call(tmp_path, "trigger", "", failing(BackendError("daemon is stopping")))

    fields = error_fields(errors(reply)[0])
    assert fields["error-tag"] == "operation-failed"
    assert fields["error-message"] == "daemon is stopping"
