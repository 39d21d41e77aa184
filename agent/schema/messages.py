"""Error messages for operators, built from libyang's errors and the schema node they name.

libyang reports a bad value as, for example, 'Unsatisfied range - value
"1024" is out of the allowed range.'. This module turns each error into a
message that names the leaf, shows the rejected value and states what the
schema allows (its range, length, enums, identities or pattern
error-message), so no message is written per leaf. The value of a leaf
marked nacm:default-deny-all, such as the challenge password, is never
shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace

import libyang
from _libyang import ffi, lib
from libyang.util import c2str
from lxml import etree

from agent.schema.errors import IssueKind, ValidationIssue
from agent.schema.restrictions import Pattern, restrictions_of

Select = Callable[[str], list[libyang.DNode]]
"""Evaluate an XPath on the data tree that was validated."""

LeafNode = libyang.SLeaf | libyang.SLeafList

ValueSource = Callable[[str, libyang.SNode], "str | None"]
"""Return the input's value at a data path, for a message that lacks it."""

_DATA_LOCATION = re.compile(r'Data location "([^"]+)"')
_SCHEMA_LOCATION = re.compile(r'Schema location "([^"]+)"')
_PREDICATE = re.compile(r"""\[(?:[^\]'"]|'[^']*'|"[^"]*")*\]""")
_STEP = re.compile(r"/(?:[\w.\-]+:)?(?P<name>[\w.\-]+)"
                   r"""(?P<predicates>(?:\[(?:[^\]'"]|'[^']*'|"[^"]*")*\])*)""")
_KEY = re.compile(r"\[(?:[\w.\-]+:)?(?P<key>[\w.\-]+)="
                  r"""(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)")\]""")
_SOURCE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

# The messages of libyang 2.1.30 that carry the rejected value. A pattern or
# range with an error-message statement replaces these with its own text,
# which carries no value.
_VALUE_FORMS = (
    re.compile(r'^Unsatisfied range - value "(?P<value>.*)" is out of the allowed range\.$'),
    re.compile(r'^Unsatisfied length - string "(?P<value>.*)" length is not allowed\.$'),
    re.compile(r'^Unsatisfied pattern - "(?P<value>.*)" does not conform to (?:inverted )?"'),
    re.compile(r'^Invalid union value "(?P<value>.*)" - no matching subtype found'),
    re.compile(r'^Invalid enumeration value "(?P<value>.*)"\.$'),
    re.compile(r'^Invalid boolean value "(?P<value>.*)"\.$'),
    re.compile(r'^Invalid type \S+ value "(?P<value>.*)"\.$'),
    re.compile(r'^Value "(?P<value>.*)" is out of type \S+ min/max bounds\.$'),
    re.compile(r'^Invalid identityref "(?P<value>.*)" value - '),
)
_EMPTY_VALUE = re.compile(r"^Invalid type \S+ empty value\.$")
_LEAFREF = re.compile(r'^Invalid leafref value "(?P<value>.*)" - no target instance')
_MANDATORY = re.compile(r'^Mandatory node "(?P<name>[^"]+)" instance does not exist\.$')
_UNIQUE = re.compile(r'^Unique data leaf\(s\) "(?P<leaves>[^"]+)" not satisfied in '
                     r'"(?P<first>[^"]+)" and "(?P<second>[^"]+)"\.$')
_UNKNOWN_NODE = re.compile(r'^Node "[^"]+" not found as a child of|^No module ')

# Nouns for typedefs of ietf-inet-types whose patterns are too long to show
# an operator.
_TYPE_NOUNS = {
    "domain-name": "DNS name",
    "host": "host name or IP address",
    "ip-address": "IP address",
    "ip-address-no-zone": "IP address",
    "ipv4-address": "IPv4 address",
    "ipv4-address-no-zone": "IPv4 address",
    "ipv6-address": "IPv6 address",
    "ipv6-address-no-zone": "IPv6 address",
    "uri": "URI",
}
_TYPE_EXPECTED = {
    "DNS name": "labels of letters, digits, '-' and '_' separated by dots, "
                "each at most 63 characters, such as 'device.example.com'",
    "IP address": "an IPv4 address such as 192.0.2.1 or an IPv6 address such as 2001:db8::1",
    "IPv4 address": "four decimal numbers from 0 to 255 separated by dots",
    "IPv6 address": "an IPv6 address such as 2001:db8::1",
}
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@")
_MAX_PATTERN_SHOWN = 60
_MAX_VALUE_SHOWN = 80
_EMSG_SUBJECT = re.compile(r"^invalid (?P<noun>[^:]{1,30}): (?P<expected>.+)$", re.DOTALL)


def issues_from_context(context: libyang.Context, select: Select | None = None,
                        source: ValueSource | None = None) -> tuple[ValidationIssue, ...]:
    """Collect and clear libyang's stored errors, and describe each one for an operator.

    `select` resolves a missing mandatory node to the data path of each
    entry that lacks it. `source` returns the value that the input had at a
    data path, for errors whose libyang message does not carry the value.
    """
    raw = []
    item = lib.ly_err_first(context.cdata)
    while item:
        message = c2str(item.msg) if item.msg else "invalid data"
        location = c2str(item.path) if item.path else ""
        data = _DATA_LOCATION.search(location)
        schema = _SCHEMA_LOCATION.search(location)
        raw.append(ValidationIssue(
            message, data.group(1) if data else None, c2str(item.apptag) if item.apptag else None,
            schema_path=schema.group(1) if schema else None, detail=message))
        item = item.next
    lib.ly_err_clean(context.cdata, ffi.NULL)
    issues: list[ValidationIssue] = []
    for issue in raw:
        issues.extend(_describe(context, issue, select, source))
    return tuple(issues)


def _describe(context: libyang.Context, issue: ValidationIssue, select: Select | None,
              source: ValueSource | None) -> Iterator[ValidationIssue]:
    mandatory = _MANDATORY.match(issue.message)
    if mandatory is not None:
        yield from _missing(context, issue, mandatory.group("name"), select)
        return
    unique = _UNIQUE.match(issue.message)
    if unique is not None:
        yield _not_unique(issue, unique, select)
        return
    if _UNKNOWN_NODE.match(issue.message):
        yield replace(issue, kind=IssueKind.UNKNOWN_NODE)
        return
    snode = _schema_node(context, issue.schema_path or _schema_path_of(issue.path))
    if not isinstance(snode, libyang.SLeaf | libyang.SLeafList):
        yield issue
        return
    leafref = _LEAFREF.match(issue.message)
    if leafref is not None:
        yield _reference(issue, snode, leafref.group("value"))
        return
    value = _quoted_value(issue.message)
    if value is not None:
        yield _value_error(issue, snode, value)
    elif _is_value_error(issue, snode):
        found = source(issue.path, snode) if source is not None and issue.path else None
        yield _value_error(issue, snode, found)
    elif _is_secret(snode):
        text = f"invalid value for {snode.name()} (value not shown)"
        yield replace(issue, message=text, detail=None)
    else:
        yield issue


def _quoted_value(message: str) -> str | None:
    for form in _VALUE_FORMS:
        match = form.match(message)
        if match is not None:
            return match.group("value")
    if _EMPTY_VALUE.match(message):
        return ""
    return None


def _is_value_error(issue: ValidationIssue, snode: LeafNode) -> bool:
    # A pattern, length or range error-message replaces libyang's text.
    return issue.message in set(_error_messages(snode.type()))


def _value_error(issue: ValidationIssue, snode: LeafNode,
                 value: str | None) -> ValidationIssue:
    leaf = snode.name()
    noun, expected = _expected(snode.type(), issue.message)
    if _is_secret(snode):
        text = f"invalid {noun} for {leaf} (value not shown): {expected}"
        return replace(issue, message=text, detail=None, kind=IssueKind.VALUE)
    shown = "" if value is None else f" {_quote(value)}"
    text = f"invalid {noun}{shown} for {leaf}: {expected}"
    if value is None:
        return replace(issue, message=text, kind=IssueKind.VALUE)
    redacted = _without_userinfo(value)
    # libyang's own text would still contain the credentials.
    detail = issue.detail if redacted == value else None
    return replace(issue, message=text, value=redacted, detail=detail, kind=IssueKind.VALUE)


def _reference(issue: ValidationIssue, snode: LeafNode, value: str) -> ValidationIssue:
    target = snode.type().leafref_path() or "its target"
    text = f"{snode.name()} {_quote(value)} not defined in the system: no {target} has this value"
    return replace(issue, message=text, value=_without_userinfo(value), kind=IssueKind.REFERENCE)


def _not_unique(issue: ValidationIssue, found: re.Match[str],
                select: Select | None) -> ValidationIssue:
    leaves = found.group("leaves").split()
    first, second = found.group("first"), found.group("second")
    named = []
    for leaf in leaves:
        nodes = select(f"{first}/{leaf}") if select is not None else []
        if not nodes:
            named.append(leaf)
            continue
        named.append(f"{leaf} {_quote(c2str(lib.lyd_get_value(nodes[0].cdata)))}")
    text = f"{', '.join(named)} not unique: {first} and {second} both use it"
    return replace(issue, message=text, kind=IssueKind.VALUE)


def _missing(context: libyang.Context, issue: ValidationIssue, name: str,
             select: Select | None) -> Iterator[ValidationIssue]:
    text = f"{name} missing"
    schema_path = issue.schema_path
    if issue.path is not None or schema_path is None or select is None:
        yield replace(issue, message=text, kind=IssueKind.MISSING)
        return
    parent_path, _, step = schema_path.rpartition("/")
    if not parent_path:
        yield replace(issue, message=text, path=schema_path, kind=IssueKind.MISSING)
        return
    # libyang 2.1 names only the schema node, so find each instance of the
    # parent that lacks the node to report an error-path with list keys.
    parents = select(f"{parent_path}[not({step})]")
    for parent in parents:
        yield replace(issue, message=text, path=f"{parent.path()}/{step}", kind=IssueKind.MISSING)
    if not parents:
        yield replace(issue, message=text, kind=IssueKind.MISSING)


def _expected(ytype: libyang.Type, message: str) -> tuple[str, str]:
    """Return the noun for the value and what the type allows."""
    noun = _TYPE_NOUNS.get(ytype.name().rpartition(":")[2], "value")
    for emsg in _error_messages(ytype):
        if emsg == message:
            found = _EMSG_SUBJECT.match(emsg)
            if found is not None:
                return found.group("noun"), found.group("expected")
            return noun, emsg
    if noun in _TYPE_EXPECTED:
        return noun, f"expected {_TYPE_EXPECTED[noun]}"
    allowed = restrictions_of(ytype)
    if allowed.enums or allowed.identities:
        return noun, "allowed values are " + ", ".join(allowed.enums or allowed.identities)
    if allowed.ranges:
        return noun, _describe_range(allowed.ranges, "allowed values are ", "allowed range is ")
    if allowed.lengths and message.startswith("Unsatisfied length"):
        return noun, _describe_range(allowed.lengths, "expected a length of ",
                                     "expected a length of ") + " characters"
    if allowed.patterns:
        return noun, "expected " + " and ".join(map(_describe_pattern, allowed.patterns))
    return noun, f"expected a valid {ytype.name()}"


def _describe_range(parts: tuple[tuple[int, int], ...], values: str, ranges: str) -> str:
    if all(low == high for low, high in parts):
        return values + ", ".join(str(low) for low, _ in parts)
    return ranges + ", ".join(str(low) if low == high else f"{low} to {high}"
                              for low, high in parts)


def _describe_pattern(pattern: Pattern) -> str:
    if pattern.description:
        return pattern.description
    verb = "not matching" if pattern.inverted else "matching"
    if len(pattern.expression) <= _MAX_PATTERN_SHOWN:
        return f"a value {verb} the pattern {pattern.expression}"
    return f"a value {verb} the pattern of its type"


def _error_messages(ytype: libyang.Type) -> Iterator[str]:
    if ytype.cdata.basetype == lib.LY_TYPE_UNION:
        for member in ytype.union_types():
            yield from _error_messages(member)
        return
    allowed = restrictions_of(ytype)
    for emsg in (allowed.range_message, allowed.length_message,
                 *(pattern.error_message for pattern in allowed.patterns)):
        if emsg:
            yield emsg


def _is_secret(snode: libyang.SNode) -> bool:
    # RFC 8341 §3.4.4: nacm:default-deny-all marks data, such as the challenge
    # password, that must never be returned, so a message does not echo it.
    return any(ext.name() == "default-deny-all" for ext in snode.extensions())


def _without_userinfo(value: str) -> str:
    # RFC 3986 §3.2.1: userinfo may hold a password, so it is never echoed.
    return _USERINFO.sub(r"\g<scheme>***@", value)


def _quote(value: str) -> str:
    value = _without_userinfo(value)
    if len(value) > _MAX_VALUE_SHOWN:
        value = f"{value[:_MAX_VALUE_SHOWN]}... ({len(value)} characters)"
    return f"'{value}'"


def _schema_path_of(data_path: str | None) -> str | None:
    return _PREDICATE.sub("", data_path) if data_path else None


def _schema_node(context: libyang.Context, schema_path: str | None) -> libyang.SNode | None:
    if not schema_path:
        return None
    try:
        return next(context.find_path(schema_path), None)
    except libyang.LibyangError:
        lib.ly_err_clean(context.cdata, ffi.NULL)
        return None


def xml_value_source(context: libyang.Context, text: str) -> ValueSource:
    """Look up values in XML input, for errors whose message does not carry the value.

    Of several leaf-list values at one path, the first one that libyang
    rejects is returned.
    """
    def lookup(data_path: str, snode: libyang.SNode) -> str | None:
        try:
            root = etree.fromstring(f"<root>{text}</root>", _SOURCE_PARSER)
        except etree.XMLSyntaxError:
            return None
        elements = [root]
        for step in _STEP.finditer(data_path):
            keys = {match.group("key"): match.group("single") or match.group("double") or ""
                    for match in _KEY.finditer(step.group("predicates"))}
            elements = [child for element in elements for child in element
                        if _matches(child, step.group("name"), keys)]
        values = [element.text or "" for element in elements]
        invalid = [value for value in values if not _is_valid(context, snode, value)]
        return (invalid or values or [None])[0]

    return lookup


def _matches(element: etree._Element, name: str, keys: dict[str, str]) -> bool:
    if not isinstance(element.tag, str) or etree.QName(element).localname != name:
        return False
    for key, expected in keys.items():
        found = [child.text or "" for child in element
                 if isinstance(child.tag, str) and etree.QName(child).localname == key]
        if found[:1] != [expected]:
            return False
    return True


def _is_valid(context: libyang.Context, snode: libyang.SNode, value: str) -> bool:
    encoded = value.encode()
    valid = lib.lyd_value_validate(context.cdata, snode.cdata, encoded, len(encoded), ffi.NULL,
                                   ffi.NULL, ffi.NULL) == lib.LY_SUCCESS
    lib.ly_err_clean(context.cdata, ffi.NULL)
    return valid
