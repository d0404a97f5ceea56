"""Fixtures of the crash tests: server processes over one SQLite file, and a side-effect counter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crash.support import SideEffectCounter
from tests.integration.support import ProcessGroup, process_group


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    """Starts servers for one test; stops whatever still runs (SIGTERM, then SIGKILL) afterwards."""
    with process_group(tmp_path) as group:
        yield group


@pytest.fixture
def counter() -> Iterator[SideEffectCounter]:
    """The side-effect counter on a free loopback port."""
    with SideEffectCounter() as service:
        yield service
