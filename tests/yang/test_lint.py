"""pyang --lint and yanglint must accept the module with no output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE = REPO_ROOT / "yang" / "pki-agent.yang"
# pyang installs the IETF modules under sys.prefix; they are never copied into yang/.
IETF_DIR = Path(sys.prefix) / "share" / "yang" / "modules" / "ietf"


def test_pyang_lint_is_clean() -> None:
    pyang = Path(sys.executable).with_name("pyang")
    result = subprocess.run(
        [str(pyang), "--lint", "-p", str(IETF_DIR), str(MODULE)],
        capture_output=True, text=True, check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


@pytest.mark.skipif(shutil.which("yanglint") is None, reason="Debian libyang2-tools missing")
def test_yanglint_is_clean() -> None:
    result = subprocess.run(
        ["yanglint", "-p", str(IETF_DIR), str(MODULE)],
        capture_output=True, text=True, check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


def test_ietf_modules_are_not_copied() -> None:
    assert sorted(path.name for path in MODULE.parent.glob("*.yang")) == ["pki-agent.yang"]
