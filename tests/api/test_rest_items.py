"""The rest of Mistral's items: ``PUT /v2/workflows/<id>``, ``GET /v2/tasks/<id>/action_executions/<id>``,
``DELETE /v2/action_executions/<id>`` (Mistral's rules) and ``GET /info``."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.api.context import ApiOptions
from tests.api.support import ACTION_EX_KEYS, WF_ASYNC, WF_SEQ, WORKFLOW_KEYS, Api, assert_fault

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
DESCRIBED = WF_ASYNC.replace("wf_async:\n", "wf_async:\n  description: updated\n")
RENAMED = WF_ASYNC.replace("wf_async:", "wf_renamed:")


def put_yaml(api: Api, path: str, text: str) -> Any:
    return api.client.simulate_put(path, body=text, content_type="text/plain")


# -- PUT /v2/workflows/<id> -----------------------------------------------------------------------
def test_put_by_id_replaces_that_workflow_and_answers_it_alone(api: Api) -> None:
    created = api.create_workflow(WF_ASYNC)

    answer = put_yaml(api, f"/v2/workflows/{created['id']}", DESCRIBED)

    assert answer.status_code == 200, answer.text
    assert set(answer.json) == WORKFLOW_KEYS  # one workflow, not {"workflows": [...]}
    assert answer.json["id"] == created["id"]
    assert answer.json["interface"] == {"input": [{"x": 1}], "output": ["result"]}  # an object, as Mistral
    assert answer.json["updated_at"] is not None
    stored = api.get(f"/v2/workflows/{created['id']}").json
    assert "description: updated" in stored["definition"]
    assert stored["created_at"] == created["created_at"]


def test_put_by_name_works_too_as_in_mistral(api: Api) -> None:
    created = api.create_workflow(WF_ASYNC)

    answer = put_yaml(api, "/v2/workflows/wf_async", DESCRIBED)

    assert (answer.status_code, answer.json["id"]) == (200, created["id"])


def test_put_by_id_with_another_name_renames_the_workflow(api: Api) -> None:
    created = api.create_workflow(WF_ASYNC)

    answer = put_yaml(api, f"/v2/workflows/{created['id']}", RENAMED)

    assert (answer.status_code, answer.json["name"], answer.json["id"]) == (200, "wf_renamed", created["id"])
    assert_fault(api.get("/v2/workflows/wf_async"), 404)
    assert api.start("wf_renamed")["workflow_id"] == created["id"]


def test_a_rename_onto_a_taken_name_is_409_and_changes_nothing(api: Api) -> None:
    created = api.create_workflow(WF_ASYNC)
    api.create_workflow(WF_SEQ)
    before = api.snapshot()

    answer = put_yaml(api, f"/v2/workflows/{created['id']}", WF_SEQ)

    assert_fault(answer, 409, "Workflow 'wf_seq' already exists in namespace ''")
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("text", "status", "message"),
    [
        (
            WF_ASYNC + WF_SEQ.replace("---\nversion: '2.0'\n", ""),
            400,
            "More than one workflows are not supported",
        ),
        ("nonsense: [", 400, ""),
        ("", 400, ""),
    ],
)
def test_put_by_id_refuses_a_bad_document(api: Api, text: str, status: int, message: str) -> None:
    created = api.create_workflow(WF_ASYNC)
    before = api.snapshot()

    assert message in assert_fault(put_yaml(api, f"/v2/workflows/{created['id']}", text), status)
    assert api.snapshot() == before


def test_put_by_id_of_an_unknown_workflow_is_404(api: Api) -> None:
    answer = put_yaml(api, f"/v2/workflows/{UNKNOWN_ID}", WF_ASYNC)
    assert_fault(answer, 404, f"Workflow not found [workflow_identifier={UNKNOWN_ID}, namespace=]")


def test_put_by_id_takes_scope_and_namespace(api: Api) -> None:
    created = api.post_yaml(WF_ASYNC, path="/v2/workflows?namespace=ns").json["workflows"][0]

    answer = put_yaml(api, f"/v2/workflows/{created['id']}?namespace=ns&scope=public", DESCRIBED)
    assert (answer.status_code, answer.json["scope"], answer.json["namespace"]) == (200, "public", "ns")
    assert_fault(put_yaml(api, f"/v2/workflows/{created['id']}?scope=bogus", WF_ASYNC), 400, "scope")


# -- GET /v2/tasks/<id>/action_executions/<id> ----------------------------------------------------
def test_a_tasks_action_execution_by_id(wf_api: Api) -> None:
    _, action_ex = wf_api.start_async()
    path = f"/v2/tasks/{action_ex['task_execution_id']}/action_executions/{action_ex['id']}"

    answer = wf_api.get(path)

    assert answer.status_code == 200, answer.text
    assert set(answer.json) == ACTION_EX_KEYS
    assert answer.json == wf_api.get(f"/v2/action_executions/{action_ex['id']}").json
    narrowed = wf_api.get(path, params={"fields": "name,state"}).json
    assert narrowed == {"id": action_ex["id"], "name": "std.async_noop", "state": "RUNNING"}


def test_another_tasks_action_execution_is_not_found(wf_api: Api) -> None:
    _, action_ex = wf_api.start_async()
    _, other = wf_api.start_async()
    path = f"/v2/tasks/{other['task_execution_id']}/action_executions/{action_ex['id']}"

    assert_fault(wf_api.get(path), 404, f"ActionExecution not found [id={action_ex['id']}")
    unknown_task = f"/v2/tasks/{UNKNOWN_ID}/action_executions/{action_ex['id']}"
    assert_fault(wf_api.get(unknown_task), 404, f"TaskExecution not found [id={UNKNOWN_ID}]")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("fields=nope", "Some fields do not exist [nope]"),
        ("fields=id&fields=name", "given more than once"),
        ("limit=1", 'Unknown argument: "limit"'),
    ],
)
def test_a_tasks_action_execution_with_bad_parameters_is_400(wf_api: Api, query: str, message: str) -> None:
    _, action_ex = wf_api.start_async()
    path = f"/v2/tasks/{action_ex['task_execution_id']}/action_executions/{action_ex['id']}"
    assert message in assert_fault(wf_api.client.simulate_get(path, query_string=query), 400)


# -- DELETE /v2/action_executions/<id> -----------------------------------------------------------
@pytest.fixture
def deleting() -> Api:
    """An API with the setting allow_action_execution_deletion on."""
    api = Api(options=ApiOptions(allow_action_execution_deletion=True))
    api.create_workflow(WF_ASYNC)
    return api


def run_alone(api: Api, name: str = "std.noop", **params: Any) -> dict[str, Any]:
    answer = api.post_json("/v2/action_executions", {"name": name, "params": {"save_result": True, **params}})
    assert answer.status_code == 201, answer.text
    action_ex: dict[str, Any] = answer.json
    return action_ex


def test_deleting_is_refused_unless_the_setting_allows_it(wf_api: Api) -> None:
    ran = run_alone(wf_api)
    before = wf_api.snapshot()

    for path in (f"/v2/action_executions/{ran['id']}", f"/v2/action_executions/{UNKNOWN_ID}"):
        assert_fault(wf_api.client.simulate_delete(path), 403, "Action execution deletion is not allowed.")
    assert wf_api.snapshot() == before


def test_a_finished_action_run_alone_is_deleted_with_its_history(deleting: Api) -> None:
    ran = run_alone(deleting)
    assert deleting.get(f"/v2/action_executions/{ran['id']}").json["state"] == "SUCCESS"

    answer = deleting.client.simulate_delete(f"/v2/action_executions/{ran['id']}")

    assert (answer.status_code, answer.content) == (204, b"")
    assert_fault(deleting.get(f"/v2/action_executions/{ran['id']}"), 404)
    assert_fault(deleting.client.simulate_delete(f"/v2/action_executions/{ran['id']}"), 404)


def test_a_pushed_and_finished_async_action_run_alone_is_deleted_with_its_history(deleting: Api) -> None:
    ran = run_alone(deleting, "std.async_noop")
    deleting.push(ran["id"], "SUCCESS", {"done": True})
    assert deleting.get(f"/v2/action_executions/{ran['id']}/history").json["history"]

    assert deleting.client.simulate_delete(f"/v2/action-executions/{ran['id']}").status_code == 204

    assert deleting.engine.store.history_of(ran["id"]) == []


def test_a_running_action_is_not_deleted(deleting: Api) -> None:
    ran = run_alone(deleting, "std.async_noop")
    before = deleting.snapshot()

    answer = deleting.client.simulate_delete(f"/v2/action_executions/{ran['id']}")

    assert_fault(answer, 409, f"Only completed action execution can be deleted: {ran['id']} is RUNNING")
    assert deleting.snapshot() == before


def test_a_tasks_action_is_not_deleted_even_finished(deleting: Api) -> None:
    _, action_ex = deleting.start_async()
    deleting.push(action_ex["id"], "SUCCESS", {"x": 1})
    before = deleting.snapshot()

    answer = deleting.client.simulate_delete(f"/v2/action_executions/{action_ex['id']}")

    assert_fault(answer, 403, "Only ad-hoc action execution can be deleted.")
    assert deleting.snapshot() == before


# -- GET /info ------------------------------------------------------------------------------------
def test_info_is_off_by_default_as_in_mistral(api: Api) -> None:
    assert_fault(api.get("/info"), 400, "Info endpoint disabled.")


def test_info_answers_what_the_deployment_published() -> None:
    api = Api(options=ApiOptions(info={"build": "2026.12", "commit": "abc"}))

    answer = api.get("/info")

    assert (answer.status_code, answer.json) == (200, {"build": "2026.12", "commit": "abc"})
