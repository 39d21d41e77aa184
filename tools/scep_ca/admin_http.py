"""The admin endpoint's routes: pending requests, decisions, challenges and faults.

Requests and replies are JSON, except NDES's challenge page, which is HTML.

    GET    /status                 personality, SCEP path, Root CA fingerprints
    GET    /pending                pending requests, oldest first
    POST   /approve                {"transaction_id": ...}; omit it when one is pending
    POST   /reject                 {"transaction_id": ..., "fail_info": "badRequest"}
    POST   /challenge              a new one-time challenge password
    GET    /faults, PUT /faults    the fault settings (see `tools.scep_ca.faults`)
    DELETE /faults                 clear every fault
    GET    /certsrv/mscep_admin/   ndes only: NDES's challenge page
"""

from __future__ import annotations

import html
import json
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

from agent.scep.attributes import FailInfo
from tools.scep_ca.authority import CertificateAuthority
from tools.scep_ca.errors import (
    AmbiguousRequestError,
    ChallengeLimitError,
    InvalidSettingError,
    RequestNotFoundError,
    RequestStateError,
    SCEPCAError,
)
from tools.scep_ca.faults import FaultSettings, parse_faults
from tools.scep_ca.issuing import fingerprint_hex, ndes_thumbprint

logger = logging.getLogger(__name__)

AdminReply = tuple[int, str, bytes]

_JSON = "application/json"
_STATUS_BY_ERROR: dict[type[SCEPCAError], int] = {
    RequestNotFoundError: 404,
    RequestStateError: 409,
    AmbiguousRequestError: 409,
    ChallengeLimitError: 429,
    InvalidSettingError: 400,
}

FAIL_INFO_BY_LABEL = {member.label: member for member in FailInfo}


def parse_fail_info(value: object) -> FailInfo:
    """Accept a failInfo as its RFC 8894 name ("badRequest") or its number."""
    text = str(value)
    if text in FAIL_INFO_BY_LABEL:
        return FAIL_INFO_BY_LABEL[text]
    if text in {member.value for member in FailInfo}:
        return FailInfo(text)
    raise InvalidSettingError("failInfo", value, ", ".join(FAIL_INFO_BY_LABEL))


def status_of(authority: CertificateAuthority) -> dict[str, Any]:
    root = authority.hierarchy.root.certificate
    return {
        "personality": authority.personality.name,
        "scep_path": authority.personality.scep_path,
        "root_sha256": fingerprint_hex(root, "sha256"),
        "root_md5": fingerprint_hex(root, "md5"),
        "outstanding_challenges": authority.challenges.outstanding(),
    }


def _json(status: int, data: Any) -> AdminReply:
    return status, _JSON, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def _load_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidSettingError("request body", body[:40], f"JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidSettingError("request body", data, "a JSON object")
    return data


def _approve(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    return _json(200, authority.approve(data.get("transaction_id")))


def _reject(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    fail_info = parse_fail_info(data.get("fail_info", "badRequest"))
    return _json(200, authority.reject(data.get("transaction_id"), fail_info))


def _challenge(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    value, expires = authority.issue_challenge()
    return _json(200, {"challenge": value, "expires": expires.isoformat()})


def _get_faults(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    return _json(200, authority.faults().to_json())


def _put_faults(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    settings = parse_faults(data)
    authority.set_faults(settings)
    return _json(200, settings.to_json())


def _clear_faults(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    authority.set_faults(FaultSettings())
    return _json(200, FaultSettings().to_json())


def _pending(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    return _json(200, authority.pending())


def _status(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    return _json(200, status_of(authority))


def _mscep_admin(authority: CertificateAuthority, data: dict[str, Any]) -> AdminReply:
    """Render NDES's challenge page: the CA thumbprint and a new password, or 'cache full'."""
    thumbprint = ndes_thumbprint(authority.hierarchy.root.certificate)
    try:
        value, _ = authority.issue_challenge()
        text = (
            f"<P> The thumbprint (hash value) for the CA certificate is: <B> {thumbprint} </B>"
            f"<P> The enrollment challenge password is: <B> {html.escape(value)} </B>"
            "<P> This password can be used only once and will expire within 60 minutes."
        )
    except ChallengeLimitError:
        text = (
            "<P> The password cache is full. You can use one of the passwords that "
            "were issued, or wait until one of them expires."
            f"<P> The thumbprint (hash value) for the CA certificate is: <B> {thumbprint} </B>"
        )
    title = "<Head><Title>Network Device Enrollment Service</Title></Head>"
    page = f"<HTML>{title}<Body>{text}</Body></HTML>"
    return 200, "text/html; charset=utf-8", page.encode()


Route = Callable[[CertificateAuthority, dict[str, Any]], AdminReply]

_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/status"): _status,
    ("GET", "/pending"): _pending,
    ("POST", "/approve"): _approve,
    ("POST", "/reject"): _reject,
    ("POST", "/challenge"): _challenge,
    ("GET", "/faults"): _get_faults,
    ("PUT", "/faults"): _put_faults,
    ("DELETE", "/faults"): _clear_faults,
}


def handle_admin(
    authority: CertificateAuthority, method: str, target: str, body: bytes
) -> AdminReply:
    """Dispatch one admin request; errors become JSON {"error": ...} with a 4xx status."""
    path = urllib.parse.urlsplit(target).path.rstrip("/") or "/"
    route = _ROUTES.get((method, path))
    if path == "/certsrv/mscep_admin" and method == "GET":
        if authority.personality.name != "ndes":
            return _json(404, {"error": "the challenge page exists only for the ndes personality"})
        route = _mscep_admin
    if route is None:
        return _json(404, {"error": f"no admin route {method} {path}"})
    try:
        return route(authority, _load_body(body))
    except SCEPCAError as exc:
        logger.info("admin %s %s failed: %s", method, path, exc)
        return _json(_STATUS_BY_ERROR.get(type(exc), 400), {"error": str(exc)})
