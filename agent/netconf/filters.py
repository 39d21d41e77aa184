"""The <filter> parameter of get, get-config and create-subscription (RFC 6241 §6, §8.9)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libyang
from lxml import etree

from agent.netconf.errors import BASE_NS, ErrorTag, ErrorType, RPCError
from agent.schema import Schema
from agent.schema.filters import subtree_to_xpaths

_PREFIXED_NAME = re.compile(r"(?<![\w.\-:'\"])([A-Za-z_][\w.\-]*):(?=[A-Za-z_*])")


@dataclass(frozen=True, slots=True)
class DataFilter:
    """XPath selections to apply to a data tree; `modules` is None when any module may match."""

    xpaths: tuple[str, ...]
    modules: frozenset[str] | None

    def wants(self, module: str) -> bool:
        return self.modules is None or module in self.modules


def filter_type(element: etree._Element) -> str:
    # RFC 6241 defines the type and select attributes unqualified, but some
    # clients qualify them with the base namespace.
    return element.get("type") or element.get(f"{{{BASE_NS}}}type") or "subtree"


def parse_data_filter(schema: Schema, element: etree._Element | None) -> DataFilter | None:
    """Translate a filter parameter into XPath selections; None means no filter."""
    if element is None:
        return None
    kind = filter_type(element)
    if kind == "xpath":
        select = element.get("select") or element.get(f"{{{BASE_NS}}}select")
        if not select:
            raise RPCError(ErrorType.PROTOCOL, ErrorTag.MISSING_ATTRIBUTE,
                           "an xpath filter needs a select attribute",
                           info=(("bad-attribute", "select"), ("bad-element", "filter")))
        return DataFilter((xpath_to_libyang(schema, select, element.nsmap),), None)
    if kind != "subtree":
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.BAD_ATTRIBUTE,
                       f"unknown filter type {kind!r}",
                       info=(("bad-attribute", "type"), ("bad-element", "filter")))
    children = [child for child in element if isinstance(child.tag, str)]
    xpaths = subtree_to_xpaths(children, schema.module_name,
                               lambda name: _top_level_modules(schema, name))
    modules = frozenset(xpath[1:].split(":", 1)[0] for xpath in xpaths)
    return DataFilter(tuple(xpaths), modules)


def xpath_to_libyang(schema: Schema, select: str, nsmap: dict[str | None, str]) -> str:
    """Replace the client's XML prefixes in an XPath with the module names libyang expects.

    NOTE: prefixes are found with a regular expression, so a string literal
    that looks like `word:name` is rewritten as well.
    """
    def replace(match: re.Match[str]) -> str:
        prefix = match.group(1)
        namespace = nsmap.get(prefix)
        module = schema.module_name(namespace) if namespace else None
        if module is None:
            raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                           f"the xpath filter uses the undeclared or unknown prefix {prefix!r}",
                           info=(("bad-element", "filter"),))
        return f"{module}:"

    return _PREFIXED_NAME.sub(replace, select)


def _top_level_modules(schema: Schema, name: str) -> list[str]:
    modules = []
    for mod in schema.context:
        if not mod.implemented():
            continue
        try:
            found = next(schema.context.find_path(f"/{mod.name()}:{name}"), None)
        except libyang.LibyangError:
            found = None
        if found is not None:
            modules.append(mod.name())
    return modules
