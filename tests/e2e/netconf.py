"""NETCONF helpers for the end-to-end tests: configuration XML, state reads and RPCs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape

from lxml import etree
from ncclient import manager
from ncclient.xml_ import to_ele

PKI_NS = "urn:pki-agent:yang:pki-agent"
BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
NS = {"p": PKI_NS}
# A wait, not a timing assertion: an enrollment on loopback takes well under a second.
WAIT_TIMEOUT = 60.0

T = TypeVar("T")


def leaf(name: str, value: object | None) -> str:
    if value is None:
        return ""
    return f"<{name}>{escape(str(value))}</{name}>"


def server_xml(server_id: int, label: str, url: str, fingerprint: str,
               fingerprint_alg: str | None = None, cipher: str | None = None,
               renew_request: str | None = None, enabled: bool | None = None) -> str:
    return ("<enroll-server>" + leaf("id", server_id) + leaf("label", label) + leaf("url", url)
            + leaf("fingerprint", fingerprint) + leaf("fingerprint-alg", fingerprint_alg)
            + leaf("cipher", cipher) + leaf("renew-request", renew_request)
            + leaf("enabled", None if enabled is None else str(enabled).lower())
            + "</enroll-server>")


def enroll_xml(name: str, server: str, dn: str, password: str | None = None,
               ip_address: str | None = None, profile: str | None = None,
               renewal_threshold: int | None = None, keysize: int | None = None) -> str:
    san = f"<san>{leaf('ip-address', ip_address)}</san>" if ip_address else ""
    return ("<enroll>" + leaf("name", name) + leaf("server", server) + leaf("password", password)
            + leaf("dn", dn) + san + leaf("profile", profile)
            + leaf("renewal-threshold", renewal_threshold) + leaf("keysize", keysize)
            + "</enroll>")


def commit(session: manager.Manager, servers: str = "", enrollments: str = "",
           poll_interval: int | None = 1, operation: str | None = None) -> None:
    """Merge (or apply `operation` to) the entries in candidate, then commit."""
    attribute = f' xmlns:nc="{BASE_NS}" nc:operation="{operation}"' if operation else ""
    cert = f"<cert>{enrollments}</cert>" if enrollments else ""
    _commit_pki(session, f"{leaf('poll-interval', poll_interval)}{servers}{cert}", attribute)


def delete_server(session: manager.Manager, server_id: int) -> None:
    _commit_pki(session, f'<enroll-server xmlns:nc="{BASE_NS}" nc:operation="delete">'
                         f"<id>{server_id}</id></enroll-server>")


def _commit_pki(session: manager.Manager, content: str, attribute: str = "") -> None:
    """Edit the pki container in candidate with `content`, then commit."""
    body = f'<config xmlns="{BASE_NS}"><pki xmlns="{PKI_NS}"{attribute}>{content}</pki></config>'
    session.edit_config(target="candidate", config=body)
    session.commit()


def get_pki(session: manager.Manager) -> etree._Element:
    reply = session.get(filter=("subtree", f'<pki xmlns="{PKI_NS}"/>'))
    found = reply.data_ele.find(f"{{{PKI_NS}}}pki")
    assert found is not None, "get returned no pki container"
    return found


def _children(element: etree._Element | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if element is None:
        return values
    for child in element:
        name = etree.QName(child).localname
        if name in values:
            existing = values[name]
            values[name] = [*existing, child.text] if isinstance(existing, list) else [
                existing, child.text]
        else:
            values[name] = child.text
    return values


def enrollment_state(session: manager.Manager, name: str) -> dict[str, Any]:
    pki = get_pki(session)
    return _children(pki.find(f"p:cert/p:enroll[p:name='{name}']/p:state", NS))


def server_state(session: manager.Manager, server_id: int) -> dict[str, Any]:
    pki = get_pki(session)
    return _children(pki.find(f"p:enroll-server[p:id='{server_id}']/p:state", NS))


def certificate_rows(session: manager.Manager) -> list[dict[str, Any]]:
    pki = get_pki(session)
    return [_children(row) for row in pki.findall("p:cert/p:certificates/p:certificate", NS)]


def row(rows: list[dict[str, Any]], label: str, kind: str) -> dict[str, Any]:
    matches = [r for r in rows if r.get("label") == label and r.get("type") == kind]
    assert len(matches) == 1, f"expected one {kind} row {label!r}, got {rows}"
    return matches[0]


def call(session: manager.Manager, rpc: str, **leaves: str) -> None:
    body = "".join(leaf(name, value) for name, value in leaves.items())
    session.dispatch(to_ele(f'<{rpc} xmlns="{PKI_NS}">{body}</{rpc}>'))


def wait_until(probe: Callable[[], T | None], what: str,
               timeout: float = WAIT_TIMEOUT) -> T:
    """Call `probe` until it returns a true value; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def wait_for_state(session: manager.Manager, name: str, state: str,
                   **expected: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        current = enrollment_state(session, name)
        if current.get("state") != state:
            return None
        if any(current.get(key) != value for key, value in expected.items()):
            return None
        return current

    return wait_until(probe, f"enrollment {name} {state} {expected}")


def wait_for_server(session: manager.Manager, server_id: int, status: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        current = server_state(session, server_id)
        return current if current.get("status") == status else None

    return wait_until(probe, f"server {server_id} {status}")


def ca_requests(state_dir: Path) -> list[dict[str, Any]]:
    """Return the test CA's request records, oldest first (its store's JSON files)."""
    records = [json.loads(path.read_text()) for path in (state_dir / "requests").glob("*.json")]
    return sorted(records, key=lambda record: record["created"])


def stored_certificate_path(state_dir: Path, name: str) -> Path:
    """Return the agent's current certificate file for an enrollment (read-only access)."""
    directory = state_dir / "pki" / "enrollments" / name
    pointer = json.loads((directory / "lineage.json").read_text())
    assert pointer["certificate"], f"no certificate stored for {name}: {pointer}"
    return directory / pointer["certificate"]


def stored_key_path(state_dir: Path, name: str) -> Path:
    directory = state_dir / "pki" / "enrollments" / name
    pointer = json.loads((directory / "lineage.json").read_text())
    assert pointer["key"], f"no key stored for {name}: {pointer}"
    return directory / pointer["key"]
