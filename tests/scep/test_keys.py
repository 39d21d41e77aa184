"""RSA key generation, in the caller's thread and in the background."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.scep import keys
from agent.scep.errors import InvalidInput
from agent.scep.keys import generate_key, generate_key_in_background

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("size", [1024, 2047, 8192])
def test_generate_key_rejects_size(size: int) -> None:
    with pytest.raises(InvalidInput, match="2048, 3072 or 4096"):
        generate_key(size)


def test_generate_key_size() -> None:
    assert generate_key(3072).key_size == 3072


def test_background_key_size() -> None:
    key = generate_key_in_background(3072).result(timeout=60)

    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072


def test_background_key_rejects_size_at_once() -> None:
    threads_before = threading.active_count()

    with pytest.raises(InvalidInput, match="2048, 3072 or 4096"):
        generate_key_in_background(1024)

    assert threading.active_count() <= threads_before


def test_background_key_error_reaches_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(public_exponent: int, key_size: int) -> rsa.RSAPrivateKey:
        raise MemoryError("no memory for the test key")

    monkeypatch.setattr(keys.rsa, "generate_private_key", fail)
    future = generate_key_in_background(2048)

    with pytest.raises(MemoryError, match="no memory for the test key"):
        future.result(timeout=60)


def test_enroll_starts_key_before_heavy_imports(tmp_path: Path) -> None:
    # The key is started before requests and the rest are imported, so that
    # OpenSSL works while they load.  Port 1 refuses, so the command ends at once.
    script = f"""
import json, sys
import agent.scep.keys as keys
seen = {{}}
start = keys.generate_key_in_background
def spy(size):
    seen["size"] = size
    seen["loaded"] = [name for name in ("requests", "asn1crypto", "agent.scep.commands")
                      if name in sys.modules]
    return start(size)
keys.generate_key_in_background = spy
from agent.cli import main
status = main(["scep", "enroll", "http://127.0.0.1:1/scep", "--dn", "CN=x",
               "--challenge", "pw", "--keysize", "3072", "--connect-timeout", "1",
               "--out", {str(tmp_path / "out")!r}])
print(json.dumps({{"status": status, **seen}}))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=120, check=False)

    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"status": 1, "size": 3072, "loaded": []}
    assert not (tmp_path / "out" / "key.pem").exists()


def test_background_key_thread_blocks_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    # The thread's own signal mask, returned in place of the key.
    def mask_of_thread(key_size: int) -> set[signal.Signals]:
        return signal.pthread_sigmask(signal.SIG_BLOCK, [])

    monkeypatch.setattr(keys, "generate_key", mask_of_thread)

    mask = generate_key_in_background(2048).result(timeout=60)

    assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} <= mask

