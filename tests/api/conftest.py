"""Fixtures of the API tests: the real engine over the in-memory store, actions run inline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.support import WF_ASYNC, WF_HTTP, WF_SEQ, Api


@pytest.fixture
def api() -> Iterator[Api]:
    """An empty API."""
    yield Api()


@pytest.fixture
def wf_api(api: Api) -> Api:
    """An API with the transcript's three workflows."""
    for text in (WF_SEQ, WF_ASYNC, WF_HTTP):
        api.create_workflow(text)
    return api
