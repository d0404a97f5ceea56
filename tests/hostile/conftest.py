"""Fixtures of the hostile tests: real server processes on loopback, attacked through real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.support import ProcessGroup, process_group


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    """Starts servers for one test (databases and logs in its tmp_path); stops them afterwards."""
    with process_group(tmp_path) as group:
        yield group
