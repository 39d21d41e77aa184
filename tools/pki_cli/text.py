"""Text building blocks of the views: time formats, tables, key-value lists and boxes.

Every time is shown in UTC as ``YYYY-MM-DD HH:MM:SS``. Relative times
("in 1m 58s", "12s ago") are computed from a "now" that the caller passes,
so tests can inject it.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime

BOX_TEXT_WIDTH = 72
"""Maximum width of the text inside a box; longer descriptions wrap."""


def parse_time(value: str) -> datetime:
    """Parse a YANG date-and-time (RFC 3339) value into an aware datetime.

    Raises:
        ValueError: the value is not an RFC 3339 timestamp.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone offset")
    return parsed.astimezone(UTC)


def format_time(value: str | None) -> str:
    """Format a date-and-time value in UTC, or return '' when it is absent."""
    if not value:
        return ""
    try:
        return parse_time(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def format_duration(seconds: int) -> str:
    """Format a number of seconds as ``1d 2h 3m 4s``, leaving out leading zero units."""
    seconds = max(0, seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size or parts:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    parts.append(f"{seconds}s")
    return " ".join(parts)


def format_relative(value: str | None, now: datetime, past: bool = False) -> str:
    """Format a date-and-time with its distance from ``now``, for example '... (in 58s)'.

    A time before ``now`` reads "ago", even by a fraction of a second. With
    ``past`` (a last attempt or check) a time slightly after ``now``, from
    clock skew between the agent and this host, reads "0s ago" too.
    """
    if not value:
        return ""
    try:
        moment = parse_time(value)
    except ValueError:
        return value
    delta = math.floor((moment - now).total_seconds())
    if past:
        delta = min(delta, 0)
    distance = f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(-delta)} ago"
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} ({distance})"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Render left-aligned columns separated by two spaces, without trailing blanks."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in [list(headers), *rows]:
        cells = [cell.ljust(widths[index]) for index, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_fields(fields: Sequence[tuple[str, str]], width: int = 0) -> list[str]:
    """Render ``Name : value`` lines with aligned colons; empty values are left out.

    The names are padded to the longest name, or to ``width`` if that is more.
    """
    shown = [(name, value) for name, value in fields if value != ""]
    width = max([width, *(len(name) for name, _ in shown)])
    return [f"{name.ljust(width)} : {value}" for name, value in shown]


def render_box(title: str, items: Sequence[str]) -> list[str]:
    """Render a titled ASCII box with numbered, wrapped items."""
    body: list[str] = []
    for number, item in enumerate(items, start=1):
        marker = f"{number}. "
        wrapped = textwrap.wrap(
            item,
            width=BOX_TEXT_WIDTH,
            initial_indent=marker,
            subsequent_indent=" " * len(marker),
            break_long_words=True,
            break_on_hyphens=False,
        )
        body.extend(wrapped or [marker.rstrip()])
    width = max(len(line) for line in [title, *body])
    rule = "+" + "-" * (width + 2) + "+"
    lines = [rule, f"| {title.ljust(width)} |", rule]
    lines.extend(f"| {line.ljust(width)} |" for line in body)
    if body:
        lines.append(rule)
    return lines
