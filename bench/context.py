"""The run context that every benchmark receives, and the result that it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.processes import ProcessGroup
from bench.report import Target


@dataclass
class Context:
    """Settings of one run, the process group, and figures shared between benchmarks."""

    quick: bool
    repo: Path
    workdir: Path
    group: ProcessGroup
    agent_missing: str | None = None
    """Reason that ``pki-agent serve`` cannot run, or None when it can."""
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        """Timed calls per operation in the latency benchmark."""
        return 50 if self.quick else 200

    @property
    def warmup(self) -> int:
        """Untimed calls per operation before timing starts."""
        return 5 if self.quick else 20

    def command(self, benchmark: str) -> str:
        """Return the command line that reproduces ``benchmark`` alone."""
        quick = " --quick" if self.quick else ""
        return f"bench/run{quick} --only {benchmark}"


@dataclass(frozen=True, slots=True)
class BenchResult:
    """A benchmark's Markdown section and the targets it checked."""

    markdown: str
    targets: tuple[Target, ...] = ()
