"""Compare rendered output with the golden files in tests/cli/golden/.

Run the tests with PKI_CLI_UPDATE_GOLDEN=1 to rewrite the golden files
from the current output, then review the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """Assert that ``text`` equals the golden file ``name``, or rewrite it when asked."""
    path = GOLDEN_DIR / name
    if os.environ.get("PKI_CLI_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"golden file {path} is missing; run with PKI_CLI_UPDATE_GOLDEN=1"
    expected = path.read_text()
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=f"golden/{name}", tofile="output",
    )
    assert text == expected, "".join(diff)
