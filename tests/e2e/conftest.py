"""Fixtures of the end-to-end tests: the real server process, the seed's sum service, the real CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.support import ProcessGroup, ServerProcess, SumService, process_group


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    """Starts servers and services for one test; stops them (SIGTERM, then SIGKILL) afterwards."""
    with process_group(tmp_path) as group:
        yield group


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``mistral-core serve`` on a free port over a new SQLite file, answering ``GET /v2``.

    One per test module, to keep the suite fast: its tests each work on their own executions.
    Tests that stop or restart servers start their own with :func:`processes`.
    """
    with process_group(tmp_path_factory.mktemp("server")) as group:
        yield group.server()


@pytest.fixture
def sum_service(processes: ProcessGroup) -> SumService:
    """The seed's sum service (contrib/sum_service) on a free port, calling back after 0.1 s."""
    return processes.sum_service()
