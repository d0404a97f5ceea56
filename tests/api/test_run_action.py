"""``POST /v2/action_executions``: run an action outside any workflow (``mistral run-action``)."""

from __future__ import annotations

import json

from tests.api.support import Api


def test_a_sync_action_runs_at_once_and_is_not_stored(api: Api) -> None:
    result = api.post_json("/v2/action_executions", {"name": "std.echo", "input": '{"output": "hi"}'})
    assert result.status_code == 201, result.text
    body = result.json
    assert (body["name"], body["state"], json.loads(body["output"])) == (
        "std.echo",
        "SUCCESS",
        {"result": "hi"},
    )
    assert api.get("/v2/action_executions").json["action_executions"] == []


def test_save_result_with_run_sync_stores_the_finished_action(api: Api) -> None:
    result = api.post_json(
        "/v2/action_executions",
        {"name": "echo", "input": {"output": [1, 2]}, "params": '{"save_result": true, "run_sync": true}'},
    )
    assert result.status_code == 201, result.text
    stored = api.get(f"/v2/action_executions/{result.json['id']}").json
    assert (stored["state"], json.loads(stored["output"])) == ("SUCCESS", {"result": [1, 2]})
    assert stored["task_execution_id"] is None


def test_an_async_action_is_stored_running_and_takes_a_pushed_result(api: Api) -> None:
    result = api.post_json("/v2/action_executions", {"name": "std.async_noop"})
    assert (result.status_code, result.json["state"]) == (201, "RUNNING")
    action_id = result.json["id"]
    pushed = api.put_json(f"/v2/action_executions/{action_id}", {"state": "SUCCESS", "output": 3})
    assert pushed.status_code == 200
    assert json.loads(api.get(f"/v2/action_executions/{action_id}").json["output"]) == {"result": 3}


def test_bad_requests_are_refused_and_store_nothing(api: Api) -> None:
    cases = [
        ({}, 400, "'name'"),
        ({"name": "no.such_action"}, 400, "no.such_action"),
        ({"name": "std.echo"}, 400, "output"),
        ({"name": "std.echo", "input": "[1]"}, 400, "'input' must be a JSON object"),
        ({"name": "std.async_noop", "params": {"run_sync": True}}, 400, "asynchronous"),
        ({"name": "std.echo", "input": {"output": 1}, "params": {"save_result": "yes"}}, 400, "save_result"),
        ({"name": "std.echo", "input": {"output": 1}, "description": {"a": 1}}, 400, "'description'"),
        ({"name": "std.echo", "input": {"output": 1}, "description": {}}, 400, "'description'"),
        ({"name": "std.echo", "input": {"output": 1}, "description": 0}, 400, "'description'"),
    ]
    for body, status, words in cases:
        result = api.post_json("/v2/action_executions", body)
        assert result.status_code == status, (body, result.text)
        assert words in result.json["faultstring"], (body, result.json)
    assert api.get("/v2/action_executions").json["action_executions"] == []
