"""Fixtures for tests that run several engines against one PostgreSQL database."""

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
