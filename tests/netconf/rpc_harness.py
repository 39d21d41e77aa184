"""An in-process RPCProcessor with sessions on a fake transport, for tests of the RPC layer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from lxml import etree

from agent.datastore import Datastores
from agent.hooks import Hooks
from agent.netconf.rpc import RPCProcessor
from agent.netconf.session import Session, SessionManager
from agent.schema import Schema

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
NS = {"nc": BASE_NS, "pki": "urn:pki-agent:yang:pki-agent"}
PKI_NS = "urn:pki-agent:yang:pki-agent"

_SCHEMA: Schema | None = None


def shared_schema() -> Schema:
    """Load the YANG modules once per test process; loading is read-only."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = Schema.load()
    return _SCHEMA


class FakeTransport:
    """Collects what a session sends, and runs `on_abort` as the transport's cleanup."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.aborted = False
        self.on_abort: Callable[[], None] | None = None

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    async def drain(self) -> None:
        return None

    def abort(self) -> None:
        self.aborted = True
        if self.on_abort is not None:
            self.on_abort()


T = TypeVar("T")


@dataclass
class Harness:
    """A processor on its own event loop, with helpers to send rpcs as a session."""

    processor: RPCProcessor
    datastores: Datastores
    hooks: Hooks
    sessions: SessionManager
    state_dir: Path
    loop: asyncio.AbstractEventLoop
    message_id: int = field(default=0)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def open(self, username: str = "admin") -> Session:
        async def opened() -> Session:
            transport = FakeTransport()
            session = self.sessions.open(username, "127.0.0.1", transport)
            assert session is not None
            transport.on_abort = lambda: self.end(session)
            return session

        return self.run(opened())

    def send(self, session: Session, operation: str, **attributes: str) -> etree._Element:
        """Send one operation inside an rpc and return the parsed rpc-reply."""
        self.message_id += 1
        attrs = {"message-id": str(self.message_id), **attributes}
        attr_text = " ".join(f'{name}="{value}"' for name, value in attrs.items())
        message = f'<rpc xmlns="{BASE_NS}" {attr_text}>{operation}</rpc>'
        return self.raw(session, message.encode())

    def raw(self, session: Session, message: bytes) -> etree._Element:
        reply = self.run(self.processor.handle(session, message))
        assert reply is not None
        return etree.fromstring(reply)

    def end(self, session: Session) -> None:
        """Run the transport's end-of-session cleanup for a session."""
        self.processor.end_session(session)
        self.sessions.remove(session)
        session.mark_closed()


def make_harness(state_dir: Path, hooks: Hooks | None = None) -> Harness:
    hooks = hooks or Hooks()
    schema = shared_schema()
    loop = asyncio.new_event_loop()

    async def build() -> Harness:
        datastores = Datastores(schema, state_dir, hooks)
        sessions = SessionManager(16)
        processor = RPCProcessor(schema, datastores, hooks, sessions)
        return Harness(processor, datastores, hooks, sessions, state_dir, loop)

    return loop.run_until_complete(build())


def harness_fixture(state_dir: Path, hooks: Hooks | None = None) -> Iterator[Harness]:
    harness = make_harness(state_dir, hooks)
    try:
        yield harness
    finally:
        for session in harness.sessions.sessions():
            session.end_subscription()
        harness.run(_cancel_tasks())
        harness.loop.close()


async def _cancel_tasks() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def errors(reply: etree._Element) -> list[etree._Element]:
    return reply.findall("nc:rpc-error", NS)


def error_fields(error: etree._Element) -> dict[str, str]:
    """Map each rpc-error child's local name to its text."""
    return {etree.QName(child).localname: (child.text or "") for child in error}


def is_ok(reply: etree._Element) -> bool:
    return reply.find("nc:ok", NS) is not None


SERVERS_XML = f"""<config xmlns="{BASE_NS}"><pki xmlns="{PKI_NS}">
<enroll-server><id>1</id><label>xpki-srv</label>
<url>http://127.0.0.1:8080/scep</url>
<fingerprint>AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89</fingerprint>
</enroll-server>
<enroll-server><id>2</id><label>ndes-srv</label>
<url>https://127.0.0.1:8443/certsrv/mscep/mscep.dll</url>
<fingerprint>0123456789abcdef0123456789abcdef01234567</fingerprint>
<fingerprint-alg>sha1</fingerprint-alg><cipher>3des-cbc</cipher>
</enroll-server>
<cert>
<enroll><name>mycert1</name><server>xpki-srv</server><password>secret-one</password>
<dn>CN=mycert1.co.uk, C=UK</dn><san><ip-address>192.168.100.101</ip-address></san></enroll>
<enroll><name>mycert2</name><server>ndes-srv</server>
<dn>CN=mycert2.co.uk, C=UK</dn></enroll>
</cert></pki></config>"""
"""The device CLI's two enrollment servers and two enrollments, as edit-config content."""


def edit(config: str, target: str = "candidate", extra: str = "") -> str:
    return f"<edit-config><target><{target}/></target>{extra}{config}</edit-config>"


def config(body: str) -> str:
    """Wrap `body` in a config element and the pki container, with the `nc` prefix declared."""
    return (f'<config xmlns="{BASE_NS}"><pki xmlns="{PKI_NS}" xmlns:nc="{BASE_NS}">'
            f"{body}</pki></config>")


def commit_servers(harness: Harness) -> None:
    """Edit SERVERS_XML into the candidate and commit it, from a new session."""
    session = harness.open()
    assert is_ok(harness.send(session, edit(SERVERS_XML)))
    assert is_ok(harness.send(session, "<commit/>"))
