"""The differential harness runs only when a Mistral URL is given (``MISTRAL_DIFF_URL``).

``MISTRAL_DIFF_URL=http://127.0.0.1:18989/v2 python -m pytest tests/differential`` starts a
``mistral-core serve`` process of its own over a fresh SQLite file (or uses the one at
``MISTRAL_DIFF_OURS_URL``, e.g. another version's, started with a fresh database), runs every
language fixture on both servers and writes the report to ``MISTRAL_DIFF_REPORT`` (default:
``differential-report.md`` in the current directory); with ``MISTRAL_DIFF_OBSERVATIONS`` set, also
what each server showed for every case (JSON).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.differential.harness import Server, install_helpers
from tests.differential.report import Report, load_deliberate
from tests.integration.support import process_group

DIFF_URL = os.environ.get("MISTRAL_DIFF_URL", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the harness without a Mistral to compare with."""
    if DIFF_URL:
        return
    skip = pytest.mark.skip(
        reason="no Mistral to compare with: set MISTRAL_DIFF_URL (e.g. http://127.0.0.1:18989/v2)"
    )
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """(mistral-core, Mistral 23): ours a fresh ``mistral-core serve``, theirs at ``MISTRAL_DIFF_URL``."""
    with process_group(tmp_path_factory.mktemp("differential")) as group:
        ours_url = os.environ.get("MISTRAL_DIFF_OURS_URL") or group.server().base_url + "/v2"
        ours = Server("mistral-core", ours_url.rstrip("/"), quiet=0.6)
        theirs = Server("Mistral 23", DIFF_URL.rstrip("/"), quiet=1.5)
        for server in (ours, theirs):
            install_helpers(server)
        yield ours, theirs


@pytest.fixture(scope="session")
def report(servers: tuple[Server, Server]) -> Iterator[Report]:
    """The report of the session, written at its end."""
    ours, theirs = servers
    collected = Report(ours.base_url, theirs.base_url)
    yield collected
    path = Path(os.environ.get("MISTRAL_DIFF_REPORT", "differential-report.md"))
    path.write_text(collected.markdown(load_deliberate()))
    dump = os.environ.get("MISTRAL_DIFF_OBSERVATIONS")
    if dump:
        Path(dump).write_text(json.dumps(collected.observations, indent=1, sort_keys=True, default=str))
