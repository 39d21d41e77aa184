"""What each entry point imports, checked in a fresh interpreter.

Start-up time of ``pki-agent scep`` and the idle memory of ``pki-agent serve``
depend on these imports, so the tests read ``sys.modules`` in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVER_STACK = ("asyncio", "asyncssh", "libyang", "lxml", "agent.netconf", "agent.datastore",
                "agent.schema", "agent.enrollment")
SCEP_STACK = ("requests", "urllib3", "asn1crypto", "agent.scep.client", "agent.scep.commands")


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    last_line = result.stdout.strip().splitlines()[-1]
    return set(json.loads(last_line))


def _loaded(modules: set[str], package: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for name in modules)


@pytest.fixture(scope="module")
def scep_caps_modules() -> set[str]:
    # Port 1 on loopback refuses the connection, so the command fails fast.
    return _modules_after(
        "from agent.cli import main\n"
        "main(['scep', 'caps', 'http://127.0.0.1:1/scep', '--connect-timeout', '1'])")


@pytest.mark.parametrize("package", SERVER_STACK)
def test_scep_command_skips_server(scep_caps_modules: set[str], package: str) -> None:
    assert "agent.scep.commands" in scep_caps_modules
    assert not _loaded(scep_caps_modules, package)


@pytest.mark.parametrize("package", ("cryptography", *SCEP_STACK, *SERVER_STACK))
def test_parser_skips_heavy_modules(package: str) -> None:
    modules = _modules_after("from agent.cli import build_parser\nbuild_parser()")

    assert "agent.scep.cli" in modules
    assert not _loaded(modules, package)


def test_san_checks_skip_cryptography() -> None:
    modules = _modules_after("import agent.scep.san")

    assert "agent.scep.san" in modules
    assert not _loaded(modules, "cryptography")


@pytest.mark.parametrize("package", SCEP_STACK)
def test_daemon_defers_scep_stack(package: str, tmp_path: Path) -> None:
    modules = _modules_after(
        "from pathlib import Path\n"
        "from agent.enrollment import EnrollmentDaemon\n"
        "from agent.hooks import Hooks\n"
        f"EnrollmentDaemon.create(Hooks(), Path({str(tmp_path)!r}))")

    assert "agent.enrollment.daemon" in modules
    assert not _loaded(modules, package)


def test_scep_package_names_resolve() -> None:
    import agent.scep

    for name in agent.scep.__all__:
        assert getattr(agent.scep, name) is not None
    missing = "no_such_name"
    with pytest.raises(AttributeError, match=missing):
        getattr(agent.scep, missing)
