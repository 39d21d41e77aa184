"""The <filter> parameter of get, get-config and create-subscription (RFC 6241 §6, §8.9)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libyang
from _libyang import ffi, lib
from lxml import etree

from agent.netconf.errors import BASE_NS, ErrorTag, ErrorType, RPCError
from agent.schema import Schema
from agent.schema.filters import subtree_to_xpaths
from agent.schema.prefixes import UnknownPrefixError, qualify_xpath
from agent.schema.tree import take_issues

# Limits on client XPath filters. libyang evaluates XPath with no time
# limit on the event loop, so every other session waits for it. A
# predicate that reaches outside the node it tests makes evaluation cost
# grow with the square of the tree size or worse: one get with
# `//*[count(//*[count(//*) > 0]) > 0]` kept an agent with one enrollment
# busy for 21 s. Predicates may therefore only look down into the node
# they test, and the length and the number of `//` steps are bounded.
# NOTE: within these limits the slowest expression found, with 16 `.` in a
# concat() under `//*//*`, took about 0.2 s on 1,000 enrollments without
# state (one measurement on a 2-core test machine). It is an estimate, not a bound.
MAX_XPATH_LENGTH = 1024
MAX_DESCENDANT_STEPS = 2
MAX_PREDICATE_DEPTH = 4
# Each path inside a predicate may read the string-value of a whole
# subtree on every node that `//` selects, so their number is bounded too.
MAX_PREDICATE_PATHS = 16
# A subtree filter becomes one XPath per selection, and a content match
# on a leaf that is not a list key scans the whole list: about 0.5 ms for
# 1,000 enrollments, measured on the test machine.
MAX_SUBTREE_SELECTIONS = 256
_TOP_LEVEL_AXES = frozenset({"child", "descendant", "descendant-or-self", "self", "parent",
                             "attribute"})
_PREDICATE_AXES = frozenset({"child", "self", "attribute"})
# current() and deref() jump out of the tested node, and re-match() runs a
# backtracking regular expression on every node.
_FUNCTIONS = frozenset({
    "last", "position", "count", "local-name", "namespace-uri", "name", "string", "concat",
    "starts-with", "contains", "substring-before", "substring-after", "substring",
    "string-length", "normalize-space", "translate", "boolean", "not", "true", "false",
    "number", "sum", "floor", "ceiling", "round", "derived-from", "derived-from-or-self",
    "enum-value", "bit-is-set",
})
_NODE_TYPES = frozenset({"node", "text", "comment", "processing-instruction"})
_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_XPATH_TOKEN = re.compile(r"""\s*(?:
    (?P<literal>"[^"]*"|'[^']*')
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<name>[A-Za-z_][\w.\-]*(?::(?:[A-Za-z_][\w.\-]*|\*))?)
  | (?P<operator>//|::|\.\.|!=|<=|>=|[/()\[\]@,|=<>+*.\-$])
)""", re.VERBOSE)


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
        if select.strip() == "/":
            return None  # the root node: everything, as with no filter
        check_xpath_cost(select)
        xpath = xpath_to_libyang(schema, select, element.nsmap)
        _check_syntax(schema, xpath)
        return DataFilter((xpath,), None)
    if kind != "subtree":
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.BAD_ATTRIBUTE,
                       f"unknown filter type {kind!r}",
                       info=(("bad-attribute", "type"), ("bad-element", "filter")))
    children = [child for child in element if isinstance(child.tag, str)]
    xpaths = subtree_to_xpaths(children, schema.module_name,
                               lambda name: _top_level_modules(schema, name))
    if len(xpaths) > MAX_SUBTREE_SELECTIONS:
        raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                       f"the subtree filter has {len(xpaths)} selections, more than the "
                       f"maximum of {MAX_SUBTREE_SELECTIONS}; split it into several requests",
                       info=(("bad-element", "filter"),))
    modules = frozenset(xpath[1:].split(":", 1)[0] for xpath in xpaths)
    return DataFilter(tuple(xpaths), modules)


def invalid_filter(reason: str) -> RPCError:
    """Build the rpc-error for an xpath filter that is rejected before or during evaluation."""
    return RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                    f"invalid xpath filter: {reason}", info=(("bad-element", "filter"),))


def _check_syntax(schema: Schema, xpath: str) -> None:
    """Compile the XPath against the schema, so a syntax error is reported even on empty data."""
    node_set = ffi.new("struct ly_set **")
    if lib.lys_find_xpath(schema.context.cdata, ffi.NULL, xpath.encode(), 0,
                          node_set) != lib.LY_SUCCESS:
        issues = take_issues(schema.context)
        raise invalid_filter("; ".join(issue.message for issue in issues) or "syntax error")
    lib.ly_set_free(node_set[0], ffi.NULL)
    # libyang may store warnings even on success; a later take_issues()
    # would report them as errors of an unrelated request.
    lib.ly_err_clean(schema.context.cdata, ffi.NULL)


def xpath_to_libyang(schema: Schema, select: str, nsmap: dict[str | None, str]) -> str:
    """Replace the client's XML prefixes in an XPath with the module names libyang expects.

    `nsmap` is the namespace context of the filter element, declarations
    on the element itself included (RFC 6241 §8.9.1).
    """
    try:
        return qualify_xpath(select, nsmap, schema.module_name)
    except UnknownPrefixError as exc:
        raise RPCError(ErrorType.APPLICATION, ErrorTag.INVALID_VALUE,
                       f"the xpath filter uses the undeclared or unknown prefix {exc.prefix!r}",
                       info=(("bad-element", "filter"),)) from exc


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


Token = tuple[str, str]
_OPERATOR_NAMES = frozenset({"and", "or", "div", "mod"})
_TOP_LEVEL_OPERATORS = frozenset({"/", "//", "|", "*", ".", "..", "@", "::", "[", "(", ")"})


def _tokenize(select: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = select.rstrip()
    while position < len(text):
        match = _XPATH_TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise invalid_filter(f"unexpected character {text[position:].strip()[:1]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def check_xpath_cost(select: str) -> None:
    """Reject an xpath filter whose evaluation cost could grow faster than the data.

    Raises:
        RPCError: invalid-value, naming the construct that is not allowed.
    """
    if len(select) > MAX_XPATH_LENGTH:
        raise invalid_filter(f"the expression has {len(select)} characters, "
                             f"more than the maximum of {MAX_XPATH_LENGTH}")
    tokens = _tokenize(select)
    ends = _operand_ends(tokens)
    stack: list[str] = []
    closed = ""
    descendant_steps = 0
    for index, (kind, text) in enumerate(tokens):
        previous = tokens[index - 1] if index else ("", "")
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        in_predicate = "[" in stack
        if not stack and not _is_path_token(kind, text, following):
            raise invalid_filter(f"{select!r} is not a location path, so it selects no nodes")
        if kind == "name":
            descendant_steps += _check_name(text, following, in_predicate)
        elif text in ("[", "("):
            stack.append("[" if text == "[" else _paren_kind(previous))
            if stack.count("[") > MAX_PREDICATE_DEPTH:
                raise invalid_filter(f"predicates nest deeper than {MAX_PREDICATE_DEPTH} levels")
        elif text in ("]", ")"):
            if not stack or (stack[-1] == "[") != (text == "]"):
                raise invalid_filter(f"unbalanced {text!r}")
            closed = stack.pop()
        elif text in _COMPARISONS:
            _check_comparison(previous, closed, tokens[index + 1:index + 3])
        else:
            descendant_steps += _check_operator(text, index > 0 and ends[index - 1],
                                                in_predicate)
    if stack:
        raise invalid_filter(f"unclosed {stack[-1][0]!r}")
    if _count_predicate_paths(tokens, ends) > MAX_PREDICATE_PATHS:
        raise invalid_filter(f"more than {MAX_PREDICATE_PATHS} paths inside predicates")
    if descendant_steps > MAX_DESCENDANT_STEPS:
        raise invalid_filter(f"more than {MAX_DESCENDANT_STEPS} descendant steps ('//')")


def _is_path_token(kind: str, text: str, following: str) -> bool:
    if kind == "name":
        return following != "(" or text in _NODE_TYPES
    return kind == "operator" and text in _TOP_LEVEL_OPERATORS


def _paren_kind(previous: Token) -> str:
    kind, text = previous
    return "call" if kind == "name" and text not in _NODE_TYPES else "("


def _check_name(text: str, following: str, in_predicate: bool) -> int:
    """Check a function or axis name and return 1 for a descendant axis."""
    if following == "(" and text not in _NODE_TYPES and text not in _FUNCTIONS:
        raise invalid_filter(f"the function {text}() is not allowed in filters")
    if following != "::":
        return 0
    axes = _PREDICATE_AXES if in_predicate else _TOP_LEVEL_AXES
    if text not in axes:
        where = "inside a predicate" if in_predicate else "in filters"
        raise invalid_filter(f"the {text} axis is not allowed {where}")
    return 1 if text.startswith("descendant") else 0


def _operand_ends(tokens: list[Token]) -> list[bool]:
    """Mark the tokens that end an operand, after which `/` continues a path.

    XPath 1.0 §3.7: `*` and the names and, or, div and mod are operators
    exactly when they follow the end of an operand.
    """
    ends: list[bool] = []
    for kind, text in tokens:
        after_operand = bool(ends) and ends[-1]
        if kind in ("literal", "number") or text in (")", "]", ".", ".."):
            ends.append(True)
        elif kind == "name":
            ends.append(not (after_operand and text in _OPERATOR_NAMES))
        elif text == "*":
            ends.append(not after_operand)
        else:
            ends.append(False)
    return ends


def _count_predicate_paths(tokens: list[Token], ends: list[bool]) -> int:
    """Count the relative paths that start inside predicates, `.` included."""
    count = 0
    depth = 0
    for index, (kind, text) in enumerate(tokens):
        if text in ("[", "]"):
            depth += 1 if text == "[" else -1
            continue
        previous = tokens[index - 1][1] if index else ""
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if depth == 0 or previous in ("/", "//", "::", "@"):
            continue
        if kind == "name" and (following == "::" or (following == "(" and text not in _NODE_TYPES)):
            continue  # an axis or a function, counted by the step that follows it
        is_step = kind == "name" or text in ("*", ".")
        if text == "@" or (is_step and ends[index]):
            count += 1
    return count


def _check_operator(text: str, after_operand: bool, in_predicate: bool) -> int:
    """Check a path operator and return 1 for a descendant step."""
    if text == "$":
        raise invalid_filter("variables are not defined in filters")
    if not in_predicate:
        return 1 if text == "//" else 0
    if text in ("//", ".."):
        raise invalid_filter(f"{text!r} is not allowed inside a predicate, "
                             "which may only test the children of its node")
    if text == "/" and not after_operand:
        raise invalid_filter("an absolute path is not allowed inside a predicate, "
                             "which may only test the children of its node")
    return 0


def _check_comparison(previous: Token, closed: str, following: list[Token]) -> None:
    """Require a scalar on one side, because comparing two node-sets costs their product."""
    kind, text = previous
    left_scalar = kind in ("literal", "number") or (text == ")" and closed == "call")
    right_kind, right_text = following[0] if following else ("", "")
    after = following[1][1] if len(following) > 1 else ""
    right_scalar = right_kind in ("literal", "number") or right_text == "-" or (
        right_kind == "name" and after == "(" and right_text not in _NODE_TYPES)
    if not (left_scalar or right_scalar):
        raise invalid_filter("a comparison needs a literal, a number or a function call "
                             "on one side")
