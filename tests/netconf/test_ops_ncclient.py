"""Every NETCONF operation with ncclient against a real `pki-agent serve` on 127.0.0.1."""

from __future__ import annotations

import pytest
from lxml import etree
from ncclient.operations import RPCError as NcclientRPCError

from tests.fixtures.agent import AgentFactory, RunningAgent
from tests.netconf.raw_client import RawClient, chunked, rpc, run_with_client
from tests.netconf.rpc_harness import BASE_NS, NS, PKI_NS, SERVERS_XML

MONITORING_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
BASE_1_1 = "urn:ietf:params:netconf:base:1.1"


def pki_config(body: str) -> str:
    return (f'<config xmlns="{BASE_NS}"><pki xmlns="{PKI_NS}" xmlns:nc="{BASE_NS}">'
            f"{body}</pki></config>")


def enroll_names(reply: object) -> list[str]:
    root = etree.fromstring(str(reply).encode())
    return [str(name) for name in root.xpath(
        "//pki:cert/pki:enroll/pki:name/text()", namespaces=NS)]


def load_servers(agent: RunningAgent) -> None:
    with agent.connect() as session:
        session.edit_config(target="candidate", config=SERVERS_XML)
        session.commit()


def test_device_config_commit_and_restart(agent: RunningAgent) -> None:
    with agent.connect() as session:
        session.edit_config(target="candidate", config=SERVERS_XML)
        session.commit()
        reply = session.get_config(source="running")
        assert enroll_names(reply) == ["mycert1", "mycert2"]
        assert "secret-one" not in str(reply)
        assert "<password>" not in str(reply)

    agent.restart()

    with agent.connect() as session:
        reply = session.get_config(source="running")
        assert enroll_names(reply) == ["mycert1", "mycert2"]
        assert "xpki-srv" in str(reply)
        assert "secret-one" not in str(session.get())


COMMIT_ERRORS = [
    ("<cert><enroll><name>nosrv</name><dn>CN=a</dn></enroll></cert>",
     "server label missing", "/pki-agent:pki/cert/enroll[name='nosrv']"),
    ("<cert><enroll><name>badsrv</name><server>nosuch</server><dn>CN=a</dn></enroll></cert>",
     "server label 'nosuch' not defined in the system",
     "/pki-agent:pki/cert/enroll[name='badsrv']/server"),
    ("<cert><enroll><name>nodn</name><server>xpki-srv</server></enroll></cert>",
     "certificate distinguished name missing", "/pki-agent:pki/cert/enroll[name='nodn']"),
]


def test_commit_errors_name_each_path(agent: RunningAgent) -> None:
    load_servers(agent)
    with agent.connect() as session:
        body = "".join(entry for entry, _, _ in COMMIT_ERRORS).replace("</cert><cert>", "")
        session.edit_config(target="candidate", config=pki_config(body))
        with pytest.raises(NcclientRPCError) as caught:
            session.commit()
        errors = caught.value.errors or [caught.value]
        found = sorted((error.message.strip(), error.path.strip()) for error in errors)
        assert found == sorted((message, path) for _, message, path in COMMIT_ERRORS)

        with pytest.raises(NcclientRPCError):
            session.validate(source="candidate")
        session.discard_changes()
        session.validate(source="candidate")


def test_warnings_visible_in_get(agent: RunningAgent) -> None:
    load_servers(agent)
    with agent.connect() as session:
        subtree = (f'<pki xmlns="{PKI_NS}"><cert><enroll><name>mycert2</name></enroll>'
                   "</cert></pki>")
        reply = session.get(filter=("subtree", subtree))
    root = etree.fromstring(str(reply).encode())

    assert enroll_names(reply) == ["mycert2"]
    warnings = root.xpath("//pki:enroll/pki:state/pki:warning/text()", namespaces=NS)
    assert "challenge password missing" in warnings
    assert "SubjectAlternativeName missing" in warnings


def test_filters_and_with_defaults(agent: RunningAgent) -> None:
    load_servers(agent)
    with agent.connect() as session:
        whole = session.get_config(source="running", filter=("subtree", f'<pki xmlns="{PKI_NS}"/>'))
        assert enroll_names(whole) == ["mycert1", "mycert2"]

        select = "/p:pki/p:cert/p:enroll[p:name='mycert1']"
        one = session.get_config(source="running", filter=("xpath", ({"p": PKI_NS}, select)))
        assert enroll_names(one) == ["mycert1"]

        explicit = session.get_config(source="running")
        assert "<keysize>" not in str(explicit)
        everything = session.get_config(source="running", with_defaults="report-all")
        assert "<keysize>2048</keysize>" in str(everything)
        tagged = session.get_config(source="running", with_defaults="report-all-tagged")
        assert 'default="true"' in str(tagged)


@pytest.mark.parametrize(
    ("body", "options", "tag"),
    [
        ('<cert><enroll nc:operation="create"><name>mycert1</name></enroll></cert>', {},
         "data-exists"),
        ('<cert><enroll nc:operation="delete"><name>nosuch</name></enroll></cert>',
         {"error_option": "rollback-on-error"}, "data-missing"),
    ],
)
def test_edit_config_errors(agent: RunningAgent, body: str, options: dict[str, str],
                            tag: str) -> None:
    load_servers(agent)
    with agent.connect() as session:
        with pytest.raises(NcclientRPCError) as caught:
            session.edit_config(target="candidate", config=pki_config(body), **options)

        assert caught.value.tag == tag


def test_edit_config_operations(agent: RunningAgent) -> None:
    load_servers(agent)
    with agent.connect() as session:
        replace = ('<cert><enroll nc:operation="replace"><name>mycert1</name>'
                   "<server>xpki-srv</server><dn>CN=x, C=UK</dn></enroll>"
                   '<enroll nc:operation="remove"><name>mycert2</name></enroll></cert>')
        session.edit_config(target="candidate", config=pki_config(replace))
        session.edit_config(target="candidate", config=pki_config(
            "<poll-interval>60</poll-interval>"), test_option="test-then-set")
        session.edit_config(target="candidate", config=pki_config(
            "<poll-interval>5</poll-interval>"), default_operation="none")
        session.commit()
        running = str(session.get_config(source="running"))
        assert "<dn>CN=x, C=UK</dn>" in running
        assert "192.168.100.101" not in running
        assert "mycert2" not in running
        assert "<poll-interval>60</poll-interval>" in running

        session.edit_config(target="running", config=pki_config(
            '<poll-interval nc:operation="delete"/>'))
        assert "poll-interval" not in str(session.get_config(source="running"))


def test_locks_between_sessions(agent: RunningAgent) -> None:
    with agent.connect() as holder, agent.connect() as other:
        holder.lock("running")
        with pytest.raises(NcclientRPCError) as caught:
            other.lock("running")
        assert caught.value.tag == "lock-denied"
        assert caught.value.info is not None
        assert f"<session-id>{holder.session_id}</session-id>" in caught.value.info
        holder.unlock("running")
        other.lock("running")
        other.unlock("running")


def test_copy_and_delete_config(agent: RunningAgent) -> None:
    load_servers(agent)
    with agent.connect() as session:
        session.copy_config(source="running", target="startup")
        assert enroll_names(session.get_config(source="startup")) == ["mycert1", "mycert2"]
        session.delete_config(target="startup")
        assert enroll_names(session.get_config(source="startup")) == []
        # ncclient checks for :url itself, so the request is sent with dispatch.
        request = etree.fromstring(
            f'<copy-config xmlns="{BASE_NS}"><target><url>file:///tmp/pki-agent-copy.xml</url>'
            "</target><source><running/></source></copy-config>")
        with pytest.raises(NcclientRPCError) as caught:
            session.dispatch(request)
        assert caught.value.tag == "operation-not-supported"


def test_confirmed_commit_and_cancel(agent: RunningAgent) -> None:
    load_servers(agent)
    with agent.connect() as session:
        session.edit_config(target="candidate", config=pki_config(
            "<poll-interval>45</poll-interval>"))
        session.commit(confirmed=True, timeout="120", persist="token-7")
    with agent.connect() as session:
        assert "<poll-interval>45</poll-interval>" in str(session.get_config(source="running"))
        session.cancel_commit(persist_id="token-7")
        assert "poll-interval" not in str(session.get_config(source="running"))

        session.edit_config(target="candidate", config=pki_config(
            "<poll-interval>46</poll-interval>"))
        session.commit(confirmed=True)
        session.commit()
    with agent.connect() as session:
        assert "<poll-interval>46</poll-interval>" in str(session.get_config(source="running"))


def test_kill_session(agent: RunningAgent) -> None:
    victim = agent.connect()
    with agent.connect() as killer:
        victim.lock("candidate")
        with pytest.raises(NcclientRPCError) as caught:
            killer.kill_session(killer.session_id)
        assert caught.value.tag == "invalid-value"

        killer.kill_session(victim.session_id)
        killer.lock("candidate")
        assert killer.connected
        state = str(killer.get(filter=("subtree", f'<netconf-state xmlns="{MONITORING_NS}">'
                                                  "<sessions/></netconf-state>")))
        assert f"<session-id>{victim.session_id}</session-id>" not in state


def test_monitoring_schema_and_library(agent: RunningAgent) -> None:
    with agent.connect() as session:
        text = str(session.get_schema("pki-agent"))
        assert "module pki-agent" in text
        state = session.get(filter=("subtree", f'<netconf-state xmlns="{MONITORING_NS}"/>'))
        assert f"<session-id>{session.session_id}</session-id>" in str(state)
        library = session.get(filter=(
            "subtree", '<yang-library xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-library"/>'))
        assert "<name>pki-agent</name>" in str(library)


def test_create_subscription_and_close(agent: RunningAgent) -> None:
    session = agent.connect()
    session.create_subscription()
    with pytest.raises(NcclientRPCError) as caught:
        session.create_subscription()
    assert caught.value.tag == "in-use"
    assert session.get_config(source="running").ok
    assert session.close_session().ok


def test_prefixed_rpc_and_comment_over_ssh(agent: RunningAgent) -> None:
    async def body(client: RawClient) -> tuple[bytes, bytes, bytes]:
        await client.start(BASE_1_1)
        prefixed = (f'<nc:rpc xmlns:nc="{BASE_NS}" message-id="5"><nc:lock><nc:target>'
                    "<nc:nosuch/></nc:target></nc:lock></nc:rpc>").encode()
        client.send(chunked(prefixed))
        first = await client.read_chunked_message()
        client.send(chunked(f'<rpc xmlns="{BASE_NS}"><get/></rpc>'.encode()))
        second = await client.read_chunked_message()
        client.send(chunked(rpc("<!-- note --><discard-changes/><!-- end -->", "9")))
        third = await client.read_chunked_message()
        return first, second, third

    prefixed, no_id, commented = run_with_client(agent, body)

    reply = etree.fromstring(prefixed)
    assert reply.tag == f"{{{BASE_NS}}}rpc-reply"
    assert reply.get("message-id") == "5"
    assert all(etree.QName(node).namespace == BASE_NS for node in reply.iter())
    missing = etree.fromstring(no_id)
    assert missing.findtext("nc:rpc-error/nc:error-tag", namespaces=NS) == "missing-attribute"
    assert missing.findtext("nc:rpc-error/nc:error-info/nc:bad-attribute",
                            namespaces=NS) == "message-id"
    assert etree.fromstring(commented).find("nc:ok", NS) is not None


def test_second_agent_state_is_separate(agent_factory: AgentFactory) -> None:
    first = agent_factory()
    second = agent_factory()
    load_servers(first)
    with second.connect() as session:
        assert enroll_names(session.get_config(source="running")) == []


@pytest.mark.parametrize(
    "wrapper",
    ["<config>{}</config>", f'<config xmlns:xc="{BASE_NS}">{{}}</config>'],
    ids=["plain", "prefix-declared"],
)
def test_unqualified_config_from_ncclient(agent: RunningAgent, wrapper: str) -> None:
    """ncclient sends a `<config>` written without a namespace as it is, in no namespace."""
    body = (f'<pki xmlns="{PKI_NS}"><enroll-server><id>7</id><label>plain-srv</label>'
            "<url>http://127.0.0.1:9/scep</url>"
            f"<fingerprint>{'ab' * 32}</fingerprint></enroll-server></pki>")
    with agent.connect() as session:
        session.edit_config(target="candidate", config=wrapper.format(body))
        session.commit()
        reply = session.get_config(source="running")

    assert "plain-srv" in str(reply)
