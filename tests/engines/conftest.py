"""Fixtures for tests that run several engines against one database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: str) -> Iterator[str]:
    """A new SQLite file, then PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/engines.db"
    else:
        yield request.getfixturevalue("pg_url")
