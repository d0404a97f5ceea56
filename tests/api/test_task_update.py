"""``PUT /v2/tasks/<id>``: re-run a failed task as ``mistral task-rerun`` sends it, skip it, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.support import TASK_KEYS, Api, assert_fault

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"

WF_SKIP = """---
version: '2.0'
wf_skip:
  tasks:
    t1:
      action: std.async_noop
      on-success: t2
    t2:
      action: std.echo output="after"
"""


def put_task(api: Api, task_id: str, body: Any) -> Any:
    return api.put_json(f"/v2/tasks/{task_id}", body)


def test_rerun_as_the_cli_sends_it_continues_the_workflow(wf_api: Api) -> None:
    wf_ex, task = wf_api.failed_async()
    assert wf_ex["state"] == "ERROR"

    result = put_task(wf_api, task["id"], {"id": task["id"], "state": "RUNNING", "reset": True})

    assert result.status_code == 200, result.text
    assert set(result.json) == TASK_KEYS
    assert (result.json["id"], result.json["state"]) == (task["id"], "RUNNING")
    assert wf_api.execution(wf_ex["id"])["state"] == "RUNNING"
    old, new = wf_api.action_executions(task["id"])
    assert (old["state"], old["accepted"], new["state"]) == ("ERROR", False, "RUNNING")
    wf_api.push(new["id"], "SUCCESS", {"v": 3})
    assert wf_api.execution(wf_ex["id"])["state"] == "SUCCESS"


def test_rerun_with_env_as_a_json_string_merges_it(wf_api: Api) -> None:
    wf_ex, task = wf_api.failed_async()

    body = {"id": task["id"], "state": "RUNNING", "reset": True, "env": '{"retry": true}'}
    result = put_task(wf_api, task["id"], body)

    assert result.status_code == 200, result.text
    assert json.loads(wf_api.execution(wf_ex["id"])["params"])["env"] == {"retry": True}


def test_rerun_without_reset_is_only_for_with_items_tasks(wf_api: Api) -> None:
    _, task = wf_api.failed_async()

    result = put_task(wf_api, task["id"], {"state": "RUNNING", "reset": False})

    assert result.status_code == 400
    assert "only a with-items task" in result.json["faultstring"]


def test_rerun_accepts_matching_names(wf_api: Api) -> None:
    _, task = wf_api.failed_async()

    body = {"state": "RUNNING", "reset": True, "name": "t1", "workflow_name": "wf_async", "env": {}}

    assert put_task(wf_api, task["id"], body).status_code == 200


def test_skip_a_failed_task_and_the_workflow_goes_on(api: Api) -> None:
    api.create_workflow(WF_SKIP)
    wf_ex = api.start("wf_skip")
    api.push(api.running_action(wf_ex["id"])["id"], "ERROR", {"error": "boom"})
    (t1,) = api.tasks(wf_ex["id"])
    assert api.execution(wf_ex["id"])["state"] == "ERROR"

    result = put_task(api, t1["id"], {"state": "SKIPPED"})

    assert result.status_code == 200, result.text
    assert (result.json["name"], result.json["state"]) == ("t1", "SKIPPED")
    assert {t["name"]: t["state"] for t in api.tasks(wf_ex["id"])} == {"t1": "SKIPPED", "t2": "SUCCESS"}
    assert api.execution(wf_ex["id"])["state"] == "SUCCESS"


def test_a_task_that_did_not_fail_cannot_be_rerun_or_skipped(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")
    a = wf_api.tasks(wf_ex["id"])[0]
    before = wf_api.snapshot()

    assert_fault(put_task(wf_api, a["id"], {"state": "RUNNING", "reset": True}), 409, "SUCCESS")
    assert_fault(put_task(wf_api, a["id"], {"state": "SKIPPED"}), 409, "SUCCESS")

    assert wf_api.snapshot() == before


def test_a_running_task_cannot_be_rerun(wf_api: Api) -> None:
    wf_ex, _ = wf_api.start_async()
    (task,) = wf_api.tasks(wf_ex["id"])

    assert_fault(put_task(wf_api, task["id"], {"state": "RUNNING", "reset": True}), 409, "RUNNING")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "Invalid task state: none given"),
        ({"state": "SUCCESS"}, "Invalid task state: SUCCESS"),
        ({"state": "ERROR", "reset": True}, "Invalid task state: ERROR"),
        ({"state": "running", "reset": True}, "Invalid task state: running"),
        ({"state": ["RUNNING"]}, "field 'state': expected a string"),
        ({"state": "RUNNING"}, "field 'reset': it is required"),
        ({"state": "RUNNING", "reset": None}, "field 'reset': it is required"),
        ({"state": "RUNNING", "reset": "true"}, "field 'reset': expected a boolean"),
        ({"state": "RUNNING", "reset": 1}, "field 'reset': expected a boolean"),
        ({"state": "RUNNING", "reset": True, "env": "[1]"}, "field 'env': expected a JSON object"),
        ({"state": "RUNNING", "reset": True, "env": "{x"}, "field 'env': the string is not valid JSON"),
        ({"state": "RUNNING", "reset": True, "env": 7}, "field 'env': expected a JSON object"),
        ({"state": "RUNNING", "reset": True, "name": "t2"}, "Task name does not match"),
        ({"state": "SKIPPED", "workflow_name": "wf_seq"}, "Workflow name does not match"),
        ({"state": "SKIPPED", "name": 5}, "field 'name': expected a string"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(wf_api: Api, body: Any, fragment: str) -> None:
    _, task = wf_api.failed_async()
    before = wf_api.snapshot()

    assert_fault(put_task(wf_api, task["id"], body), 400, fragment)

    assert wf_api.snapshot() == before


@pytest.mark.parametrize("raw", ["{", "[]", "true", ""])
def test_a_body_that_is_not_a_json_object_is_400(wf_api: Api, raw: str) -> None:
    _, task = wf_api.failed_async()

    result = wf_api.client.simulate_put(f"/v2/tasks/{task['id']}", body=raw, content_type="application/json")

    assert_fault(result, 400)


def test_unknown_task_is_404(api: Api) -> None:
    assert_fault(put_task(api, UNKNOWN_ID, {"state": "RUNNING", "reset": True}), 404, UNKNOWN_ID)
    assert_fault(put_task(api, UNKNOWN_ID, {"state": "SKIPPED"}), 404, UNKNOWN_ID)
