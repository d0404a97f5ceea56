"""``/v2/action_executions``: list, get, and the result push (PUT, POST, /action-executions)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.support import ACTION_EX_KEYS, ACTION_EX_LISTED_KEYS, PUBLIC_URL, Api, assert_fault

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
EXPECTED = "Error. Expected one of ['SUCCESS', 'ERROR', 'CANCELLED', 'PAUSED', 'RUNNING'], actual: "


def task_result(api: Api, wf_ex_id: str) -> Any:
    (task,) = api.tasks(wf_ex_id)
    return json.loads(api.get(f"/v2/tasks/{task['id']}").json["result"])


# -- read ------------------------------------------------------------------------------------------
def test_get_a_running_action_execution(wf_api: Api) -> None:
    _, action_ex = wf_api.start_async()

    got = wf_api.get(f"/v2/action_executions/{action_ex['id']}").json

    assert set(got) == ACTION_EX_KEYS
    assert (got["state"], got["accepted"], got["output"], got["name"]) == (
        "RUNNING",
        False,
        None,
        "std.async_noop",
    )


def test_get_unknown_action_execution_is_404(api: Api) -> None:
    assert_fault(
        api.get(f"/v2/action_executions/{UNKNOWN_ID}"), 404, f"ActionExecution not found [id={UNKNOWN_ID}]"
    )


def test_list_filters_as_the_benchmark_asks(wf_api: Api) -> None:
    wf_api.start("wf_seq")
    _, waiting = wf_api.start_async()

    result = wf_api.get(
        "/v2/action_executions",
        query_string="workflow_name=wf_async&state=RUNNING&limit=1000&fields=id%2Cstate",
    )

    assert result.json == {"action_executions": [{"id": waiting["id"], "state": "RUNNING"}]}


def test_list_without_and_with_output(wf_api: Api) -> None:
    wf_api.start("wf_seq")

    plain = wf_api.get("/v2/action_executions").json["action_executions"]
    full = wf_api.get("/v2/action_executions", query_string="include_output=true").json["action_executions"]

    assert [a["name"] for a in plain] == ["std.echo", "std.noop"]
    assert all(set(a) == ACTION_EX_LISTED_KEYS for a in plain)
    assert [a["output"] for a in full] == ['{"result": "hello"}', '{"result": null}']


def test_list_next_link(wf_api: Api) -> None:
    wf_api.start("wf_seq")

    result = wf_api.get("/v2/action_executions", query_string="limit=2")

    last = result.json["action_executions"][-1]["id"]
    assert result.json["next"] == (
        f"{PUBLIC_URL}/v2/action_executions?sort_keys=created_at,id&sort_dirs=asc,asc&limit=2&marker={last}"
    )
    assert wf_api.get(result.json["next"].removeprefix(PUBLIC_URL)).json == {"action_executions": []}


# -- the result push -----------------------------------------------------------------------------
def test_put_without_output_stores_what_mistral_stores(wf_api: Api) -> None:
    """SUCCESS without output: {}; ERROR without output (or with {}): "Unknown error" (Mistral 23)."""
    wf_ex, action_ex = wf_api.start_async()
    put = wf_api.put_json(f"/v2/action_executions/{action_ex['id']}", {"state": "SUCCESS"})
    assert put.status_code == 200, put.text
    assert json.loads(put.json["output"]) == {"result": {}}
    assert task_result(wf_api, wf_ex["id"]) == {}
    again = wf_api.put_json(f"/v2/action_executions/{action_ex['id']}", {"state": "SUCCESS"})
    assert again.status_code == 200, again.text  # the same push again: the same result
    for body in ({"state": "ERROR"}, {"state": "ERROR", "output": {}}, {"state": "ERROR", "output": None}):
        _, failing = wf_api.start_async()
        put = wf_api.put_json(f"/v2/action_executions/{failing['id']}", body)
        assert put.status_code == 200, put.text
        assert json.loads(put.json["output"]) == {"result": "Unknown error"}


@pytest.mark.parametrize(
    ("output", "result"),
    [
        (3, 3),
        (0, 0),
        ("3", "3"),
        ("hello", "hello"),
        ([1, 2], [1, 2]),
        (True, True),
        (None, {}),  # null, or no output at all: {} as Mistral 23 stores it
        ({}, {}),
        ({"answer": 42}, {"answer": 42}),
        ('{"answer": 42}', {"answer": 42}),  # a string holding a JSON object is that object, as in Mistral
        ('{"answer": ', '{"answer": '),  # ... and a string that only looks like one stays a string
    ],
)
def test_put_success_accepts_any_json_output(wf_api: Api, output: Any, result: Any) -> None:
    wf_ex, action_ex = wf_api.start_async()

    put = wf_api.put_json(f"/v2/action_executions/{action_ex['id']}", {"state": "SUCCESS", "output": output})

    assert put.status_code == 200, put.text
    assert set(put.json) == ACTION_EX_KEYS
    assert (put.json["state"], put.json["accepted"]) == ("SUCCESS", True)
    assert json.loads(put.json["output"]) == {"result": result}
    assert task_result(wf_api, wf_ex["id"]) == result
    assert wf_api.execution(wf_ex["id"])["state"] == "SUCCESS"


def test_the_seed_cli_command_is_answered_200(wf_api: Api) -> None:
    """``mistral action-execution-update <id> --state SUCCESS --output 3``, byte for byte."""
    wf_ex, action_ex = wf_api.start_async()

    put = wf_api.client.simulate_put(
        f"/v2/action_executions/{action_ex['id']}",
        body=b'{"state": "SUCCESS", "output": 3}',
        headers={"Accept": "*/*", "content-type": "application/json", "User-Agent": "python-requests/2.34.2"},
    )

    assert put.status_code == 200, put.text
    assert put.json["output"] == '{"result": 3}'
    assert wf_api.execution(wf_ex["id"])["output"] == '{"result": 3}'


@pytest.mark.parametrize("path", ["/v2/action_executions/{id}", "/v2/action-executions/{id}"])
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_both_spellings_and_both_methods_push_a_result(wf_api: Api, path: str, method: str) -> None:
    wf_ex, action_ex = wf_api.start_async()

    result = wf_api.client.simulate_request(
        method,
        path.format(id=action_ex["id"]),
        body=json.dumps({"state": "SUCCESS", "output": {"v": 1}}),
        content_type="application/json",
    )

    assert result.status_code == 200, result.text
    assert wf_api.execution(wf_ex["id"])["output"] == '{"result": {"v": 1}}'


def test_put_error_fails_the_task_and_the_workflow(wf_api: Api) -> None:
    wf_ex, action_ex = wf_api.start_async()

    put = wf_api.put_json(f"/v2/action_executions/{action_ex['id']}", {"state": "ERROR", "output": "boom"})

    assert put.status_code == 200, put.text
    assert (put.json["state"], put.json["output"]) == ("ERROR", '{"result": "boom"}')
    assert wf_api.tasks(wf_ex["id"])[0]["state"] == "ERROR"
    assert wf_api.execution(wf_ex["id"])["state"] == "ERROR"


def test_put_cancelled_cancels_the_workflow(wf_api: Api) -> None:
    wf_ex, action_ex = wf_api.start_async()

    put = wf_api.put_json(f"/v2/action_executions/{action_ex['id']}", {"state": "CANCELLED"})

    assert (put.status_code, put.json["state"], put.json["output"]) == (200, "CANCELLED", '{"result": null}')
    assert wf_api.execution(wf_ex["id"])["state"] == "CANCELLED"


def test_put_paused_then_running(wf_api: Api) -> None:
    wf_ex, action_ex = wf_api.start_async()
    url = f"/v2/action_executions/{action_ex['id']}"

    paused = wf_api.put_json(url, {"state": "PAUSED"})
    resumed = wf_api.put_json(url, {"state": "RUNNING"})
    again = wf_api.put_json(url, {"state": "RUNNING"})  # a no-op, as in Mistral

    assert [r.status_code for r in (paused, resumed, again)] == [200, 200, 200]
    assert [r.json["state"] for r in (paused, resumed, again)] == ["PAUSED", "RUNNING", "RUNNING"]
    assert wf_api.execution(wf_ex["id"])["state"] == "RUNNING"


@pytest.mark.parametrize(("state", "output"), [("SUCCESS", {"answer": 42}), ("ERROR", "disk full")])
def test_a_paused_action_still_receives_its_result(wf_api: Api, state: str, output: Any) -> None:
    """As docs/api.md says: its task finishes; the workflow, paused with the action, moves on once
    resumed."""
    wf_ex, action_ex = wf_api.start_async()
    url = f"/v2/action_executions/{action_ex['id']}"
    assert wf_api.put_json(url, {"state": "PAUSED"}).status_code == 200

    pushed = wf_api.put_json(url, {"state": state, "output": output})

    assert (pushed.status_code, pushed.json["state"]) == (200, state), pushed.text
    (task,) = wf_api.tasks(wf_ex["id"])
    assert task["state"] == state
    assert wf_api.execution(wf_ex["id"])["state"] == "PAUSED"
    assert wf_api.put_json(f"/v2/executions/{wf_ex['id']}", {"state": "RUNNING"}).status_code == 200
    assert wf_api.execution(wf_ex["id"])["state"] == state


def test_the_same_result_twice_is_answered_with_the_stored_one(wf_api: Api) -> None:
    _, action_ex = wf_api.start_async()
    url = f"/v2/action_executions/{action_ex['id']}"
    first = wf_api.put_json(url, {"state": "SUCCESS", "output": {"answer": 42}})
    before = wf_api.snapshot()

    second = wf_api.put_json(url, {"state": "SUCCESS", "output": {"answer": 42}})

    assert second.status_code == 200
    assert second.json == first.json
    assert wf_api.snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"state": "SUCCESS", "output": {"again": True}},
        {"state": "ERROR", "output": {"answer": 42}},
        {"state": "CANCELLED"},
        {"state": "PAUSED"},
        {"state": "RUNNING"},
    ],
)
def test_another_result_for_a_finished_action_is_409(wf_api: Api, body: dict[str, Any]) -> None:
    _, action_ex = wf_api.start_async()
    url = f"/v2/action_executions/{action_ex['id']}"
    wf_api.put_json(url, {"state": "SUCCESS", "output": {"answer": 42}})
    before = wf_api.snapshot()

    assert_fault(wf_api.put_json(url, body), 409, "SUCCESS")

    assert wf_api.snapshot() == before


def test_put_to_an_unknown_action_execution_is_404(wf_api: Api) -> None:
    before = wf_api.snapshot()

    assert_fault(
        wf_api.put_json(f"/v2/action_executions/{UNKNOWN_ID}", {"state": "SUCCESS", "output": {"v": 1}}),
        404,
        f"ActionExecution not found [id={UNKNOWN_ID}]",
    )

    assert wf_api.snapshot() == before


@pytest.mark.parametrize(
    ("body", "actual"),
    [
        ({"state": "DONE", "output": {"v": 1}}, "DONE"),
        ({"state": "success", "output": {"v": 1}}, "success"),
        ({"state": "DELAYED"}, "DELAYED"),
        ({"output": {"v": 1}}, "Unset"),
        ({"state": None}, "Unset"),
        ({"state": 5}, "5"),
        ({"state": ["SUCCESS"]}, "['SUCCESS']"),
    ],
)
def test_put_rejects_an_invalid_state(wf_api: Api, body: dict[str, Any], actual: str) -> None:
    _, action_ex = wf_api.start_async()
    before = wf_api.snapshot()

    message = assert_fault(wf_api.put_json(f"/v2/action_executions/{action_ex['id']}", body), 400)

    assert message == EXPECTED + actual
    assert wf_api.snapshot() == before


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"state": "SUCCESS", ', "Request is not in valid JSON format"),
        (b"", "Request is not in valid JSON format"),
        (b"state=SUCCESS", "Request is not in valid JSON format"),
        (b'["SUCCESS"]', "JSON object"),
        (b"3", "JSON object"),
    ],
)
def test_put_rejects_a_body_that_is_not_a_json_object(wf_api: Api, raw: bytes, fragment: str) -> None:
    _, action_ex = wf_api.start_async()
    before = wf_api.snapshot()

    result = wf_api.client.simulate_put(
        f"/v2/action_executions/{action_ex['id']}", body=raw, content_type="application/json"
    )

    assert_fault(result, 400, fragment)
    assert wf_api.snapshot() == before


def test_put_rejects_a_body_over_the_limit(wf_api: Api) -> None:
    _, action_ex = wf_api.start_async()
    before = wf_api.snapshot()

    result = wf_api.put_json(
        f"/v2/action_executions/{action_ex['id']}", {"state": "SUCCESS", "output": "x" * 1_100_000}
    )

    assert_fault(result, 413, "too large")
    assert wf_api.snapshot() == before
