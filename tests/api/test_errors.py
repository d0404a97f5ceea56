"""Errors everywhere have Mistral's body, including falcon's own and unforeseen crashes."""

from __future__ import annotations

import logging

import pytest

from tests.api.support import Api, assert_fault


def test_unknown_route_is_a_json_404(api: Api) -> None:
    assert_fault(api.get("/v2/nothing"), 404, "/v2/nothing")
    assert_fault(api.get("/v3"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v2/tasks"),
        ("PUT", "/v2/executions"),
        ("POST", "/v2/tasks/x"),
        ("PATCH", "/v2/workflows"),
        ("POST", "/"),
    ],
)
def test_unsupported_method_is_a_json_405(api: Api, method: str, path: str) -> None:
    result = api.client.simulate_request(method, path)

    assert_fault(result, 405, method)
    assert "allow" in result.headers


def test_a_crash_is_a_generic_500_and_the_traceback_goes_to_the_log(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.store, "list_workflow_executions", explode)

    with caplog.at_level(logging.ERROR, logger="mistral_core.api"):
        message = assert_fault(api.get("/v2/executions"), 500, "Internal server error")

    assert "secret" not in message
    assert "secret internals" in caplog.text
    assert "Traceback" in caplog.text


def test_a_store_failure_is_a_500_with_its_message(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from mistral_core.errors import StoreError

    def fail(*args: object) -> None:
        raise StoreError("the database is locked")

    monkeypatch.setattr(api.store, "get_workflow_execution", fail)

    assert_fault(api.get("/v2/executions/x"), 500, "the database is locked")
