"""docs/yang-tree.txt is what `pyang -f tree` prints for the current module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TREE_FILE = REPO_ROOT / "docs" / "yang-tree.txt"
REGENERATE = (
    ".venv/bin/pyang -f tree -p .venv/share/yang/modules/ietf:.venv/share/yang/modules/iana "
    "yang/pki-agent.yang > docs/yang-tree.txt"
)


def test_yang_tree_is_current() -> None:
    modules = Path(sys.prefix) / "share" / "yang" / "modules"
    search_path = f"{modules / 'ietf'}:{modules / 'iana'}"
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "pyang"), "-f", "tree", "-p", search_path,
         "yang/pki-agent.yang"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == TREE_FILE.read_text(), f"docs/yang-tree.txt is stale: {REGENERATE}"
