"""The embedded server's request threads: ``http_threads`` 0 (the default) picks by database."""

from __future__ import annotations

import pytest

from mistral_core.config import PG_HTTP_THREADS, Settings
from mistral_core.errors import InputError


def test_automatic_is_one_on_sqlite_and_a_pool_on_postgresql() -> None:
    assert Settings.load({}, environ={}).http_threads == 0
    assert Settings.load({"database_url": "sqlite:///x.db"}, environ={}).request_threads() == 1
    pg = Settings.load({"database_url": "postgresql://u@127.0.0.1/db"}, environ={})
    assert pg.request_threads() == PG_HTTP_THREADS == 8


def test_a_set_value_is_kept_on_either_database() -> None:
    assert Settings.load({"http_threads": 3}, environ={}).request_threads() == 3
    assert (
        Settings.load(
            {"http_threads": 1, "database_url": "postgresql://u@h/db"}, environ={}
        ).request_threads()
        == 1
    )


def test_a_negative_value_is_refused_naming_the_setting() -> None:
    with pytest.raises(InputError, match="http_threads must be 0"):
        Settings.load({"http_threads": -1}, environ={})
