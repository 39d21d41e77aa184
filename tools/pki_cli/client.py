"""The NETCONF session of pki-cli, on ncclient.

Configuration changes follow the device's apply step: lock the candidate,
edit-config, commit, unlock. When any step fails, the candidate is
discarded so the next command starts from running.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import ncclient.transport.session
import paramiko  # type: ignore[import-untyped]
from lxml import etree
from ncclient import manager
from ncclient.operations import RaiseMode
from ncclient.operations.rpc import RPCError, RPCReply
from ncclient.transport.errors import SSHError, SSHUnknownHostError, TransportError

from agent.errors import AgentError
from tools.pki_cli.editxml import PKI_NS
from tools.pki_cli.state import JSONData, pki_from_xml

logger = logging.getLogger(__name__)

# ncclient sends a queued request only when its reader loop wakes up, every
# TICK seconds (0.1 in ncclient 0.7.1), so each call would wait up to 0.1 s.
COMMAND_TICK = 0.001
# A --watch session idles for minutes; a longer tick keeps its CPU use low.
WATCH_TICK = 0.05

NOTIFICATION_NAMES = ("enrollment-state-change", "server-status-change", "certificate-expiring")


class ConnectError(AgentError):
    """The NETCONF session to the agent could not be opened."""

    def __init__(self, host: str, port: int, user: str, detail: str, hint: str) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.detail = detail
        super().__init__(
            f"cannot open a NETCONF session to {user}@{host} port {port}: {detail}. {hint}"
        )


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """Connection settings: the agent's address and port, and the SSH login."""

    host: str
    port: int
    user: str
    key: str | None
    host_key: str | None
    timeout: float


@dataclass(frozen=True, slots=True)
class ConfigError:
    """One rpc-error from the agent (RFC 6241 §4.3)."""

    tag: str
    message: str
    path: str

    def describe(self) -> str:
        """Return the numbered-list text: the message, then the path it concerns."""
        message = self.message or self.tag
        return f"{message} (at {self.path})" if self.path else message


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification of the pki-agent module."""

    name: str
    event_time: str
    body: dict[str, str]

    def describe(self) -> str:
        """Return a one-line summary such as 'enrollment-state-change name=mycert1 state=issued'."""
        fields = " ".join(f"{key}={value}" for key, value in self.body.items())
        return f"{self.event_time} {self.name} {fields}".strip()


def _errors(reply: RPCReply) -> list[ConfigError]:
    if reply.ok:
        return []
    return [_config_error(error) for error in reply.errors]


def _config_error(error: RPCError) -> ConfigError:
    return ConfigError(
        tag=error.tag or "",
        message=(error.message or "").strip(),
        path=(error.path or "").strip(),
    )


def _parse_notification(element: etree._Element) -> Notification | None:
    event_time = ""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        if name.localname == "eventTime":
            event_time = (child.text or "").strip()
        elif name.namespace == PKI_NS:
            body = {etree.QName(leaf).localname: (leaf.text or "") for leaf in child
                    if isinstance(leaf.tag, str)}
            return Notification(name.localname, event_time, body)
    return None


def sha256_fingerprint(key_blob: bytes) -> str:
    """Return the OpenSSH form 'SHA256:BASE64' of a public key blob, as ssh-keygen -l and the
    agent's log show it."""
    digest = base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def _expected_key_text(host_key: str) -> str:
    try:
        blob = base64.b64decode(host_key, validate=True)
    except binascii.Error:
        return f"{host_key} (not valid base64)"
    return f"{host_key} ({sha256_fingerprint(blob)})"


def presented_host_key(host: str, port: int, timeout: float) -> str:
    """Return the host key that the agent presents, as 'TYPE BASE64 (SHA256:...)'.

    A separate SSH handshake without login, made only after ncclient found a
    mismatch, because ncclient reports only the MD5 fingerprint.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=timeout)
            key = transport.get_remote_server_key()
        finally:
            transport.close()
    return f"{key.get_name()} {key.get_base64()} ({sha256_fingerprint(key.asbytes())})"


def _host_key_detail(settings: ConnectionSettings) -> str:
    assert settings.host_key is not None
    try:
        presented = presented_host_key(settings.host, settings.port, settings.timeout)
    except (OSError, paramiko.SSHException) as exc:
        presented = f"unknown, the second handshake failed: {exc}"
    return (f"the agent presents the SSH host key {presented}, but --host-key expects "
            f"{_expected_key_text(settings.host_key)}")


class Session:
    """A NETCONF session to the agent; use it as a context manager."""

    def __init__(self, settings: ConnectionSettings, tick: float = COMMAND_TICK) -> None:
        ncclient.transport.session.TICK = tick
        for name in ("ncclient", "paramiko"):
            # ncclient logs whole messages at INFO, challenge passwords included.
            logging.getLogger(name).setLevel(logging.WARNING)
        self.settings = settings
        if settings.key is not None and not os.path.isfile(settings.key):
            raise ConnectError(settings.host, settings.port, settings.user,
                               f"the SSH private key file {settings.key} does not exist",
                               "Check --key (PKI_CLI_KEY).")
        try:
            self._manager: Any = manager.connect(
                host=settings.host,
                port=settings.port,
                username=settings.user,
                key_filename=settings.key,
                hostkey_verify=settings.host_key is not None,
                hostkey_b64=settings.host_key,
                allow_agent=settings.key is None,
                look_for_keys=settings.key is None,
                timeout=settings.timeout,
            )
        except SSHUnknownHostError as exc:
            hint = ("Check that this is the right agent before you change --host-key "
                    "(PKI_CLI_HOST_KEY); the agent logs its key's SHA256 fingerprint when it "
                    "creates the key.")
            raise ConnectError(settings.host, settings.port, settings.user,
                               _host_key_detail(settings), hint) from exc
        except (SSHError, TransportError, OSError) as exc:
            hint = "Check that the agent runs and that --host, --port, --user and --key are right."
            raise ConnectError(settings.host, settings.port, settings.user, str(exc),
                               hint) from exc
        self._manager.raise_mode = RaiseMode.NONE
        self._manager.timeout = settings.timeout

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Send close-session and drop the connection."""
        if self._manager.connected:
            self._manager.close_session()

    def get(self, subtree_filter: etree._Element) -> JSONData:
        """Send a get with a subtree filter and return the pki subtree as RFC 7951 JSON.

        Raises:
            RequestError: the agent replied with an rpc-error.
        """
        reply = self._manager.get(filter=subtree_filter)
        errors = _errors(reply)
        if errors:
            raise RequestError("get", errors)
        return pki_from_xml(reply.data_ele)

    def apply(self, config: etree._Element) -> list[ConfigError]:
        """Lock the candidate, edit it with ``config``, commit and unlock.

        Returns the rpc-errors of the first step that failed, or [] after a
        successful commit.
        """
        errors = _errors(self._manager.lock(target="candidate"))
        if errors:
            return errors
        try:
            errors = _errors(self._manager.edit_config(target="candidate", config=config))
            if not errors:
                errors = _errors(self._manager.commit())
            if errors:
                self._manager.discard_changes()
        finally:
            self._manager.unlock(target="candidate")
        return errors

    def call(self, rpc: etree._Element) -> list[ConfigError]:
        """Send a module RPC such as trigger and return its rpc-errors."""
        return _errors(self._manager.dispatch(rpc))

    def subscribe(self) -> list[ConfigError]:
        """Send create-subscription for the NETCONF stream (RFC 5277 §2.1.1)."""
        return _errors(self._manager.create_subscription())

    def next_notification(self, timeout: float) -> Notification | None:
        """Wait for the next pki-agent notification; None after ``timeout`` seconds.

        Raises:
            ConnectError: the session has ended, for example because the agent stopped.
        """
        while True:
            if not self._manager.connected:
                raise ConnectError(self.settings.host, self.settings.port, self.settings.user,
                                   "the agent closed the session",
                                   "Run the command again once the agent runs.")
            received = self._manager.take_notification(block=True, timeout=timeout)
            if received is None:
                return None
            notification = _parse_notification(received.notification_ele)
            if notification is not None:
                return notification
            logger.debug("ignored a notification of another module")


class RequestError(AgentError):
    """The agent replied to a request with rpc-errors."""

    def __init__(self, operation: str, errors: list[ConfigError]) -> None:
        self.operation = operation
        self.errors = errors
        details = "; ".join(error.describe() for error in errors)
        super().__init__(f"{operation} failed: {details}")
