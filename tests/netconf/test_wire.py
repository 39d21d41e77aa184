"""Framing, hello and message-size rules over the wire, with a raw SSH client."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.fixtures.agent import AgentFactory, RunningAgent
from tests.netconf.raw_client import (
    BASE_1_0,
    BASE_1_1,
    BASE_NS,
    END_OF_MESSAGE,
    RawClient,
    chunked,
    client_hello,
    rpc,
    run_with_client,
)

CLOSE_SESSION = rpc("<close-session/>", message_id="101")
NS = {"nc": BASE_NS}


def error_tags(reply: bytes) -> list[str]:
    document = etree.fromstring(reply)
    assert document.tag == f"{{{BASE_NS}}}rpc-reply"
    return [element.text for element in document.iterfind("nc:rpc-error/nc:error-tag", NS)]


BROKEN_CHUNKS = [
    ("stray newline before header", b"\n" + chunked(CLOSE_SESSION)),
    ("missing LF before header", chunked(CLOSE_SESSION)[1:]),
    ("leading zero", b"\n#0%d\n%s\n##\n" % (len(CLOSE_SESSION), CLOSE_SESSION)),
    ("size zero", b"\n#0\n\n##\n"),
    ("size above maximum", b"\n#4294967296\n"),
    ("end-of-message framing after base:1.1", CLOSE_SESSION + END_OF_MESSAGE),
]


@pytest.mark.parametrize(("case", "stream"), BROKEN_CHUNKS, ids=[c[0] for c in BROKEN_CHUNKS])
def test_broken_chunk_gets_malformed_message(agent: RunningAgent, case: str, stream: bytes) -> None:
    async def body(client: RawClient) -> tuple[bytes, bytes]:
        await client.start(BASE_1_0, BASE_1_1)
        client.send(stream)
        reply = await client.read_chunked_message()
        rest = await client.read_to_end()
        return reply, rest

    reply, rest = run_with_client(agent, body)
    assert error_tags(reply) == ["malformed-message"]
    assert rest == b""


def test_valid_chunks_in_pieces_get_reply(agent: RunningAgent) -> None:
    async def body(client: RawClient) -> tuple[bytes, bytes]:
        await client.start(BASE_1_0, BASE_1_1)
        middle = len(CLOSE_SESSION) // 2
        first, second = CLOSE_SESSION[:middle], CLOSE_SESSION[middle:]
        stream = b"\n#%d\n%s\n#%d\n%s\n##\n" % (len(first), first, len(second), second)
        for index in range(len(stream)):
            client.send(stream[index : index + 1])
        reply = await client.read_chunked_message()
        return reply, await client.read_to_end()

    reply, rest = run_with_client(agent, body)
    document = etree.fromstring(reply)
    assert document.get("message-id") == "101"
    assert document.find("nc:ok", NS) is not None
    assert rest == b""


def test_base_1_0_client_gets_end_of_message(agent: RunningAgent) -> None:
    async def body(client: RawClient) -> bytes:
        await client.start(BASE_1_0)
        client.send(CLOSE_SESSION + END_OF_MESSAGE)
        return await client.read_until(END_OF_MESSAGE)

    reply = run_with_client(agent, body)
    document = etree.fromstring(reply[: -len(END_OF_MESSAGE)])
    assert document.find("nc:ok", NS) is not None


def test_server_hello_has_session_id_only(agent: RunningAgent) -> None:
    async def body(client: RawClient) -> etree._Element:
        return await client.read_server_hello()

    hello = run_with_client(agent, body)
    assert hello.tag == f"{{{BASE_NS}}}hello"
    assert int(hello.findtext("nc:session-id", namespaces=NS)) >= 1
    assert hello.get("message-id") is None
    capabilities = [element.text for element in hello.iterfind(".//nc:capability", NS)]
    assert BASE_1_0 in capabilities
    assert BASE_1_1 in capabilities


CLOSING_HELLOS = [
    ("rpc before hello", CLOSE_SESSION),
    ("hello with session-id", client_hello(BASE_1_0, BASE_1_1, session_id=7)),
    ("hello without base capability", client_hello("urn:example:other")),
    ("not XML", b"<hello"),
    ("hello with DTD", b'<!DOCTYPE x [<!ENTITY a "b">]>' + client_hello(BASE_1_0)),
]


@pytest.mark.parametrize(("case", "message"), CLOSING_HELLOS, ids=[c[0] for c in CLOSING_HELLOS])
def test_bad_hello_closes_without_reply(agent: RunningAgent, case: str, message: bytes) -> None:
    async def body(client: RawClient) -> bytes:
        await client.read_server_hello()
        client.send(message + END_OF_MESSAGE)
        # Anything an rpc might provoke would arrive before the close.
        client.send(CLOSE_SESSION + END_OF_MESSAGE)
        return await client.read_to_end()

    assert run_with_client(agent, body) == b""


def test_hello_timeout_closes_session(agent_factory: AgentFactory) -> None:
    agent = agent_factory("--hello-timeout", "0.5")

    async def body(client: RawClient) -> bytes:
        await client.read_server_hello()
        return await client.read_to_end()

    assert run_with_client(agent, body) == b""
    assert "no hello within 0.5 s" in agent.log()


def test_chunk_over_max_message_size(agent_factory: AgentFactory) -> None:
    agent = agent_factory("--max-message-size", "2048")

    async def body(client: RawClient) -> tuple[bytes, bytes]:
        await client.start(BASE_1_0, BASE_1_1)
        client.send(b"\n#3000\n" + b" " * 3000 + b"\n##\n")
        reply = await client.read_chunked_message()
        return reply, await client.read_to_end()

    reply, rest = run_with_client(agent, body)
    assert error_tags(reply) == ["malformed-message"]
    assert b"2048" in reply
    assert rest == b""


def test_end_of_message_over_max_message_size(agent_factory: AgentFactory) -> None:
    agent = agent_factory("--max-message-size", "2048")

    async def body(client: RawClient) -> bytes:
        await client.start(BASE_1_0)
        client.send(b" " * 3000)
        return await client.read_to_end()

    reply = run_with_client(agent, body)
    assert reply.endswith(END_OF_MESSAGE)
    # RFC 6241 Appendix A: base:1.0 clients never get malformed-message.
    assert error_tags(reply[: -len(END_OF_MESSAGE)]) == ["operation-failed"]


def test_hello_over_max_message_size(agent_factory: AgentFactory) -> None:
    agent = agent_factory("--max-message-size", "2048")

    async def body(client: RawClient) -> bytes:
        await client.read_server_hello()
        client.send(b" " * 3000)
        return await client.read_to_end()

    assert run_with_client(agent, body) == b""


def test_message_at_max_size_accepted(agent_factory: AgentFactory) -> None:
    agent = agent_factory("--max-message-size", "2048")
    padded = CLOSE_SESSION.replace(b"<close-session/>", b"<close-session/>" + b" " * 1500)
    padded += b" " * (2048 - len(padded))

    async def body(client: RawClient) -> bytes:
        await client.start(BASE_1_0, BASE_1_1)
        client.send(chunked(padded))
        return await client.read_chunked_message()

    reply = run_with_client(agent, body)
    assert len(padded) == 2048
    assert etree.fromstring(reply).find("nc:ok", NS) is not None
