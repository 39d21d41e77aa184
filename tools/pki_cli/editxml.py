"""Build the NETCONF XML that pki-cli sends: edit-config content, get filters and RPCs."""

from __future__ import annotations

from lxml import etree

from tools.pki_cli.grammar import (
    DeleteEnrollment,
    DeleteServer,
    DeleteTimers,
    ModuleRPC,
    SANType,
    SetEnrollment,
    SetServer,
    SetTimers,
)

NETCONF_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
PKI_NS = "urn:pki-agent:yang:pki-agent"
PKI_PREFIX = "pki"
OPERATION = f"{{{NETCONF_NS}}}operation"

ConfigCommand = (
    SetServer | SetEnrollment | SetTimers | DeleteServer | DeleteEnrollment | DeleteTimers
)


def _pki(tag: str) -> str:
    return f"{{{PKI_NS}}}{tag}"


def _config_root() -> tuple[etree._Element, etree._Element]:
    config = etree.Element(f"{{{NETCONF_NS}}}config", nsmap={"nc": NETCONF_NS})
    # NOTE: the agent resolves an identityref prefix only when it is bound
    # on an ancestor of the leaf, so the binding sits here, not on the leaf.
    pki = etree.SubElement(config, _pki("pki"), nsmap={None: PKI_NS, PKI_PREFIX: PKI_NS})
    return config, pki


def _leaf(parent: etree._Element, name: str, value: str) -> etree._Element:
    leaf = etree.SubElement(parent, _pki(name))
    if name == "protocol" and ":" not in value:
        # An identityref value needs a prefix bound in the XML (RFC 7950 §9.10.3),
        # and _config_root binds PKI_PREFIX on the pki element.
        leaf.text = f"{PKI_PREFIX}:{value}"
        return leaf
    leaf.text = value
    return leaf


def _server_entry(pki: etree._Element, server_id: int) -> etree._Element:
    entry = etree.SubElement(pki, _pki("enroll-server"))
    etree.SubElement(entry, _pki("id")).text = str(server_id)
    return entry


def _enrollment_entry(pki: etree._Element, name: str) -> etree._Element:
    cert = etree.SubElement(pki, _pki("cert"))
    entry = etree.SubElement(cert, _pki("enroll"))
    etree.SubElement(entry, _pki("name")).text = name
    return entry


def _build_set_server(pki: etree._Element, command: SetServer) -> None:
    entry = _server_entry(pki, command.server_id)
    for name, value in command.leaves:
        _leaf(entry, name, value)


def _build_set_enrollment(pki: etree._Element, command: SetEnrollment) -> None:
    entry = _enrollment_entry(pki, command.name)
    for name, value in command.leaves:
        _leaf(entry, name, value)
    if command.san is None:
        return
    # The command lists every SAN entry, so it replaces the configured ones.
    san = etree.SubElement(entry, _pki("san"))
    san.set(OPERATION, "replace")
    for san_type in SANType:
        for item in command.san:
            if item.type is san_type:
                etree.SubElement(san, _pki(san_type.value)).text = item.value


def _mark_removed(entry: etree._Element, keys: tuple[str, ...]) -> None:
    if not keys:
        entry.set(OPERATION, "delete")
        return
    for key in keys:
        # "remove" rather than "delete": removing a leaf that is not set is no error.
        etree.SubElement(entry, _pki(key)).set(OPERATION, "remove")


def _build_delete_server(pki: etree._Element, command: DeleteServer) -> None:
    _mark_removed(_server_entry(pki, command.server_id), command.keys)


def _build_delete_enrollment(pki: etree._Element, command: DeleteEnrollment) -> None:
    _mark_removed(_enrollment_entry(pki, command.name), command.keys)


def _build_set_timers(pki: etree._Element, command: SetTimers) -> None:
    for name, value in command.leaves:
        _leaf(pki, name, value)


def _build_delete_timers(pki: etree._Element, command: DeleteTimers) -> None:
    _mark_removed(pki, command.keys)


_BUILDERS = {
    SetServer: _build_set_server,
    SetEnrollment: _build_set_enrollment,
    SetTimers: _build_set_timers,
    DeleteServer: _build_delete_server,
    DeleteEnrollment: _build_delete_enrollment,
    DeleteTimers: _build_delete_timers,
}


def build_config(command: ConfigCommand) -> etree._Element:
    """Build the ``<config>`` element of the edit-config for a configuration command."""
    config, pki = _config_root()
    _BUILDERS[type(command)](pki, command)  # type: ignore[operator]
    return config


def to_text(element: etree._Element) -> str:
    """Serialise an element as indented XML text without a declaration."""
    return etree.tostring(element, pretty_print=True, encoding="unicode")


def _filter(*paths: tuple[str, ...], matches: dict[str, str] | None = None) -> etree._Element:
    """Build a subtree filter that selects each path under ``/pki``.

    ``matches`` adds content-match nodes (RFC 6241 §6.2.5) to the last
    element of each path, for example ``{"name": "mycert1"}``.
    """
    root = etree.Element(f"{{{NETCONF_NS}}}filter", nsmap={"nc": NETCONF_NS})
    root.set("type", "subtree")
    pki = etree.SubElement(root, _pki("pki"), nsmap={None: PKI_NS})
    for path in paths:
        parent = pki
        for tag in path:
            found = parent.find(_pki(tag))
            parent = found if found is not None else etree.SubElement(parent, _pki(tag))
        for key, value in (matches or {}).items():
            etree.SubElement(parent, _pki(key)).text = value
    return root


def filter_daemon_and_servers() -> etree._Element:
    """Build the filter of ``show``: the intervals, the daemon and every enroll-server."""
    return _filter(("poll-interval",), ("server-check-interval",), ("daemon",),
                   ("enroll-server",))


def filter_certificates() -> etree._Element:
    """Build the filter of ``cert show``: the enrollments and the certificate table."""
    return _filter(("cert",))


def filter_enrollment(name: str) -> etree._Element:
    """Build the filter of ``cert show NAME``: one enrollment and its rows in the table."""
    root = _filter(("cert", "enroll"), matches={"name": name})
    cert = root[0][0]
    row = etree.SubElement(etree.SubElement(cert, _pki("certificates")), _pki("certificate"))
    etree.SubElement(row, _pki("label")).text = name
    return root


def filter_server(server_id: int) -> etree._Element:
    """Build the filter of ``enroll-server show ID``."""
    return _filter(("enroll-server",), matches={"id": str(server_id)})


def filter_warnings(name: str) -> etree._Element:
    """Build the filter that selects the configuration warnings of one enrollment."""
    root = _filter(("cert", "enroll"), matches={"name": name})
    enroll = root[0][0][0]
    etree.SubElement(etree.SubElement(enroll, _pki("state")), _pki("warning"))
    return root


def filter_configured() -> etree._Element:
    """Build the filter of the server IDs and labels and each enrollment's server,
    which reworded errors name."""
    return _filter(("enroll-server", "id"), ("enroll-server", "label"),
                   ("cert", "enroll", "name"), ("cert", "enroll", "server"))


def build_rpc(command: ModuleRPC | None) -> etree._Element:
    """Build the module RPC element: trigger when ``command`` is None."""
    if command is None:
        return etree.Element(_pki("trigger"), nsmap={None: PKI_NS})
    rpc = etree.Element(_pki(command.rpc), nsmap={None: PKI_NS})
    etree.SubElement(rpc, _pki(command.leaf)).text = command.value
    return rpc
