"""XML prefixes in values and XPath, rewritten to module names."""

from __future__ import annotations

import pytest

from agent.schema.prefixes import UnknownPrefixError, qualify_value, qualify_xpath

PKI_NS = "urn:pki-agent:yang:pki-agent"
MODULES = {PKI_NS: "pki-agent", "urn:ietf:params:xml:ns:yang:ietf-netconf": "ietf-netconf"}


def module_for(namespace: str) -> str | None:
    return MODULES.get(namespace)


@pytest.mark.parametrize(("value", "expected"), [
    ("x:scep", "pki-agent:scep"),
    ("scep", "scep"),
    ("undeclared:scep", "undeclared:scep"),
    ("other:scep", "other:scep"),
    ("/x:pki/x:enroll-server[x:id='1']/x:label", "/pki-agent:pki/pki-agent:enroll-server"
                                                 "[pki-agent:id='1']/pki-agent:label"),
    ("http://ca.example/scep", "http://ca.example/scep"),
])
def test_qualify_value(value: str, expected: str) -> None:
    nsmap: dict[str | None, str] = {"x": PKI_NS, "other": "urn:example:none"}

    assert qualify_value(value, nsmap, module_for) == expected


@pytest.mark.parametrize(("select", "expected"), [
    ("/x:pki/x:enroll-server[x:protocol='x:scep']/x:label",
     "/pki-agent:pki/pki-agent:enroll-server[pki-agent:protocol='pki-agent:scep']"
     "/pki-agent:label"),
    ('/x:pki//x:url[. = "http://ca:80/x"]', '/pki-agent:pki//pki-agent:url[. = "http://ca:80/x"]'),
    ("/x:pki/child::x:cert", "/pki-agent:pki/child::pki-agent:cert"),
    ("/x:pki/x:*", "/pki-agent:pki/pki-agent:*"),
    ("/x:pki/x:enroll-server[x:label='nope:value']", "/pki-agent:pki/pki-agent:enroll-server"
                                                      "[pki-agent:label='nope:value']"),
])
def test_qualify_xpath(select: str, expected: str) -> None:
    assert qualify_xpath(select, {"x": PKI_NS}, module_for) == expected


@pytest.mark.parametrize("select", ["/y:pki", "/x:pki/other:cert"])
def test_qualify_xpath_unknown_prefix(select: str) -> None:
    with pytest.raises(UnknownPrefixError):
        qualify_xpath(select, {"x": PKI_NS, "other": "urn:example:none"}, module_for)
