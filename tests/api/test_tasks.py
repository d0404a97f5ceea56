"""``/v2/tasks``: list, get (with ``result``), a task's action executions."""

from __future__ import annotations

from tests.api.support import (
    ACTION_EX_LISTED_KEYS,
    PUBLIC_URL,
    TASK_KEYS,
    TASK_LISTED_KEYS,
    Api,
    assert_fault,
)

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


def test_list_filtered_by_execution_equals_the_execution_tasks(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")
    wf_api.start("wf_seq")

    result = wf_api.get("/v2/tasks", query_string=f"workflow_execution_id={wf_ex['id']}")

    assert result.status_code == 200
    assert result.json["tasks"] == wf_api.tasks(wf_ex["id"])
    assert all(set(t) == TASK_LISTED_KEYS for t in result.json["tasks"])


def test_list_all_tasks_walks_every_page(wf_api: Api) -> None:
    for _ in range(3):
        wf_api.start("wf_seq")

    seen: list[str] = []
    url: str | None = "/v2/tasks?limit=2"
    pages = 0
    while url:
        result = wf_api.get(url.removeprefix(PUBLIC_URL))
        seen.extend(t["id"] for t in result.json["tasks"])
        url = result.json.get("next")
        pages += 1

    assert len(seen) == len(set(seen)) == 6
    assert pages == 4  # 2 + 2 + 2, then an empty page (Mistral links a full page)


def test_get_a_finished_task_shows_its_result(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")
    a = wf_api.tasks(wf_ex["id"])[0]

    result = wf_api.get(f"/v2/tasks/{a['id']}")

    assert result.status_code == 200
    task = result.json
    assert set(task) == TASK_KEYS
    assert task["result"] == '"hello"'  # the transcript's exact text
    assert {k: v for k, v in task.items() if k != "result"} == a


def test_get_a_waiting_task_shows_an_empty_result(wf_api: Api) -> None:
    wf_ex, _ = wf_api.start_async()
    (task,) = wf_api.tasks(wf_ex["id"])

    got = wf_api.get(f"/v2/tasks/{task['id']}").json

    assert (got["state"], got["result"], got["processed"], got["finished_at"]) == (
        "RUNNING",
        "[]",
        False,
        None,
    )


def test_get_unknown_task_is_404(api: Api) -> None:
    assert_fault(api.get(f"/v2/tasks/{UNKNOWN_ID}"), 404, UNKNOWN_ID)


def test_action_executions_of_a_task(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")
    a = wf_api.tasks(wf_ex["id"])[0]

    (action_ex,) = wf_api.action_executions(a["id"])

    assert set(action_ex) == ACTION_EX_LISTED_KEYS
    assert (action_ex["name"], action_ex["state"], action_ex["input"]) == (
        "std.echo",
        "SUCCESS",
        '{"output": "hello"}',
    )
    assert (action_ex["task_execution_id"], action_ex["task_name"]) == (a["id"], "a")
    assert (action_ex["accepted"], action_ex["tags"], action_ex["workflow_name"]) == (True, None, "wf_seq")


def test_action_executions_of_a_task_with_output(wf_api: Api) -> None:
    wf_ex = wf_api.start("wf_seq")
    a = wf_api.tasks(wf_ex["id"])[0]

    result = wf_api.get(f"/v2/tasks/{a['id']}/action_executions", query_string="include_output=true")

    assert result.json["action_executions"][0]["output"] == '{"result": "hello"}'


def test_action_executions_of_an_unknown_task_is_404(api: Api) -> None:
    assert_fault(api.get(f"/v2/tasks/{UNKNOWN_ID}/action_executions"), 404, UNKNOWN_ID)


def test_list_rejects_a_filter_on_an_unknown_field(wf_api: Api) -> None:
    assert_fault(wf_api.get("/v2/tasks", query_string="colour=red"), 400, "colour")
