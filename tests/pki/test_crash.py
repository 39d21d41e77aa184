"""A kill -9 during store writes leaves the old or the new version, never a mix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.pki import PKIStore

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cryptography.hazmat.primitives.asymmetric import rsa
    from agent.pki import PKIStore

    store = PKIStore(Path(sys.argv[1]))
    store.load()
    store.start_lineage("mycert1", "xpki-srv", "digest")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    store.begin_request("mycert1", key, renewal=False)
    counter = 0
    while True:
        counter += 1
        store.save_pending("mycert1", {"counter": counter, "padding": "x" * 4096})
        print(counter, flush=True)
""")


@pytest.mark.parametrize("saves_before_kill", [1, 7, 40])
def test_kill_during_writes_leaves_valid_store(tmp_path: Path, saves_before_kill: int) -> None:
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                               stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[2])
    assert process.stdout is not None
    confirmed = 0
    try:
        while confirmed < saves_before_kill:
            line = process.stdout.readline()
            assert line, "the writer process exited early"
            confirmed = int(line)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()

    store = PKIStore(tmp_path)
    store.load()

    pending = store.pending_transaction("mycert1")
    assert pending is not None
    assert pending["counter"] >= confirmed
    assert pending["padding"] == "x" * 4096
    lineage = store.lineage("mycert1")
    assert lineage is not None
    assert lineage.next_key_size == 2048
