"""scripts/setup checks the interpreter it is given before it touches .venv."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("python", ["/bin/true", "no-such-python", "/bin/sh"])
def test_setup_rejects_non_python(tmp_path: Path, python: str) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "scripts" / "setup", checkout / "scripts" / "setup")
    marker = checkout / ".venv" / "kept"
    marker.parent.mkdir()
    marker.write_text("user data\n")

    result = subprocess.run(
        ["bash", str(checkout / "scripts" / "setup")],
        env={**os.environ, "PYTHON": python}, capture_output=True, text=True, timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert f"setup: {python} is not a Python 3.11 or newer interpreter" in result.stderr
    assert marker.read_text() == "user data\n"
