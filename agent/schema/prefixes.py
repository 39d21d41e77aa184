"""XML namespace prefixes in client values and XPath, rewritten to the module names libyang uses.

libyang evaluates XPath and compares identityref values in its JSON form,
where a prefix is a module name. NETCONF clients write XML prefixes
instead, bound by xmlns declarations in scope of the element that carries
the value: RFC 7950 §9.10.3 for identityref values, §9.13.2 for
instance-identifiers, and RFC 6241 §8.9.1 for the select attribute of an
xpath filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.schema.errors import SchemaError

ModuleForNamespace = Callable[[str], "str | None"]
Namespaces = dict[str | None, str]

# A prefix is a name followed by ':' and the start of a local name or '*'.
# After '::' (an axis such as child::) a name starts a new step.
_PREFIX = re.compile(r"(?:(?<=::)|(?<![\w.\-:]))([A-Za-z_][\w.\-]*):(?=[A-Za-z_*])")
_LITERAL = re.compile(r"""'[^']*'|"[^"]*\"""")


class UnknownPrefixError(SchemaError):
    """An XPath uses a prefix that is not declared, or whose namespace is no module's."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        super().__init__(f"undeclared or unknown prefix {prefix!r}")


def qualify_value(value: str, nsmap: Namespaces, module_for: ModuleForNamespace) -> str:
    """Replace each declared XML prefix in an identityref or instance-identifier value.

    A prefix that is not declared, or whose namespace is no module's, is
    left as it is, so a plain string that only looks prefixed is unchanged.
    """
    def replace(match: re.Match[str]) -> str:
        namespace = nsmap.get(match.group(1))
        module = module_for(namespace) if namespace else None
        return f"{module}:" if module else match.group(0)

    return _PREFIX.sub(replace, value)


def qualify_xpath(select: str, nsmap: Namespaces, module_for: ModuleForNamespace) -> str:
    """Replace the XML prefixes of an XPath expression with module names.

    Outside string literals every prefix must be declared and name a
    module's namespace. Inside a literal, such as the 'x:scep' of
    ``[x:protocol='x:scep']``, declared prefixes are replaced too, because
    libyang compares identityref and instance-identifier values in their
    module-name form.

    Raises:
        UnknownPrefixError: a prefix outside literals is undeclared or unknown.
    """
    def replace(match: re.Match[str]) -> str:
        namespace = nsmap.get(match.group(1))
        module = module_for(namespace) if namespace else None
        if module is None:
            raise UnknownPrefixError(match.group(1))
        return f"{module}:"

    parts = []
    position = 0
    for literal in _LITERAL.finditer(select):
        parts.append(_PREFIX.sub(replace, select[position:literal.start()]))
        parts.append(qualify_value(literal.group(0), nsmap, module_for))
        position = literal.end()
    parts.append(_PREFIX.sub(replace, select[position:]))
    return "".join(parts)
