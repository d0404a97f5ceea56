"""``/v2/executions``: start, get, list, delete, an execution's tasks — and every bad input."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.api.support import (
    EXECUTION_CREATED_KEYS,
    EXECUTION_KEYS,
    EXECUTION_LISTED_KEYS,
    PUBLIC_URL,
    TASK_LISTED_KEYS,
    Api,
    assert_fault,
)

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


# -- start -----------------------------------------------------------------------------------------
def test_start_answers_the_transcript_shape(wf_api: Api) -> None:
    result = wf_api.post_json(
        "/v2/executions",
        {"workflow_name": "wf_async", "input": {"x": 5}},
        headers={"Accept": "application/json"},
    )

    assert result.status_code == 201, result.text
    wf_ex = result.json
    assert set(wf_ex) == EXECUTION_CREATED_KEYS
    assert wf_ex["workflow_id"] == wf_api.get("/v2/workflows/wf_async").json["id"]
    assert wf_ex["workflow_name"] == "wf_async"
    assert wf_ex["workflow_namespace"] == ""
    assert wf_ex["description"] == ""
    assert wf_ex["tags"] == []
    assert wf_ex["params"] == '{"namespace": "", "env": {}}'  # a JSON string, Mistral's separators
    assert wf_ex["input"] == '{"x": 5}'
    assert wf_ex["output"] == "{}"
    assert wf_ex["state"] == "RUNNING"
    assert (wf_ex["state_info"], wf_ex["task_execution_id"], wf_ex["root_execution_id"]) == (None, None, None)
    assert wf_ex["project_id"] == "<default-project>"


def test_start_as_the_cli_sends_it(wf_api: Api) -> None:
    body = {
        "description": "",
        "workflow_name": "wf_async",
        "input": '{"x": 7}',
        "params": '{"env": {"a": 1}}',
    }

    result = wf_api.post_json("/v2/executions", body, headers={"Accept": "*/*"})

    assert result.status_code == 201, result.text
    assert result.json["input"] == '{"x": 7}'
    assert json.loads(result.json["params"])["env"] == {"a": 1}


def test_start_by_workflow_id_with_a_description_and_a_chosen_id(wf_api: Api) -> None:
    wf_id = wf_api.get("/v2/workflows/wf_seq").json["id"]
    ex_id = "11111111-2222-3333-4444-555555555555"

    result = wf_api.post_json("/v2/executions", {"workflow_id": wf_id, "description": "nightly", "id": ex_id})

    assert result.status_code == 201
    assert (result.json["id"], result.json["description"]) == (ex_id, "nightly")


def test_a_sync_workflow_runs_to_success(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")

    got = wf_api.execution(wf_ex["id"])

    assert set(got) == EXECUTION_KEYS
    assert got["state"] == "SUCCESS"
    assert got["output"] == '{"greeting": "hello"}'
    assert got["published_global"] == "{}"


def test_the_ids_made_begin_with_the_time_in_mistrals_form(wf_api: Api) -> None:
    before_ms = time.time_ns() // 1_000_000
    wf_ex = wf_api.start("wf_seq")
    tasks = wf_api.get(f"/v2/executions/{wf_ex['id']}/tasks").json["tasks"]
    ids = [wf_ex["id"], wf_api.get("/v2/workflows/wf_seq").json["id"], *(t["id"] for t in tasks)]

    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 7 for i in ids), ids
    assert before_ms <= uuid.UUID(wf_ex["id"]).int >> 80 <= time.time_ns() // 1_000_000


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 400, "Workflow ID or workflow name must be provided"),
        ({"workflow_name": 7}, 400, "workflow_name"),
        ({"workflow_id": ["x"]}, 400, "workflow_id"),
        ({"workflow_name": "wf_seq", "input": 5}, 400, "input"),
        ({"workflow_name": "wf_seq", "input": [1]}, 400, "input"),
        ({"workflow_name": "wf_seq", "input": "[1]"}, 400, "input"),
        ({"workflow_name": "wf_seq", "input": '{"a": 1'}, 400, "input"),
        ({"workflow_name": "wf_seq", "params": "x"}, 400, "params"),
        ({"workflow_name": "wf_seq", "params": 3}, 400, "params"),
        ({"workflow_name": "wf_seq", "description": 5}, 400, "description"),
        ({"workflow_name": "wf_seq", "workflow_namespace": 1}, 400, "workflow_namespace"),
        ({"workflow_name": "wf_seq", "id": 12}, 400, "id"),
        ({"workflow_name": "wf_seq", "source_execution_id": UNKNOWN_ID}, 400, "source_execution_id"),
        ({"workflow_name": "no_such_workflow"}, 404, "no_such_workflow"),
        ({"workflow_name": "wf_http"}, 400, "missing=['url']"),
        ({"workflow_name": "wf_seq", "input": {"nope": 1}}, 400, "unexpected=['nope']"),
    ],
)
def test_start_rejects_bad_input_and_stores_nothing(
    wf_api: Api, body: dict[str, Any], status: int, fragment: str
) -> None:
    before = wf_api.snapshot()

    assert_fault(wf_api.post_json("/v2/executions", body), status, fragment)

    assert wf_api.snapshot() == before


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"workflow_name": ', "Request is not in valid JSON format"),
        (b"", "Request is not in valid JSON format"),
        (b"\xff\xfe", "Request is not in valid JSON format"),
        (b"[" * 100_000 + b"]" * 100_000, "Request is not in valid JSON format"),
        (b'["wf_seq"]', "JSON object"),
        (b'"wf_seq"', "JSON object"),
        (b"null", "JSON object"),
    ],
)
def test_start_rejects_a_body_that_is_not_a_json_object(wf_api: Api, raw: bytes, fragment: str) -> None:
    before = wf_api.snapshot()

    result = wf_api.client.simulate_post("/v2/executions", body=raw, content_type="application/json")

    assert_fault(result, 400, fragment)
    assert wf_api.snapshot() == before


def test_start_rejects_a_body_over_the_limit(wf_api: Api) -> None:
    body = {"workflow_name": "wf_seq", "description": "x" * 2_000_000}
    before = wf_api.snapshot()

    assert_fault(wf_api.post_json("/v2/executions", body), 413, "too large")

    assert wf_api.snapshot() == before


# -- get -------------------------------------------------------------------------------------------
def test_get_unknown_execution_is_404_with_mistrals_message(api: Api) -> None:
    assert_fault(
        api.get(f"/v2/executions/{UNKNOWN_ID}"), 404, f"WorkflowExecution not found [id={UNKNOWN_ID}]"
    )


def test_get_while_an_async_action_waits(wf_api: Api) -> None:
    wf_ex, _ = wf_api.start_async()

    got = wf_api.execution(wf_ex["id"])

    assert (got["state"], got["output"], got["input"]) == ("RUNNING", "{}", '{"x": 1}')


# -- list ------------------------------------------------------------------------------------------
def test_list_omits_output_unless_asked(wf_api: Api) -> None:
    first, second = wf_api.start("wf_seq"), wf_api.start("wf_seq")

    listed = wf_api.get("/v2/executions").json["executions"]
    with_output = wf_api.get("/v2/executions", query_string="include_output=true").json["executions"]

    assert [e["id"] for e in listed] == [first["id"], second["id"]]
    assert all(set(e) == EXECUTION_LISTED_KEYS for e in listed)
    assert all(set(e) == EXECUTION_CREATED_KEYS for e in with_output)
    assert with_output[0]["output"] == '{"greeting": "hello"}'


def test_list_filters_by_state_and_workflow_name(wf_api: Api) -> None:
    done = wf_api.start("wf_seq")
    waiting, _ = wf_api.start_async()

    def ids(query: str) -> list[str]:
        return [e["id"] for e in wf_api.get("/v2/executions", query_string=query).json["executions"]]

    assert ids("state=SUCCESS") == [done["id"]]
    assert ids("state=eq:RUNNING") == [waiting["id"]]
    assert ids("state=neq:RUNNING") == [done["id"]]
    assert ids("state=in:SUCCESS,RUNNING") == [done["id"], waiting["id"]]
    assert ids("state=nin:SUCCESS,RUNNING") == []
    assert ids("workflow_name=wf_async") == [waiting["id"]]
    assert ids("workflow_name=has:async") == [waiting["id"]]
    assert ids("nulls=task_execution_id") == [done["id"], waiting["id"]]
    assert ids("created_at=gte:2000-01-01 00:00:00&state=SUCCESS") == [done["id"]]


def test_list_next_link_carries_the_filters(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")
    wf_api.start("wf_seq")

    result = wf_api.get("/v2/executions", query_string="limit=1&state=SUCCESS&fields=state,workflow_name")

    assert result.json["executions"] == [{"id": wf_ex["id"], "workflow_name": "wf_seq", "state": "SUCCESS"}]
    assert result.json["next"] == (
        f"{PUBLIC_URL}/v2/executions?sort_keys=created_at,id&sort_dirs=asc,asc&state=eq:SUCCESS"
        f"&limit=1&marker={wf_ex['id']}&fields=id,state,workflow_name"
    )


# -- delete ----------------------------------------------------------------------------------------
def test_delete_a_finished_execution(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")

    result = wf_api.client.simulate_delete(f"/v2/executions/{wf_ex['id']}")

    assert result.status_code == 204
    assert_fault(wf_api.get(f"/v2/executions/{wf_ex['id']}"), 404)
    assert wf_api.snapshot()["tasks"] == []


def test_delete_a_running_execution_needs_force(wf_api: Api) -> None:
    wf_ex, _ = wf_api.start_async()
    before = wf_api.snapshot()

    assert_fault(wf_api.client.simulate_delete(f"/v2/executions/{wf_ex['id']}"), 409, "RUNNING")
    assert wf_api.snapshot() == before

    result = wf_api.client.simulate_delete(f"/v2/executions/{wf_ex['id']}", query_string="force=True")
    assert result.status_code == 204
    assert wf_api.snapshot()["executions"] == []


def test_delete_rejects_a_bad_force_value(wf_api: Api) -> None:
    wf_ex, _ = wf_api.start_async()
    before = wf_api.snapshot()

    assert_fault(
        wf_api.client.simulate_delete(f"/v2/executions/{wf_ex['id']}", query_string="force=maybe"),
        400,
        "force",
    )
    assert wf_api.snapshot() == before


def test_delete_unknown_execution_is_404(api: Api) -> None:
    assert_fault(api.client.simulate_delete(f"/v2/executions/{UNKNOWN_ID}"), 404, UNKNOWN_ID)


# -- tasks of an execution -------------------------------------------------------------------------
def test_tasks_of_an_execution(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")

    tasks = wf_api.tasks(wf_ex["id"])

    assert [t["name"] for t in tasks] == ["a", "b"]
    assert all(set(t) == TASK_LISTED_KEYS for t in tasks)
    a, b = tasks
    assert (a["published"], a["runtime_context"], a["state"], a["processed"]) == (
        '{"greeting": "hello"}',
        "{}",
        "SUCCESS",
        True,
    )
    assert json.loads(b["runtime_context"]) == {"triggered_by": [{"task_id": a["id"], "event": "on-success"}]}


def test_tasks_of_an_execution_are_paged_and_filtered(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")
    other = wf_api.start("wf_seq")

    page = wf_api.get(f"/v2/executions/{wf_ex['id']}/tasks", query_string="limit=1&fields=name")
    only_b = wf_api.get(f"/v2/executions/{other['id']}/tasks", query_string="name=b").json["tasks"]

    (a,) = page.json["tasks"]
    assert page.json["next"] == (
        f"{PUBLIC_URL}/v2/executions/{wf_ex['id']}/tasks?sort_keys=created_at,id"
        f"&sort_dirs=asc,asc&limit=1&marker={a['id']}&fields=id,name"
    )
    assert [(t["name"], t["workflow_execution_id"]) for t in only_b] == [("b", other["id"])]


def test_tasks_of_an_unknown_execution_is_404(api: Api) -> None:
    assert_fault(
        api.get(f"/v2/executions/{UNKNOWN_ID}/tasks"), 404, f"WorkflowExecution not found [id={UNKNOWN_ID}]"
    )
