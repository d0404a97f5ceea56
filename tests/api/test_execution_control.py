"""``PUT /v2/executions/<id>``: pause, resume, cancel, succeed, fail, description, env — as
``mistral execution-update`` sends them — and every bad input; sub-executions; ``published_global``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mistral_core.api.serializers import GLOBALS_KEY
from mistral_core.engine.runtime import GLOBALS_KEY as ENGINE_GLOBALS_KEY
from tests.api.support import EXECUTION_KEYS, EXECUTION_LISTED_KEYS, WF_PARENT, Api, assert_fault

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
Family = tuple[Api, dict[str, Any], dict[str, Any]]

WF_GLOBAL = """---
version: '2.0'
wf_global:
  tasks:
    a:
      action: std.echo output="shared"
      on-success:
        publish:
          global:
            g: <% task().result %>
          branch:
            b: 1
"""

WF_WAIT = """---
version: '2.0'
wf_wait:
  tasks:
    wait:
      action: std.async_noop
"""


def update(api: Api, ex_id: str, body: Any) -> Any:
    return api.put_json(f"/v2/executions/{ex_id}", body)


def updated(api: Api, ex_id: str, body: Any) -> dict[str, Any]:
    result = update(api, ex_id, body)
    assert result.status_code == 200, result.text
    assert set(result.json) == EXECUTION_KEYS
    wf_ex: dict[str, Any] = result.json
    return wf_ex


# -- state -------------------------------------------------------------------------------------
def test_pause_then_resume_as_the_cli_sends_them(wf_api: Api) -> None:
    wf_ex, action_ex = wf_api.start_async()

    paused = updated(wf_api, wf_ex["id"], {"state": "PAUSED"})
    assert paused["state"] == "PAUSED"
    assert wf_api.execution(wf_ex["id"])["state"] == "PAUSED"

    resumed = updated(wf_api, wf_ex["id"], {"state": "RUNNING"})
    assert resumed["state"] == "RUNNING"
    wf_api.push(action_ex["id"], "SUCCESS", {"v": 1})
    assert wf_api.execution(wf_ex["id"])["state"] == "SUCCESS"


def test_a_result_pushed_while_paused_is_applied_on_resume(wf_api: Api) -> None:
    wf_ex, action_ex = wf_api.start_async()
    updated(wf_api, wf_ex["id"], {"state": "PAUSED"})

    wf_api.push(action_ex["id"], "SUCCESS", {"v": 2})
    assert wf_api.execution(wf_ex["id"])["state"] == "PAUSED"
    updated(wf_api, wf_ex["id"], {"state": "RUNNING"})

    final = wf_api.execution(wf_ex["id"])
    assert (final["state"], json.loads(final["output"])) == ("SUCCESS", {"result": {"v": 2}})


def test_cancel_cancels_the_waiting_task_and_action(wf_api: Api) -> None:
    wf_ex, action_ex = wf_api.start_async()

    cancelled = updated(wf_api, wf_ex["id"], {"state": "CANCELLED", "state_info": "no longer needed"})

    assert (cancelled["state"], cancelled["state_info"]) == ("CANCELLED", "no longer needed")
    (task,) = wf_api.tasks(wf_ex["id"])
    assert task["state"] == "CANCELLED"
    assert wf_api.get(f"/v2/action_executions/{action_ex['id']}").json["state"] == "CANCELLED"


@pytest.mark.parametrize("state", ["SUCCESS", "ERROR"])
def test_stop_with_a_final_state_and_a_message(api: Api, state: str) -> None:
    api.create_workflow(WF_WAIT)
    wf_ex = api.start("wf_wait")

    stopped = updated(api, wf_ex["id"], {"state": state, "state_info": "operator says so"})

    assert (stopped["state"], stopped["state_info"]) == (state, "operator says so")


def test_the_same_state_again_is_a_no_op(wf_api: Api) -> None:
    wf_ex, _ = wf_api.start_async()

    assert updated(wf_api, wf_ex["id"], {"state": "RUNNING"})["state"] == "RUNNING"


@pytest.mark.parametrize("state", ["PAUSED", "RUNNING", "CANCELLED", "ERROR"])
def test_a_finished_execution_cannot_change_state(wf_api: Api, state: str) -> None:
    wf_ex = wf_api.start("wf_seq")
    before = wf_api.snapshot()

    assert_fault(update(wf_api, wf_ex["id"], {"state": state}), 409, wf_ex["id"], "SUCCESS")

    assert wf_api.snapshot() == before


# -- description and env -------------------------------------------------------------------------
def test_change_the_description(wf_api: Api) -> None:
    wf_ex, _ = wf_api.start_async()

    assert updated(wf_api, wf_ex["id"], {"description": "renamed"})["description"] == "renamed"
    assert wf_api.execution(wf_ex["id"])["description"] == "renamed"


@pytest.mark.parametrize("env", [{"k": "v"}, '{"k": "v"}'])
def test_merge_env_as_the_cli_sends_it(wf_api: Api, env: Any) -> None:
    wf_ex = wf_api.post_json(
        "/v2/executions", {"workflow_name": "wf_async", "params": {"env": {"a": 1}}}
    ).json
    updated(wf_api, wf_ex["id"], {"state": "PAUSED"})

    resumed = updated(wf_api, wf_ex["id"], {"state": "RUNNING", "params": {"env": env}})

    assert json.loads(resumed["params"])["env"] == {"a": 1, "k": "v"}


def test_env_alone_and_params_as_a_json_string(wf_api: Api) -> None:
    wf_ex, _ = wf_api.start_async()

    changed = updated(wf_api, wf_ex["id"], {"params": '{"env": {"z": 26}}'})

    assert json.loads(changed["params"])["env"] == {"z": 26}


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "state, description, or env is not provided"),
        ({"id": "x", "state_info": "why"}, "not provided"),
        ({"state": "DONE"}, "Cannot change state to DONE. Allowed states are: RUNNING, PAUSED"),
        ({"state": "paused"}, "Cannot change state to paused"),
        ({"state": "IDLE"}, "Cannot change state to IDLE"),
        ({"state": "SKIPPED"}, "Cannot change state to SKIPPED"),
        ({"state": 3}, "field 'state': expected a string"),
        ({"state": "PAUSED", "description": "d"}, "description must be updated separately"),
        ({"description": "d", "params": {"env": {"a": 1}}}, "description must be updated separately"),
        ({"state": "PAUSED", "params": {"env": {"a": 1}}}, "env can only be updated"),
        ({"description": 5}, "field 'description': expected a string"),
        ({"state": "CANCELLED", "state_info": ["x"]}, "field 'state_info': expected a string"),
        ({"params": [1]}, "field 'params': expected a JSON object"),
        ({"params": "{nope"}, "field 'params': the string is not valid JSON"),
        ({"params": {"env": 3}}, "field 'env': expected a JSON object"),
        ({"params": {"env": "[1]"}}, "field 'env': expected a JSON object"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(wf_api: Api, body: Any, fragment: str) -> None:
    wf_ex, _ = wf_api.start_async()
    before = wf_api.snapshot()

    assert_fault(update(wf_api, wf_ex["id"], body), 400, fragment)

    assert wf_api.snapshot() == before


@pytest.mark.parametrize("raw", ["{", "[]", '"PAUSED"', "null", ""])
def test_a_body_that_is_not_a_json_object_is_400(wf_api: Api, raw: str) -> None:
    wf_ex, _ = wf_api.start_async()

    result = wf_api.client.simulate_put(
        f"/v2/executions/{wf_ex['id']}", body=raw, content_type="application/json"
    )

    assert_fault(result, 400)


def test_unknown_execution_is_404(api: Api) -> None:
    assert_fault(update(api, UNKNOWN_ID, {"state": "PAUSED"}), 404, UNKNOWN_ID)


def test_an_oversized_body_is_413() -> None:
    small = Api(max_body_bytes=64)

    result = small.put_json(f"/v2/executions/{UNKNOWN_ID}", {"description": "x" * 100})

    assert_fault(result, 413, "too large")


# -- published_global ------------------------------------------------------------------------------
def test_the_serializer_reads_globals_where_the_engine_writes_them() -> None:
    assert GLOBALS_KEY == ENGINE_GLOBALS_KEY


def test_published_global_shows_what_tasks_published_globally(api: Api) -> None:
    api.create_workflow(WF_GLOBAL)
    wf_ex = api.start("wf_global")

    got = api.execution(wf_ex["id"])

    assert got["state"] == "SUCCESS", got["state_info"]
    assert json.loads(got["published_global"]) == {"g": "shared"}
    assert "published_global" not in api.get("/v2/executions").json["executions"][0]


# -- sub-executions ---------------------------------------------------------------------------------
@pytest.fixture
def family(wf_api: Api) -> Family:
    """A wf_parent execution and its wf_async child (waiting on its async action)."""
    wf_api.create_workflow(WF_PARENT)
    parent = wf_api.start("wf_parent")
    (call_child,) = wf_api.tasks(parent["id"])
    (child,) = wf_api.get(f"/v2/tasks/{call_child['id']}/workflow_executions").json["executions"]
    return wf_api, parent, child


def test_the_child_names_its_parent_task_and_root(family: Family) -> None:
    api, parent, child = family

    (call_child,) = api.tasks(parent["id"])
    assert set(child) == EXECUTION_LISTED_KEYS
    assert (child["workflow_name"], child["task_execution_id"], child["root_execution_id"]) == (
        "wf_async",
        call_child["id"],
        parent["id"],
    )


def test_sub_executions_as_the_cli_asks(family: Family) -> None:
    api, parent, child = family

    result = api.get(f"/v2/executions/{parent['id']}/executions", query_string="max_depth=-1&errors_only=")

    assert result.status_code == 200, result.text
    assert [e["id"] for e in result.json["executions"]] == [parent["id"], child["id"]]
    assert all(set(e) == EXECUTION_LISTED_KEYS for e in result.json["executions"])


def test_sub_executions_depth_errors_and_output(family: Family) -> None:
    api, parent, child = family
    path = f"/v2/executions/{parent['id']}/executions"

    assert [e["id"] for e in api.get(path, query_string="max_depth=0").json["executions"]] == [parent["id"]]
    errors_only = api.get(path, query_string="errors_only=true").json["executions"]
    assert [e["id"] for e in errors_only] == [parent["id"]]  # call_child is not in ERROR
    with_output = api.get(path, query_string="include_output=true").json["executions"]
    assert all("output" in e for e in with_output)
    assert [e["id"] for e in api.get(f"/v2/executions/{child['id']}/executions").json["executions"]] == [
        child["id"]
    ]


def test_sub_executions_follow_a_failed_task(family: Family) -> None:
    api, parent, child = family
    action_ex = api.running_action(child["id"])
    api.push(action_ex["id"], "ERROR", {"error": "boom"})

    errors_only = api.get(f"/v2/executions/{parent['id']}/executions", query_string="errors_only=true")

    assert [e["id"] for e in errors_only.json["executions"]] == [parent["id"], child["id"]]


def test_task_sub_executions(family: Family) -> None:
    api, parent, child = family
    (call_child,) = api.tasks(parent["id"])

    result = api.get(f"/v2/tasks/{call_child['id']}/executions", query_string="max_depth=-1&errors_only=")

    assert [e["id"] for e in result.json["executions"]] == [child["id"]]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("max_depth=deep", "max_depth"),
        ("errors_only=maybe", "errors_only"),
        ("limit=3", 'Unknown argument: "limit"'),
        ("max_depth=1&max_depth=2", "more than once"),
    ],
)
def test_sub_executions_bad_parameters(family: Family, query: str, fragment: str) -> None:
    api, parent, _ = family

    assert_fault(api.get(f"/v2/executions/{parent['id']}/executions", query_string=query), 400, fragment)


def test_sub_executions_of_unknown_ids_are_404(api: Api) -> None:
    assert_fault(api.get(f"/v2/executions/{UNKNOWN_ID}/executions"), 404, UNKNOWN_ID)
    assert_fault(api.get(f"/v2/tasks/{UNKNOWN_ID}/executions"), 404, UNKNOWN_ID)
    assert_fault(api.get(f"/v2/tasks/{UNKNOWN_ID}/workflow_executions"), 404, UNKNOWN_ID)


def test_workflow_executions_of_a_task_page_and_filter(family: Family) -> None:
    api, parent, child = family
    (call_child,) = api.tasks(parent["id"])
    path = f"/v2/tasks/{call_child['id']}/workflow_executions"

    assert api.get(path, query_string="state=SUCCESS").json == {"executions": []}
    page = api.get(path, query_string="limit=1&fields=state").json
    assert page["executions"] == [{"id": child["id"], "state": "RUNNING"}]
    assert page["next"].endswith(f"marker={child['id']}&fields=id,state")
    assert_fault(api.get(path, query_string="colour=red"), 400, "colour")
