"""State changes reach NETCONF subscribers as notifications of the module."""

from __future__ import annotations

import time
from typing import Any

from lxml import etree

from tests.e2e.netconf import PKI_NS, commit, enroll_xml, server_xml

NOTIFICATION_WAIT = 60.0
CHALLENGE = "notify-secret"


class Collector:
    """Every notification one session received, by type, in arrival order."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.received: list[tuple[str, dict[str, Any]]] = []

    def wait_for(self, wanted: str, count: int) -> list[dict[str, Any]]:
        """Wait until `count` notifications of type `wanted` arrived in total; return them."""
        deadline = time.monotonic() + NOTIFICATION_WAIT
        while len(self.of(wanted)) < count and time.monotonic() < deadline:
            notification = self.session.take_notification(block=True, timeout=1)
            if notification is None:
                continue
            for body in notification.notification_ele:
                if etree.QName(body).namespace == PKI_NS:
                    leaves = {etree.QName(child).localname: child.text for child in body}
                    self.received.append((etree.QName(body).localname, leaves))
        found = self.of(wanted)
        assert len(found) >= count, f"expected {count} {wanted} notifications, got {found}"
        return found

    def of(self, wanted: str) -> list[dict[str, Any]]:
        return [leaves for name, leaves in self.received if name == wanted]


def test_notifications_for_enrollment(agent_factory: Any, scep_ca_factory: Any) -> None:
    ca = scep_ca_factory("openxpki", approval="manual", challenge=CHALLENGE)
    agent = agent_factory()
    with agent.connect() as listener, agent.connect() as session:
        listener.create_subscription()
        collector = Collector(listener)
        commit(session, server_xml(1, "xpki-srv", ca.url, ca.root_sha256),
               enroll_xml("mycert1", "xpki-srv", "CN=mycert1.co.uk, C=UK", password=CHALLENGE))

        status = collector.wait_for("server-status-change", 1)[0]
        changes = collector.wait_for("enrollment-state-change", 2)
        ca.approve(changes[1]["transaction-id"])
        session.dispatch(etree.fromstring(f'<trigger xmlns="{PKI_NS}"/>'))
        issued = collector.wait_for("enrollment-state-change", 3)[2]

    assert status == {"id": "1", "label": "xpki-srv", "status": "responding"}
    assert changes[0] == {"name": "mycert1", "state": "pending",
                          "reason": "waiting for enrollment server xpki-srv: not-checked"}
    assert changes[1]["state"] == "pending"
    assert changes[1]["previous-state"] == "pending"
    assert changes[1]["reason"] == "waiting for the CA to issue the certificate"
    assert issued["state"] == "issued"
    assert issued["previous-state"] == "pending"
    assert issued["transaction-id"] == changes[1]["transaction-id"]
    assert len(collector.of("enrollment-state-change")) == 3
