"""Markdown output of the benchmarks: tables, targets and the machine description."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bench.stats import Summary

PYTHON_PACKAGES = ("asyncssh", "libyang", "lxml", "cryptography", "asn1crypto", "pki-agent")
DEBIAN_PACKAGES = ("netconfd", "openssh-server", "scep", "libyang2")


class Verdict(StrEnum):
    """Whether a measured figure meets its target."""

    MET = "met"
    NOT_MET = "not met"
    NOT_MEASURED = "not measured"


@dataclass(frozen=True, slots=True)
class Target:
    """One target of the benchmark issue and what this run measured for it."""

    name: str
    limit: str
    measured: str
    verdict: Verdict
    section: str


def check(name: str, limit: float, value: float | None, unit: str, section: str) -> Target:
    """Build the target line for ``value`` at most ``limit``; None means not measured."""
    limit_text = f"at most {format_number(limit)}{unit}"
    if value is None:
        return Target(name, limit_text, "-", Verdict.NOT_MEASURED, section)
    verdict = Verdict.MET if value <= limit else Verdict.NOT_MET
    return Target(name, limit_text, f"{format_number(value)}{unit}", verdict, section)


def format_number(value: float) -> str:
    """Format a figure with three significant digits, keeping integers whole."""
    if value >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.3g}"


def ms(seconds: float) -> str:
    """Format seconds as milliseconds with three significant digits."""
    return format_number(seconds * 1000)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render a GitHub-flavoured Markdown table."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        cells = [str(cell).replace("|", "\\|").replace("\n", " ") for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary_cells(summary: Summary) -> list[str]:
    """Return median and p90 in milliseconds, as two table cells."""
    return [ms(summary.median), ms(summary.p90)]


def section(title: str, command: str, body: str) -> str:
    """Render a second-level section that names the command behind its figures."""
    return f"## {title}\n\nCommand: `{command}`\n\n{body.rstrip()}\n"


def targets_table(targets: Sequence[Target]) -> str:
    """Render the table of every target with its verdict."""
    rows = [(t.name, t.limit, t.measured, t.verdict, t.section) for t in targets]
    return table(["target", "limit", "measured", "verdict", "section"], rows)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip('"')
    except OSError:
        pass
    return platform.platform()


def _python_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _debian_version(name: str) -> str:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 and result.stdout else "not installed"


def machine_section() -> str:
    """Describe the machine, the operating system and the versions under test."""
    rows = [
        ("CPU", _cpu_model()),
        ("cores", str(os.cpu_count())),
        ("memory", _memory_total()),
        ("OS", f"{_os_name()}, kernel {platform.release()}"),
        ("Python", f"{platform.python_version()}, {Path(sys.executable).resolve()}"),
    ]
    rows += [(f"Python package {name}", _python_version(name)) for name in PYTHON_PACKAGES]
    rows += [(f"Debian package {name}", _debian_version(name)) for name in DEBIAN_PACKAGES]
    return "## Machine\n\n" + table(["item", "value"], rows)
