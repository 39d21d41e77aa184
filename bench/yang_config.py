"""Derive a copy of a YANG module that netconfd can serve: its configuration part.

netconfd (Yuma123 2.13) loads ``pki-agent.yang`` but has no instrumentation for
its config-false nodes, and some statements of the module abort it when data
is edited (see ``NETCONFD_UNSUPPORTED``).  The benchmark therefore gives
netconfd a copy with those statements cut out, and the report lists them.

The cutting works on source spans of a small YANG statement parser, so the
text that stays is byte for byte the original module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

# RFC 7950 §6.1: tokens are separated by whitespace, ';', '{' and '}'; strings
# may be quoted with ' or " and joined with '+'; comments are // and /* */.
_TOKEN = re.compile(
    r"""\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|'[^']*'|[;{}]|\+|[^\s;{}"']+""",
    re.DOTALL,
)


class YangSyntaxError(ValueError):
    """The module text is not a sequence of YANG statements."""

    def __init__(self, position: int, detail: str) -> None:
        super().__init__(f"YANG syntax error at character {position}: {detail}")
        self.position = position


@dataclass(slots=True)
class Statement:
    """One YANG statement with its source span [start, end) and substatements."""

    keyword: str
    argument: str | None
    start: int
    end: int
    children: list[Statement] = field(default_factory=list)

    def walk(self) -> Iterator[Statement]:
        """Yield this statement and every statement below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def child_argument(self, keyword: str) -> str | None:
        """Return the argument of the first substatement ``keyword``, if any."""
        for child in self.children:
            if child.keyword == keyword:
                return child.argument
        return None


def _tokens(text: str) -> list[tuple[str, int]]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise YangSyntaxError(position, "unterminated string or comment")
        token = match.group()
        if not (token.isspace() or token.startswith(("//", "/*"))):
            tokens.append((token, position))
        position = match.end()
    return tokens


def _unquote(token: str) -> str:
    if token[:1] in "\"'":
        return token[1:-1]
    return token


def parse_statements(text: str) -> list[Statement]:
    """Parse YANG text into its top-level statements (usually one ``module``)."""
    tokens = _tokens(text)
    statements, index = _parse_block(tokens, 0)
    if index != len(tokens):
        raise YangSyntaxError(tokens[index][1], "unexpected '}'")
    return statements


def _parse_block(tokens: list[tuple[str, int]], index: int) -> tuple[list[Statement], int]:
    """Parse statements from ``index`` up to an unmatched '}' or the end of the tokens."""
    statements = []
    while index < len(tokens) and tokens[index][0] != "}":
        keyword, start = tokens[index]
        index += 1
        parts = []
        while index < len(tokens) and tokens[index][0] not in (";", "{", "}"):
            if tokens[index][0] != "+":
                parts.append(_unquote(tokens[index][0]))
            index += 1
        if index == len(tokens) or tokens[index][0] == "}":
            raise YangSyntaxError(start, f"statement {keyword!r} has no ';' or block")
        statement = Statement(keyword, "".join(parts) if parts else None, start, 0)
        if tokens[index][0] == "{":
            statement.children, index = _parse_block(tokens, index + 1)
            if index == len(tokens):
                raise YangSyntaxError(start, f"block of {keyword!r} is not closed")
        statement.end = tokens[index][1] + 1
        index += 1
        statements.append(statement)
    return statements, index


def is_config_false(statement: Statement) -> bool:
    """Tell whether a data node is declared ``config false``."""
    return statement.child_argument("config") == "false"


def is_fingerprint_must(statement: Statement) -> bool:
    """Tell whether a statement is a ``must`` that sums number() of comparisons.

    netconfd 2.13 aborts (SIGABRT) when it evaluates the length check of
    ``enroll-server/fingerprint`` on an edit.
    """
    return statement.keyword == "must" and "number(" in (statement.argument or "")


NETCONFD_UNSUPPORTED: dict[str, Callable[[Statement], bool]] = {
    "config false nodes (operational state)": is_config_false,
    "must on enroll-server/fingerprint (aborts netconfd on edit)": is_fingerprint_must,
}


def cut_statements(
    text: str, rules: dict[str, Callable[[Statement], bool]]
) -> tuple[str, dict[str, int]]:
    """Remove every statement that a rule matches; return the text and the counts."""
    counts = dict.fromkeys(rules, 0)
    spans = []
    for top in parse_statements(text):
        for statement in top.walk():
            for description, matches in rules.items():
                if matches(statement):
                    counts[description] += 1
                    spans.append((statement.start, statement.end))
                    break
    kept_parts = []
    position = 0
    for start, end in sorted(spans):
        if start < position:
            continue  # inside a statement that is already cut
        kept_parts.append(text[position:start])
        position = end
    kept_parts.append(text[position:])
    return "".join(kept_parts), counts
