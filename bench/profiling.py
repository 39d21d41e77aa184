"""Summaries of cProfile statistics: where the time goes, by package and by function."""

from __future__ import annotations

import pstats
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

# The event loop's wait for I/O is idle time, not work of the agent.
IDLE_FUNCTIONS = ("<method 'poll' of 'select.epoll' objects>",)


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """Busy and idle seconds, and table rows of own time by package and by function."""

    busy_seconds: float
    idle_seconds: float
    packages: list[list[str]]
    functions: list[list[str]]


def summarize_profile(path: Path, top: int = 15, calls: int = 1) -> ProfileSummary:
    """Read a cProfile file and total its own time by package and by function.

    ``calls`` is the number of benchmark calls in the profile; the function rows
    end with their own time divided by it.
    """
    entries = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    idle = 0.0
    by_package: dict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), (_, count, own, cumulative, _) in entries.items():
        if name in IDLE_FUNCTIONS:
            idle += own
            continue
        by_package[package_of(filename, name)] += own
        where = name if filename == "~" else f"{_short(filename)}:{line} {name}"
        functions.append((own, cumulative, count, where))
    busy = sum(by_package.values())
    share = busy or 1.0
    package_rows = [
        [package, f"{seconds * 1000:.0f}", f"{100 * seconds / share:.0f}"]
        for package, seconds in sorted(by_package.items(), key=lambda item: -item[1])[:top]
    ]
    function_rows = [
        [
            where,
            str(count),
            f"{own * 1000:.1f}",
            f"{cumulative * 1000:.1f}",
            f"{own * 1000 / calls:.2f}",
        ]
        for own, cumulative, count, where in sorted(functions, reverse=True)[:top]
    ]
    return ProfileSummary(busy, idle, package_rows, function_rows)


def package_of(filename: str, function: str) -> str:
    """Name the package of a profile entry; C functions are named by their module."""
    if filename == "~":
        if "_libyang." in function:
            return "libyang (C library)"
        if "_rust" in function or "cryptography" in function:
            return "cryptography (Rust and OpenSSL)"
        return "Python built-ins and C modules"
    parts = Path(filename).parts
    if "site-packages" in parts:
        name = parts[parts.index("site-packages") + 1].removesuffix(".py")
        return "libyang (Python bindings)" if name == "libyang" else name
    for anchor in ("agent", "bench"):
        if anchor in parts:
            index = parts.index(anchor)
            return ".".join(parts[index : index + 2]).removesuffix(".py")
    for index, part in enumerate(parts[:-1]):
        if part.startswith("python3"):
            return "stdlib " + parts[index + 1].removesuffix(".py")
    return filename


def _short(filename: str) -> str:
    parts = Path(filename).parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :])
    for anchor in ("agent", "bench"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return Path(filename).name
