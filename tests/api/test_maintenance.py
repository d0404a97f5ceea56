"""``/maintenance``: the mode's shape and moves, what it refuses (423), what it keeps, what it resumes."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from mistral_core.api.maintenance_guard import ALLOWED, CHECKED_INSIDE, guarded_routes
from mistral_core.api.routes import endpoints
from mistral_core.auth.identity import DEFAULT_PROJECT, Identity, Role
from mistral_core.services.maintenance import PAUSED_INFO
from tests.api.support import WF_PARENT, WF_SEQ, Api, assert_fault

SAMPLE_ID = "00000000-0000-0000-0000-000000000000"


def mode(api: Api, path: str = "/maintenance") -> str:
    result = api.get(path)
    assert result.status_code == 200, result.text
    assert set(result.json) == {"status"}
    status: str = result.json["status"]
    return status


def ask(api: Api, status: Any, path: str = "/maintenance") -> Any:
    return api.put_json(path, {"status": status})


def asked(api: Api, status: str) -> str:
    result = ask(api, status)
    assert result.status_code == 200, result.text
    answer: str = result.json["status"]
    return answer


def states(api: Api, *ex_ids: str) -> list[str]:
    return [api.execution(ex_id)["state"] for ex_id in ex_ids]


# -- the mode ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/maintenance", "/v2/maintenance"])
def test_a_new_service_is_running(api: Api, path: str) -> None:
    assert mode(api, path) == "RUNNING"


def test_pausing_with_nothing_running_is_paused_at_once_and_resuming_runs_again(api: Api) -> None:
    assert asked(api, "PAUSED") == "PAUSED"
    assert mode(api) == mode(api, "/v2/maintenance") == "PAUSED"
    assert asked(api, "PAUSED") == "PAUSED"  # again: nothing changes
    assert asked(api, "RUNNING") == "RUNNING"
    assert asked(api, "RUNNING") == "RUNNING"
    assert mode(api) == "RUNNING"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"status": "PAUSING"}, "PAUSING is an intermediate state"),
        ({"status": "FOO"}, "'FOO' is not a maintenance state; choose PAUSED or RUNNING"),
        ({"status": "x" * 5000}, "is not a maintenance state"),
        ({"status": 3}, "expected a string, got"),
        ({}, "Missing field 'status'"),
        ([], "JSON object"),
    ],
)
def test_bad_requests_are_400_and_change_nothing(api: Api, body: Any, fragment: str) -> None:
    # Mistral 23 answers 500 to an unknown state or PAUSING; we answer what its message says: 400.
    message = assert_fault(api.put_json("/maintenance", body), 400, fragment)
    assert len(message) < 200
    assert mode(api) == "RUNNING"


# -- pausing and resuming executions ------------------------------------------------------------
def test_running_executions_pause_and_only_they_resume(wf_api: Api) -> None:
    mine, _ = wf_api.start_async()
    theirs, _ = wf_api.start_async()
    user_paused, _ = wf_api.start_async()
    assert wf_api.put_json(f"/v2/executions/{user_paused['id']}", {"state": "PAUSED"}).status_code == 200

    assert asked(wf_api, "PAUSED") == "PAUSED"  # the async waits do not hold it back

    paused = [wf_api.execution(ex["id"]) for ex in (mine, theirs, user_paused)]
    assert [(ex["state"], ex["state_info"]) for ex in paused] == [
        ("PAUSED", PAUSED_INFO),
        ("PAUSED", PAUSED_INFO),
        ("PAUSED", None),
    ]
    assert asked(wf_api, "RUNNING") == "RUNNING"
    assert states(wf_api, mine["id"], theirs["id"], user_paused["id"]) == ["RUNNING", "RUNNING", "PAUSED"]
    assert wf_api.execution(mine["id"])["state_info"] is None


def test_a_result_pushed_in_maintenance_is_kept_and_applied_on_resume(wf_api: Api) -> None:
    wf_ex, action_ex = wf_api.start_async()
    asked(wf_api, "PAUSED")

    pushed = wf_api.push(action_ex["id"], "SUCCESS", {"answer": 42})

    assert pushed["state"] == "SUCCESS"
    assert wf_api.execution(wf_ex["id"])["state"] == "PAUSED"  # the workflow does not go on yet
    history = wf_api.get(f"/v2/action_executions/{action_ex['id']}/history").json["history"]
    assert [entry["outcome"] for entry in history] == ["accepted"]
    asked(wf_api, "RUNNING")
    resumed = wf_api.execution(wf_ex["id"])
    assert resumed["state"] == "SUCCESS"
    assert '"answer": 42' in resumed["output"]


def test_heartbeats_are_taken_but_an_action_cannot_be_paused_or_resumed(wf_api: Api) -> None:
    _, action_ex = wf_api.start_async()
    asked(wf_api, "PAUSED")
    item = f"/v2/action_executions/{action_ex['id']}"

    beat = wf_api.post_json(f"{item}/heartbeat", {"progress": {"percent": 10}})
    assert beat.status_code == 200, beat.text
    assert_fault(wf_api.put_json(item, {"state": "PAUSED"}), 423, "maintenance (PAUSED)", "RUNNING")
    assert wf_api.get(item).json["state"] == "RUNNING"


def test_a_sub_workflow_pauses_with_its_parent_and_resumes_with_it(wf_api: Api) -> None:
    wf_api.create_workflow(WF_PARENT)
    parent = wf_api.start("wf_parent")
    (child,) = [ex for ex in wf_api.get("/v2/executions").json["executions"] if ex["id"] != parent["id"]]

    asked(wf_api, "PAUSED")
    assert states(wf_api, parent["id"], child["id"]) == ["PAUSED", "PAUSED"]
    asked(wf_api, "RUNNING")
    assert states(wf_api, parent["id"], child["id"]) == ["RUNNING", "RUNNING"]
    (action_ex,) = wf_api.action_executions(wf_api.tasks(child["id"])[0]["id"])
    wf_api.push(action_ex["id"], "SUCCESS", 7)
    assert states(wf_api, parent["id"], child["id"]) == ["SUCCESS", "SUCCESS"]


def test_resuming_goes_on_where_an_interrupted_resume_stopped(wf_api: Api) -> None:
    first, _ = wf_api.start_async()
    second, _ = wf_api.start_async()
    asked(wf_api, "PAUSED")
    # A resume that died after setting the mode: the executions are still paused and recorded.
    assert wf_api.store.change_maintenance_mode("RUNNING", ("PAUSED",), "crashed")

    assert mode(wf_api) == "RUNNING"  # the next request reading the mode resumes them
    assert states(wf_api, first["id"], second["id"]) == ["RUNNING", "RUNNING"]
    assert wf_api.store.maintenance_pauses(10) == []


def test_a_pause_carries_on_over_requests_within_a_budget(wf_api: Api) -> None:
    started = [wf_api.start_async()[0]["id"] for _ in range(5)]
    wf_api.engine.maintenance._budget = 2  # each request pauses at most two executions

    assert asked(wf_api, "PAUSED") == "PAUSING"
    assert states(wf_api, *started) == ["PAUSED"] * 2 + ["RUNNING"] * 3
    assert [mode(wf_api), mode(wf_api)] == ["PAUSING", "PAUSED"]
    assert states(wf_api, *started) == ["PAUSED"] * 5
    assert asked(wf_api, "RUNNING") == "RUNNING"
    assert states(wf_api, *started) == ["RUNNING"] * 2 + ["PAUSED"] * 3
    assert mode(wf_api) == mode(wf_api) == "RUNNING"
    assert states(wf_api, *started) == ["RUNNING"] * 5


# -- what is refused --------------------------------------------------------------------------------
def test_a_new_execution_is_refused_with_423(wf_api: Api) -> None:
    asked(wf_api, "PAUSED")

    result = wf_api.post_json("/v2/executions", {"workflow_name": "wf_seq"})

    message = assert_fault(result, 423, "maintenance (PAUSED)", "starting an execution", "RUNNING")
    assert result.headers["content-type"] == "application/json"
    assert len(message) < 200
    assert wf_api.get("/v2/executions").json["executions"] == []
    asked(wf_api, "RUNNING")
    assert wf_api.post_json("/v2/executions", {"workflow_name": "wf_seq"}).status_code == 201


def _path(template: str) -> str:
    return re.sub(r"{(\w+)}", SAMPLE_ID if "action_ex" in template else "x", template)


def test_every_writing_route_but_the_allowed_ones_is_refused_and_reads_are_not() -> None:
    wf_api = Api(dynamic_code_max_bytes=65_536)  # dynamic actions on: their routes are answered too
    wf_api.create_workflow(WF_SEQ)
    before = wf_api.snapshot()
    asked(wf_api, "PAUSED")

    for template, method in sorted(guarded_routes()):
        result = wf_api.client.simulate_request(method, _path(template), body="{}")
        assert_fault(result, 423, f"{method} {template}")
    started = wf_api.post_json("/v2/executions", {"workflow_name": "wf_seq"})
    assert_fault(started, 423, "starting an execution")
    for template, method, _ in endpoints():
        if method == "GET" and "{" not in template and template != "/info":  # /info: 400 while off
            assert wf_api.get(template).status_code == 200, template
    assert wf_api.snapshot() == before
    writes = {(template, method) for template, method, _ in endpoints() if method != "GET"}
    assert writes == guarded_routes() | ALLOWED | CHECKED_INSIDE
    assert ("/v2/workflows", "POST") in guarded_routes()


def fire_due(api: Api, due: dt.datetime) -> None:
    api.engine.timers.fire_timers(api.store.claim_due_timers(due, "test", due + dt.timedelta(minutes=1), 10))


def test_a_cron_firing_waits_for_the_end_of_maintenance_and_happens_once(wf_api: Api) -> None:
    body = {"name": "c", "workflow_name": "wf_seq", "pattern": "*/5 * * * *", "remaining_executions": 3}
    assert wf_api.post_json("/v2/cron_triggers", body).status_code == 201
    asked(wf_api, "PAUSED")
    before = wf_api.get("/v2/cron_triggers/c").json
    assert before["next_execution_time"] == "2026-11-29 11:30:00"

    for minutes in (1, 10, 20):  # due, and due again while maintenance lasts: held each time
        fire_due(wf_api, dt.datetime(2026, 11, 29, 11, 30) + dt.timedelta(minutes=minutes))

    assert wf_api.get("/v2/executions").json["executions"] == []
    assert wf_api.get("/v2/cron_triggers/c").json == before  # not advanced, not counted
    asked(wf_api, "RUNNING")
    fire_due(wf_api, dt.datetime(2026, 11, 29, 11, 59))
    (wf_ex,) = wf_api.get("/v2/executions").json["executions"]
    assert json.loads(wf_ex["description"])["triggered_by"]["name"] == "c"
    assert wf_api.get("/v2/cron_triggers/c").json["remaining_executions"] == 2


# -- who may --------------------------------------------------------------------------------------------
class Keys:
    def __init__(self) -> None:
        self.identities = {
            "root": Identity("root", Role.ADMIN, DEFAULT_PROJECT),
            "p1-admin": Identity("p1-admin", Role.ADMIN, "p1"),
            "operator": Identity("operator", Role.OPERATOR, DEFAULT_PROJECT),
            "reader": Identity("reader", Role.READER, DEFAULT_PROJECT),
        }

    def authenticate(self, secret: str) -> Identity | None:
        return self.identities.get(secret)


@pytest.mark.parametrize(
    ("who", "status", "fragment"),
    [
        ("operator", 403, "needs the role admin"),
        ("reader", 403, "needs the role admin"),
        ("p1-admin", 403, "the whole service's"),
    ],
)
def test_only_an_admin_of_every_project_changes_the_mode(who: str, status: int, fragment: str) -> None:
    api = Api(authenticators=lambda store: [Keys()])

    def put(secret: str) -> Any:
        return api.put_json("/maintenance", {"status": "PAUSED"}, headers={"X-Auth-Token": secret})

    assert_fault(put(who), status, fragment)
    assert api.get("/maintenance", headers={"X-Auth-Token": who}).json == {"status": "RUNNING"}
    assert_fault(api.get("/maintenance"), 401, "")
    assert put("root").json == {"status": "PAUSED"}
    refused = api.post_json("/v2/executions", {"workflow_name": "x"}, headers={"X-Auth-Token": "reader"})
    assert_fault(refused, 403, "needs the role operator")  # who may comes before maintenance


WF_TIMEOUT = """---
version: '2.0'
wf_timeout:
  tasks:
    wait:
      action: std.async_noop
      timeout: 60
      on-error: handled
    handled:
      action: std.noop
"""


def test_a_timeout_still_fires_in_maintenance_and_its_route_is_taken_on_resume(api: Api) -> None:
    api.create_workflow(WF_TIMEOUT)
    wf_ex = api.start("wf_timeout")
    asked(api, "PAUSED")
    due = api.clock.now() + dt.timedelta(minutes=5)

    api.engine.timers.fire_timers(api.store.claim_due_timers(due, "test", due + dt.timedelta(minutes=1), 10))

    (task,) = api.tasks(wf_ex["id"])
    assert (task["name"], task["state"]) == ("wait", "ERROR")
    assert "timed out" in task["state_info"]
    assert api.execution(wf_ex["id"])["state"] == "PAUSED"
    asked(api, "RUNNING")
    assert api.execution(wf_ex["id"])["state"] == "SUCCESS"
    assert sorted(t["name"] for t in api.tasks(wf_ex["id"])) == ["handled", "wait"]
