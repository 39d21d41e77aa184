"""The `harness` and `loaded` fixtures for tests of the RPC layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netconf.rpc_harness import Harness, commit_servers, harness_fixture


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    yield from harness_fixture(tmp_path)


@pytest.fixture
def loaded(harness: Harness) -> Harness:
    """Return the harness with the two enrollment servers and enrollments committed."""
    commit_servers(harness)
    return harness
