"""``GET /v2/executions/<id>/report``: Mistral 23's document (statistics, the tree of tasks, action
executions and sub-workflows), its three parameters, and its bounded cost."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from mistral_std_actions import FailAction

from mistral_core.api.context import ApiOptions
from mistral_core.model import ActionExecution, Query, State, TaskExecution, WorkflowExecution
from mistral_core.services.reports import MAX_LEVELS
from tests.api.support import WF_ASYNC, WF_SEQ, Api, assert_fault

# A parent that succeeds a task, runs a child that fails one, and fails one task after two retries.
WORKFLOWS = """---
version: '2.0'
rep_child:
  tasks:
    c1:
      action: std.echo output=1
    c2:
      action: std.fail
rep_parent:
  tasks:
    p1:
      action: std.noop
    p2:
      workflow: rep_child
    p3:
      action: std.fail
      retry:
        count: 2
        delay: 0
"""

# Three levels: top -> middle -> wf_async (its async action waits).
NESTED = """---
version: '2.0'
middle:
  tasks:
    m:
      workflow: wf_async
top:
  tasks:
    t:
      workflow: middle
"""

ITEMS = """---
version: '2.0'
many:
  tasks:
    each:
      with-items: i in <% range(0, 200) %>
      action: std.noop
"""

STATISTICS_KEYS = {
    "total_tasks_count",
    "running_tasks_count",
    "success_tasks_count",
    "error_tasks_count",
    "idle_tasks_count",
    "paused_tasks_count",
    "estimated_time",
}
ENTRY_KEYS = {"id", "name", "created_at", "updated_at", "state", "state_info"}


def report(api: Api, ex_id: str, **params: str) -> dict[str, Any]:
    answer = api.get(f"/v2/executions/{ex_id}/report", params=params or None)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json
    return document


def counts(document: dict[str, Any]) -> dict[str, int]:
    """The non-zero counts of the statistics, without the estimate."""
    stats = document["statistics"]
    return {key.removesuffix("_tasks_count"): n for key, n in stats.items() if n and key != "estimated_time"}


def by_name(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in entries}


@pytest.fixture
def api() -> Api:
    """An API that has std.fail too."""
    return Api(actions={"std.fail": FailAction})


@pytest.fixture
def failed(api: Api) -> str:
    """A finished rep_parent execution (ERROR): its id."""
    api.post_yaml(WORKFLOWS)
    ex_id = api.start("rep_parent")["id"]
    assert api.execution(ex_id)["state"] == "ERROR"
    return ex_id


def test_the_report_is_mistrals_tree_with_statistics(api: Api, failed: str) -> None:
    document = report(api, failed)

    assert set(document) == {"statistics", "root_workflow_execution"}
    assert set(document["statistics"]) == STATISTICS_KEYS
    assert counts(document) == {"total": 5, "success": 2, "error": 3}
    assert document["statistics"]["estimated_time"] == 0  # not RUNNING
    root = document["root_workflow_execution"]
    assert set(root) == ENTRY_KEYS | {"task_executions"}
    assert (root["id"], root["name"], root["state"]) == (failed, "rep_parent", "ERROR")
    tasks = by_name(root["task_executions"])
    assert set(tasks) == {"p1", "p2", "p3"}
    for task in tasks.values():
        assert set(task) - {"retry_count"} == ENTRY_KEYS | {"action_executions", "workflow_executions"}
    assert "retry_count" not in tasks["p1"]
    assert tasks["p3"]["retry_count"] == 2
    assert [a["state"] for a in tasks["p3"]["action_executions"]] == ["ERROR"] * 3
    (noop,) = tasks["p1"]["action_executions"]
    assert set(noop) == ENTRY_KEYS | {"accepted", "last_heartbeat"}
    assert (noop["name"], noop["state"], noop["accepted"]) == ("std.noop", "SUCCESS", True)
    assert tasks["p2"]["action_executions"] == []
    (child,) = tasks["p2"]["workflow_executions"]
    assert (child["name"], child["state"]) == ("rep_child", "ERROR")
    assert set(by_name(child["task_executions"])) == {"c1", "c2"}


def test_errors_only_keeps_the_error_paths(api: Api, failed: str) -> None:
    document = report(api, failed, errors_only="true")

    assert counts(document) == {"total": 3, "error": 3}
    tasks = by_name(document["root_workflow_execution"]["task_executions"])
    assert set(tasks) == {"p2", "p3"}
    (child,) = tasks["p2"]["workflow_executions"]
    assert [t["name"] for t in child["task_executions"]] == ["c2"]


def test_max_depth_0_shows_sub_workflows_without_their_tasks(api: Api, failed: str) -> None:
    document = report(api, failed, max_depth="0")

    assert counts(document) == {"total": 3, "success": 1, "error": 2}
    tasks = by_name(document["root_workflow_execution"]["task_executions"])
    (child,) = tasks["p2"]["workflow_executions"]
    assert set(child) == ENTRY_KEYS  # no task_executions below max_depth


def test_statistics_only_leaves_the_tree_out(api: Api, failed: str) -> None:
    assert set(report(api, failed, statistics_only="true")) == {"statistics"}
    assert counts(report(api, failed, statistics_only="true")) == {"total": 5, "success": 2, "error": 3}
    shallow = report(api, failed, statistics_only="true", max_depth="0")
    assert counts(shallow) == {"total": 3, "success": 1, "error": 2}


def test_max_depth_counts_levels_of_sub_workflows(api: Api) -> None:
    api.post_yaml(WF_ASYNC)
    api.post_yaml(NESTED)
    ex_id = api.start("top")["id"]

    def depth(document: dict[str, Any]) -> int:
        level, node = 0, document["root_workflow_execution"]
        while node.get("task_executions") and node["task_executions"][0]["workflow_executions"]:
            node, level = node["task_executions"][0]["workflow_executions"][0], level + 1
        return level if "task_executions" in node else level - 1

    assert depth(report(api, ex_id)) == 2
    assert depth(report(api, ex_id, max_depth="1")) == 1
    assert depth(report(api, ex_id, max_depth="-5")) == 2
    whole = report(api, ex_id)
    assert counts(whole) == {"total": 3, "running": 3}
    assert whole["statistics"]["estimated_time"] == -1  # RUNNING, and no run of top finished yet


def test_a_running_execution_is_estimated_from_the_finished_ones(api: Api) -> None:
    api.post_yaml(WF_ASYNC)
    done, action_ex = api.start_async()
    api.push(action_ex["id"], "SUCCESS", {"x": 1})
    assert api.execution(done["id"])["state"] == "SUCCESS"
    running = api.start("wf_async")["id"]

    estimated = report(api, running)["statistics"]["estimated_time"]

    assert isinstance(estimated, int) and estimated >= 1


def test_the_cli_flags_as_it_sends_them(api: Api, failed: str) -> None:
    """``mistral execution-get-report`` sends ``errors_only=True&max_depth=-1`` by default."""
    answer = api.client.simulate_get(
        f"/v2/executions/{failed}/report", query_string="errors_only=True&max_depth=-1"
    )
    assert answer.status_code == 200
    assert counts(answer.json) == {"total": 3, "error": 3}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("max_depth=x", "Invalid value for parameter max_depth: 'x' is not an integer"),
        ("max_depth=99999999999999", "too large (at most 2147483647)"),
        ("errors_only=maybe", "Invalid value for parameter errors_only"),
        ("statistics_only=2", "Invalid value for parameter statistics_only"),
        ("max_depth=1&max_depth=2", "Parameter max_depth is given more than once"),
        ("fields=id", 'Unknown argument: "fields"'),
    ],
)
def test_bad_parameters_are_a_one_line_400(api: Api, failed: str, query: str, message: str) -> None:
    answer = api.client.simulate_get(f"/v2/executions/{failed}/report", query_string=query)
    assert message in assert_fault(answer, 400)


def test_an_unknown_execution_is_404(api: Api) -> None:
    assert_fault(api.get("/v2/executions/nope/report"), 404, "WorkflowExecution not found [id=nope]")


def test_a_report_over_the_cap_is_refused_after_reading_one_page(monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(options=ApiOptions(report_max_entries=50))
    api.post_yaml(ITEMS)
    ex_id = api.start("many")["id"]
    read: list[int] = []
    original: Callable[[Query], list[ActionExecution]] = api.store.list_action_executions

    def counted(query: Query) -> list[ActionExecution]:
        found = original(query)
        read.append(len(found))
        return found

    monkeypatch.setattr(api.store, "list_action_executions", counted)

    message = assert_fault(api.get(f"/v2/executions/{ex_id}/report"), 400)

    assert message == (
        f"The report of execution {ex_id} has more than 50 entries (setting report_max_entries): "
        "narrow it with max_depth or errors_only=true, or ask statistics_only=true"
    )
    assert read == [49]  # 50 entries allowed, 2 spent (the execution, its task): one more than the rest
    # What the message proposes works: the statistics read no action executions.
    assert counts(report(api, ex_id, statistics_only="true")) == {"total": 1, "success": 1}
    assert set(report(api, ex_id, errors_only="true")["root_workflow_execution"]) >= {"task_executions"}


def make_tree(api: Api, tasks: int, levels: int = 0) -> str:
    """An execution written straight to the store: a chain of ``levels`` sub-workflows under the
    root, and ``tasks`` tasks in the deepest one (building 10,000 through the engine takes minutes)."""
    now = dt.datetime(2026, 11, 29, 12, 0, 0)
    root_id = str(uuid.uuid4())
    parent: str | None = None
    wf_ex_id = root_id
    for level in range(levels + 1):
        wf_ex_id = root_id if level == 0 else str(uuid.uuid4())
        api.store.insert(
            WorkflowExecution(
                id=wf_ex_id,
                workflow_id="wf",
                workflow_name=f"level{level}",
                spec_checksum="x",
                state=State.RUNNING,
                task_execution_id=parent,
                root_execution_id=None if level == 0 else root_id,
                created_at=now,
            )
        )
        if level < levels:
            parent = str(uuid.uuid4())
            api.store.insert(dataclasses.replace(_task(parent, wf_ex_id, "call", now), type="WORKFLOW"))
    for n in range(tasks):
        api.store.insert(_task(str(uuid.uuid4()), wf_ex_id, f"t{n}", now))
    return root_id


def _task(task_ex_id: str, wf_ex_id: str, name: str, now: dt.datetime) -> TaskExecution:
    return TaskExecution(
        id=task_ex_id,
        workflow_execution_id=wf_ex_id,
        name=name,
        state=State.SUCCESS,
        workflow_name="w",
        workflow_id="wf",
        created_at=now,
    )


def test_an_execution_of_10000_tasks_is_refused_with_the_default_cap(api: Api) -> None:
    ex_id = make_tree(api, tasks=10_000)

    assert "has more than 10000 entries" in assert_fault(api.get(f"/v2/executions/{ex_id}/report"), 400)
    # The statistics count them in the database, without reading them: they are not refused.
    assert counts(report(api, ex_id, statistics_only="true")) == {"total": 10_000, "success": 10_000}
    smaller = make_tree(api, tasks=9_999)  # with the execution itself: 10,000 entries
    (wf_ex,) = [report(api, smaller)["root_workflow_execution"]]
    assert len(wf_ex["task_executions"]) == 9_999


def test_statistics_of_too_many_sub_workflows_are_refused() -> None:
    api = Api(options=ApiOptions(report_max_entries=50))
    ex_id = make_tree(api, tasks=3, levels=30)  # a task and a sub-workflow a level: 60 entries

    message = assert_fault(api.get(f"/v2/executions/{ex_id}/report?statistics_only=true"), 400)

    assert message == (
        f"The statistics of execution {ex_id} reach more than 50 sub-workflows and tasks that start "
        "them (setting report_max_entries): narrow them with max_depth or errors_only=true"
    )
    assert counts(report(api, ex_id, statistics_only="true", max_depth="20")) == {"total": 21, "success": 21}
    assert counts(report(api, ex_id, statistics_only="true", errors_only="true")) == {}


def test_a_deep_tree_is_refused_unless_max_depth_bounds_it(api: Api) -> None:
    ex_id = make_tree(api, tasks=1, levels=MAX_LEVELS + 1)

    message = assert_fault(api.get(f"/v2/executions/{ex_id}/report"), 400)

    assert (
        message
        == f"The report of execution {ex_id} is more than 200 sub-workflows deep: narrow it with max_depth"
    )
    assert counts(report(api, ex_id, max_depth="10")) == {"total": 11, "success": 11}
    assert counts(report(api, ex_id, max_depth="10", statistics_only="true")) == {"total": 11, "success": 11}


def test_a_report_of_a_sequence(wf_api: Api) -> None:
    ex_id = wf_api.start("wf_seq")["id"]
    assert WF_SEQ  # a, then b
    tasks = report(wf_api, ex_id)["root_workflow_execution"]["task_executions"]
    assert [(t["name"], [a["name"] for a in t["action_executions"]]) for t in tasks] == [
        ("a", ["std.echo"]),
        ("b", ["std.noop"]),
    ]
