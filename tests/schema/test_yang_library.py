"""The RFC 8525 yang-library data and its content-id."""

from __future__ import annotations

import subprocess
import sys

from agent.schema import Schema

PRINT_CONTENT_ID = (
    "from agent.schema import Schema\n"
    "library = Schema.load().yang_library()\n"
    "print(library.find('/ietf-yang-library:yang-library/content-id').value())\n"
)


def content_id_in_new_process() -> str:
    result = subprocess.run([sys.executable, "-c", PRINT_CONTENT_ID], check=True,
                            capture_output=True, text=True, timeout=60)
    return result.stdout.strip()


def test_content_id_equal_across_restarts() -> None:
    first = content_id_in_new_process()
    second = content_id_in_new_process()

    assert first == second
    assert first == Schema.load().content_id()


def test_content_id_is_hex_digest() -> None:
    content_id = Schema.load().content_id()

    assert len(content_id) == 16
    assert int(content_id, 16) >= 0
