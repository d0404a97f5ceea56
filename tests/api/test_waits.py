"""The inventory of waits (``GET /v2/waits``) and bulk actions on them (``POST /v2/waits/bulk``)
through HTTP: every filter, sort and page; every op, dry runs, conflicts, output schemas, the
history each item leaves, the bounds; roles and projects (timers driven by the test engine's clock).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import falcon.testing
import pytest

from mistral_core.api import create_app
from mistral_core.auth.identity import DEFAULT_PROJECT, Identity, Role
from mistral_core.model import RunAction
from mistral_core.services import waits as waits_service
from mistral_core.testing import TestEngine
from tests.api.support import PUBLIC_URL, AsyncNoopAction, NoopAction


class Told(AsyncNoopAction):
    """An async action whose third party hears when its wait is over."""

    told: list[tuple[str | None, str | None]] = []

    def cancel(self, context: Any) -> None:
        Told.told.append((context.execution.action_execution_id, context.cancel_reason))


WORKFLOWS = """
version: '2.0'
copy:
  tasks:
    wait:
      action: test.async
      timeout: 100
mail:
  tasks:
    wait:
      action: test.async
checked:
  tasks:
    ask:
      action: test.async
      output-schema:
        type: object
        required: [approved]
targeted:
  tasks:
    far:
      action: std.noop
      target: zone-b
"""


class Keys:
    """The test's authenticator: a secret per identity."""

    def __init__(self) -> None:
        self.identities: dict[str, Identity] = {}

    def add(self, name: str, role: Role, project: str) -> dict[str, str]:
        self.identities[f"mck_test_{name}"] = Identity(name=name, role=role, project=project)
        return {"X-Auth-Token": f"mck_test_{name}"}

    def authenticate(self, secret: str) -> Identity | None:
        return self.identities.get(secret)


class Client:
    """The app over a test engine whose clock the test moves (authentication on with ``keys``)."""

    def __init__(self, keys: Keys | None = None) -> None:
        Told.told.clear()
        self.t = TestEngine({"test.async": Told, "std.noop": NoopAction}, public_url=PUBLIC_URL)
        self.t.engine.definitions.create_workflows(WORKFLOWS, scope="public")
        app = create_app(self.t.engine, public_url=PUBLIC_URL, authenticators=[keys] if keys else ())
        self.http = falcon.testing.TestClient(app)
        self.headers: dict[str, str] = {}
        self.parked: list[RunAction] = []

    def waiting(self, workflow: str, headers: dict[str, str] | None = None) -> str:
        """Start ``workflow``; the id of its one action execution, once its executor ran it."""
        answer = self.http.simulate_post(
            "/v2/executions", json={"workflow_name": workflow}, headers=headers or self.headers
        )
        assert answer.status_code == 201, answer.text
        # The executors of a target nobody listens on never take its actions: they stay queued.
        self.parked += [cmd for cmd in self.t.runner.queue if cmd.target is not None]
        for cmd in self.parked:
            if cmd in self.t.runner.queue:
                self.t.runner.queue.remove(cmd)
        self.t.runner.drain()
        (task,) = self.t.store.task_executions_of(answer.json["id"])
        (action,) = self.t.store.action_executions_of(task.id)
        return action.id

    def waits(self, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
        answer = self.listing(headers, **params)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json["waits"]
        return items

    def listing(self, headers: dict[str, str] | None = None, **params: Any) -> falcon.testing.Result:
        return self.http.simulate_get("/v2/waits", params=params, headers=headers or self.headers)

    def ids(self, **params: Any) -> list[str]:
        return [wait["id"] for wait in self.waits(**params)]

    def bulk(self, body: Any, headers: dict[str, str] | None = None) -> falcon.testing.Result:
        answer = self.http.simulate_post("/v2/waits/bulk", json=body, headers=headers or self.headers)
        self.t.runner.drain()
        return answer

    def ok(self, body: Any) -> dict[str, Any]:
        answer = self.bulk(body)
        assert answer.status_code == 200, answer.text
        document: dict[str, Any] = answer.json
        return document

    def state(self, action_id: str) -> str:
        return self.t.store.get_action_execution(action_id).state.value

    def history(self, action_id: str) -> list[dict[str, Any]]:
        answer = self.http.simulate_get(f"/v2/action_executions/{action_id}/history", headers=self.headers)
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, Any]] = answer.json["history"]
        return entries


@pytest.fixture
def client() -> Client:
    return Client()


def statuses(document: dict[str, Any]) -> dict[str, tuple[int, str | None]]:
    return {item["id"]: (item["status"], item["reason"]) for item in document["results"]}


# -- the inventory ---------------------------------------------------------------------------------
def test_the_inventory_lists_running_async_actions_with_their_wait(client: Client) -> None:
    first = client.waiting("copy")
    client.t.advance(5)
    second = client.waiting("mail")
    answer = client.http.simulate_post(
        f"/v2/action_executions/{first}/heartbeat", json={"progress": {"percent": 40}, "extend_by": 60}
    )
    assert answer.status_code == 200, answer.text

    waits = client.waits()

    assert [wait["id"] for wait in waits] == [first, second]  # oldest first
    assert waits[0] == {
        "id": first,
        "name": "test.async",
        "workflow_name": "copy",
        "workflow_execution_id": client.t.store.get_action_execution(first).workflow_execution_id,
        "task_name": "wait",
        "task_execution_id": client.t.store.get_action_execution(first).task_execution_id,
        "state": "RUNNING",
        "is_sync": False,
        "target": None,
        "dispatch": "HANDED_OFF",
        "project_id": DEFAULT_PROJECT,
        "created_at": "2030-01-01 12:00:00",
        "deadline": "2030-01-01T12:02:40Z",
        "progress": {"percent": 40},
        "last_heartbeat_at": "2030-01-01T12:00:05Z",
    }
    assert waits[1]["deadline"] is None and waits[1]["progress"] is None


def test_a_finished_wait_leaves_the_inventory_and_a_sync_action_is_never_in_it(client: Client) -> None:
    done = client.waiting("copy")
    left = client.waiting("mail")
    answer = client.http.simulate_put(f"/v2/action_executions/{done}", json={"state": "SUCCESS"})
    assert answer.status_code == 200, answer.text

    assert client.ids() == [left]


def test_a_targeted_action_no_executor_took_is_a_wait_with_its_target(client: Client) -> None:
    queued = client.waiting("targeted")
    async_wait = client.waiting("mail")

    waits = {wait["id"]: wait for wait in client.waits()}

    assert set(waits) == {queued, async_wait}
    assert waits[queued]["target"] == "zone-b"
    assert waits[queued]["dispatch"] == "QUEUED"
    assert waits[queued]["is_sync"] is True
    # Once an executor of the target takes it, it is no wait any more.
    client.t.runner.queue.extend(client.parked)
    client.parked.clear()
    client.t.runner.drain()
    assert client.ids() == [async_wait]


def test_filters_by_name_and_workflow_name(client: Client) -> None:
    copy = client.waiting("copy")
    mail = client.waiting("mail")
    far = client.waiting("targeted")

    assert set(client.ids(name="test.async")) == {copy, mail}
    assert client.ids(name="std.noop") == [far]
    assert client.ids(workflow_name="mail") == [mail]
    assert set(client.ids(workflow_name="in:copy,targeted")) == {copy, far}
    assert client.ids(workflow_name="nope") == []


def test_older_than_keeps_the_waits_started_that_long_ago(client: Client) -> None:
    old = client.waiting("copy")
    client.t.advance(30)
    young = client.waiting("mail")
    client.t.advance(10)

    assert client.ids(older_than="20") == [old]
    assert client.ids(older_than="5") == [old, young]
    assert client.ids(older_than="45") == []


def test_deadline_before_keeps_the_waits_whose_deadline_comes_sooner(client: Client) -> None:
    timed = client.waiting("copy")  # deadline 12:01:40
    client.waiting("mail")  # no deadline: never before anything

    assert client.ids(deadline_before="2030-01-01T12:02:00") == [timed]
    assert client.ids(deadline_before="2030-01-01T13:01:00+01:00") == []  # 12:01:00 UTC
    assert client.ids(deadline_before="2030-01-01 12:01:00") == []


def test_stale_for_keeps_the_waits_silent_that_long(client: Client) -> None:
    beating = client.waiting("copy")
    silent = client.waiting("mail")
    client.t.advance(50)
    client.http.simulate_post(f"/v2/action_executions/{beating}/heartbeat", json={})
    client.t.advance(20)

    assert client.ids(stale_for="30") == [silent]  # 70 s since its start; the other beat 20 s ago
    assert set(client.ids(stale_for="10")) == {beating, silent}
    assert client.ids(stale_for="100") == []


def test_sort_keys_and_paging_follow_mistrals_lists(client: Client) -> None:
    made = []
    for workflow in ("copy", "mail", "copy", "mail", "copy"):
        made.append(client.waiting(workflow))
        client.t.advance(1)

    assert client.ids(sort_keys="created_at", sort_dirs="desc") == made[::-1]
    by_workflow = client.ids(sort_keys="workflow_name,created_at")
    assert by_workflow == [made[0], made[2], made[4], made[1], made[3]]
    deadline_first = client.ids(sort_keys="deadline", sort_dirs="desc")
    assert deadline_first[:3] == [made[4], made[2], made[0]]  # then those without (nulls last)

    page = client.listing(limit="2", older_than="0")
    assert [wait["id"] for wait in page.json["waits"]] == made[:2]
    seen = [wait["id"] for wait in page.json["waits"]]
    while "next" in page.json:
        link = urlsplit(page.json["next"])
        assert "older_than=0" in link.query
        page = client.http.simulate_get(link.path, query_string=link.query)
        assert page.status_code == 200, page.text
        seen += [wait["id"] for wait in page.json["waits"]]
    assert seen == made
    assert [w["id"] for w in client.waits(limit="2", marker=made[1])] == made[2:4]
    narrowed = client.waits(fields="name,deadline", limit="1")
    assert narrowed == [{"id": made[0], "name": "test.async", "deadline": "2030-01-01T12:01:40Z"}]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"older_than": "soon"}, "Invalid value for parameter older_than"),
        ({"stale_for": "-1"}, "Invalid value for parameter stale_for"),
        ({"stale_for": "1e99"}, "Invalid value for parameter stale_for"),
        ({"deadline_before": "tomorrow"}, "Invalid value for parameter deadline_before"),
        ({"state": "SUCCESS"}, 'Unknown argument: "state"'),
        ({"sort_keys": "input"}, "Invalid sort key: input"),
        ({"limit": "0"}, "Limit must be positive"),
        ({"older_than": ["1", "2"]}, "Parameter older_than is given more than once"),
        ({"marker": "no-such-id"}, "not found"),
    ],
)
def test_a_bad_query_is_a_4xx_in_one_line(client: Client, params: dict[str, Any], message: str) -> None:
    client.waiting("copy")

    answer = client.listing(**params)

    assert 400 <= answer.status_code < 500, answer.text
    assert message in answer.json["faultstring"] and "\n" not in answer.json["faultstring"]


# -- bulk actions ----------------------------------------------------------------------------------
def test_bulk_complete_pushes_each_result_and_records_who(client: Client) -> None:
    first, second = client.waiting("copy"), client.waiting("mail")

    document = client.ok({"op": "complete", "ids": [first, second], "output": {"size": 3}})

    assert document == {
        "matched": 2,
        "dry_run": False,
        "results": [
            {"id": first, "status": 200, "reason": None},
            {"id": second, "status": 200, "reason": None},
        ],
    }
    assert client.state(first) == client.state(second) == "SUCCESS"
    assert client.t.store.get_action_execution(first).output == {"result": {"size": 3}}
    (entry,) = client.history(first)
    assert (entry["outcome"], entry["state"], entry["by"]) == ("accepted", "SUCCESS", "anonymous")
    assert client.ids() == []


def test_bulk_complete_again_is_idempotent_and_another_op_conflicts_per_item(client: Client) -> None:
    done, waiting = client.waiting("copy"), client.waiting("mail")
    client.ok({"op": "complete", "ids": [done]})

    again = client.ok({"op": "complete", "ids": [done, waiting]})
    assert statuses(again) == {done: (200, None), waiting: (200, None)}

    document = client.ok({"op": "fail", "ids": [done, "no-such-id"]})
    assert document["matched"] == 1
    results = statuses(document)
    assert results[done][0] == 409 and f"Action execution {done} is already SUCCESS" in str(results[done][1])
    assert results["no-such-id"] == (404, "ActionExecution not found [id=no-such-id]")
    assert [e["outcome"] for e in client.history(done)] == ["accepted", "repeated", "rejected"]


def test_bulk_fail_and_cancel_end_the_waits_and_cancel_tells_the_third_party(client: Client) -> None:
    failed, cancelled = client.waiting("copy"), client.waiting("mail")

    client.ok({"op": "fail", "ids": [failed], "output": "the disk broke"})
    client.ok({"op": "cancel", "ids": [cancelled]})

    assert client.state(failed) == "ERROR"
    assert client.t.store.get_action_execution(failed).output == {"result": "the disk broke"}
    assert client.state(cancelled) == "CANCELLED"
    assert Told.told == [(cancelled, "cancelled")]
    assert client.history(cancelled)[0]["state"] == "CANCELLED"


def test_bulk_fail_without_output_stores_mistrals_unknown_error(client: Client) -> None:
    action = client.waiting("mail")

    client.ok({"op": "fail", "ids": [action]})

    assert client.t.store.get_action_execution(action).output == {"result": "Unknown error"}


def test_bulk_extend_moves_each_deadline_and_its_timeout(client: Client) -> None:
    timed, untimed = client.waiting("copy"), client.waiting("mail")
    client.t.advance(90)

    document = client.ok({"op": "extend", "ids": [timed, untimed], "extend_by": 60})

    results = statuses(document)
    assert results[timed] == (200, None)
    assert results[untimed][0] == 409 and "has no timeout" in str(results[untimed][1])
    action = client.t.store.get_action_execution(timed)
    assert action.deadline is not None and action.deadline.isoformat() == "2030-01-01T12:02:40"
    assert action.last_heartbeat_at is None  # an operator's extend says nothing of the third party
    (entry,) = client.history(timed)
    assert entry["outcome"] == "extended" and entry["state"] is None
    assert entry["reason"] == "deadline 60 s later: 2030-01-01 12:02:40"
    assert client.history(untimed)[0]["outcome"] == "rejected"
    client.t.advance(30)  # past the first deadline (12:01:40)
    assert client.state(timed) == "RUNNING"
    client.t.advance(41)
    assert client.state(timed) == "ERROR"


def test_an_output_that_fails_the_schema_is_a_422_for_that_item_only(client: Client) -> None:
    checked, plain = client.waiting("checked"), client.waiting("mail")

    document = client.ok({"op": "complete", "ids": [checked, plain], "output": {"size": 1}})

    results = statuses(document)
    assert results[checked][0] == 422 and "approved" in str(results[checked][1])
    assert results[plain] == (200, None)
    assert client.state(checked) == "RUNNING"
    assert client.history(checked)[0]["outcome"] == "rejected"


def test_a_sync_action_is_a_409_as_its_single_push_would_be(client: Client) -> None:
    queued = client.waiting("targeted")

    document = client.ok({"op": "complete", "ids": [queued]})

    assert statuses(document)[queued][0] == 409
    assert "is synchronous" in str(statuses(document)[queued][1])


def test_a_dry_run_judges_each_wait_and_changes_nothing(client: Client) -> None:
    timed, untimed, queued = client.waiting("copy"), client.waiting("mail"), client.waiting("targeted")

    cancel = client.ok({"op": "cancel", "filter": {}, "dry_run": True})
    extend = client.ok({"op": "extend", "ids": [timed, untimed, "nope"], "extend_by": 5, "dry_run": True})

    assert cancel["matched"] == 3 and cancel["dry_run"] is True
    assert {i: s for i, (s, _) in statuses(cancel).items()} == {timed: 200, untimed: 200, queued: 409}
    assert {i: s for i, (s, _) in statuses(extend).items()} == {timed: 200, untimed: 409, "nope": 404}
    assert client.state(timed) == client.state(untimed) == "RUNNING"
    assert client.history(timed) == [] and Told.told == []
    assert client.t.store.get_action_execution(timed).deadline.isoformat() == "2030-01-01T12:01:40"  # type: ignore[union-attr]


def test_a_dry_run_of_extend_refuses_a_paused_action_as_the_real_one_does(client: Client) -> None:
    timed = client.waiting("copy")
    paused = client.http.simulate_put(f"/v2/action_executions/{timed}", json={"state": "PAUSED"})
    assert paused.status_code == 200, paused.text
    body = {"op": "extend", "ids": [timed], "extend_by": 5}

    dry, real = client.ok({**body, "dry_run": True}), client.ok(body)

    assert statuses(real)[timed][0] == 409 and "is PAUSED" in str(statuses(real)[timed][1])
    assert statuses(dry)[timed] == statuses(real)[timed]


def test_bulk_by_filter_acts_on_the_waits_the_inventory_lists(client: Client) -> None:
    old = client.waiting("copy")
    client.t.advance(60)
    young = client.waiting("copy")
    other = client.waiting("mail")

    document = client.ok({"op": "complete", "filter": {"workflow_name": "copy", "older_than": 30}})

    assert document["matched"] == 1 and statuses(document) == {old: (200, None)}
    assert set(client.ids()) == {young, other}
    client.t.advance(1)
    stale = client.ok({"op": "cancel", "filter": {"name": "test.async", "stale_for": 0}})
    assert stale["matched"] == 2
    deadline = client.ok({"op": "complete", "filter": {"deadline_before": "2031-01-01T00:00:00Z"}})
    assert deadline["matched"] == 0 and deadline["results"] == []


def test_more_waits_than_the_bulk_maximum_is_a_400(client: Client) -> None:
    client.t.engine.waits.max_bulk_items = 2
    made = [client.waiting("mail") for _ in range(3)]

    by_filter = client.bulk({"op": "cancel", "filter": {"workflow_name": "mail"}})
    by_ids = client.bulk({"op": "cancel", "ids": made})

    assert by_filter.status_code == 400
    assert by_filter.json["faultstring"] == (
        "More than 2 waits match the filter: at most 2 per request (setting max_bulk_items); "
        "narrow the filter"
    )
    assert by_ids.status_code == 400
    assert by_ids.json["faultstring"] == "3 ids: at most 2 per request (setting max_bulk_items)"
    assert len(client.ids()) == 3
    assert client.ok({"op": "cancel", "ids": [*made[:2], made[0]]})["matched"] == 2  # duplicates once


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1], "Request body must be a JSON object"),
        ({"op": "finish", "ids": ["x"]}, "'op' must be one of complete, fail, cancel, extend"),
        ({"op": "cancel"}, "by 'ids' or by 'filter' (one of the two)"),
        ({"op": "cancel", "ids": ["x"], "filter": {}}, "by 'ids' or by 'filter'"),
        ({"op": "cancel", "ids": []}, "'ids' must be a non-empty list"),
        ({"op": "cancel", "ids": [1]}, "'ids' must hold action execution ids"),
        ({"op": "cancel", "ids": ["x" * 300]}, "'ids' must hold action execution ids"),
        ({"op": "cancel", "filter": []}, "'filter' must be an object"),
        ({"op": "cancel", "filter": {"state": "RUNNING"}}, "Unknown filter 'state'"),
        ({"op": "cancel", "filter": {"older_than": True}}, "Invalid value for filter older_than"),
        ({"op": "cancel", "filter": {"stale_for": "60"}}, "Invalid value for filter stale_for"),
        ({"op": "cancel", "filter": {"name": 3}}, "Filter name must be a name"),
        ({"op": "cancel", "ids": ["x"], "dryrun": True}, "Unknown field 'dryrun'"),
        ({"op": "cancel", "ids": ["x"], "dry_run": "yes"}, "'dry_run' must be true or false"),
        ({"op": "cancel", "ids": ["x"], "output": 1}, "'output' goes with op complete or fail"),
        ({"op": "complete", "ids": ["x"], "extend_by": 1}, "'extend_by' goes with op extend"),
        ({"op": "extend", "ids": ["x"]}, "op extend needs 'extend_by'"),
        ({"op": "extend", "ids": ["x"], "extend_by": 10**9}, "at most 604800 (setting max_extend_by)"),
        ({"op": "complete", "ids": ["x"], "output": "x" * 1_100_000}, "Request body too large"),
    ],
)
def test_a_bad_bulk_request_is_a_4xx_in_one_line(client: Client, body: Any, message: str) -> None:
    action = client.waiting("mail")

    answer = client.http.simulate_post(
        "/v2/waits/bulk", body=json.dumps(body), headers={"Content-Type": "application/json"}
    )

    assert 400 <= answer.status_code < 500, answer.text
    assert message in answer.json["faultstring"] and "\n" not in answer.json["faultstring"]
    assert client.state(action) == "RUNNING" and client.history(action) == []


# -- roles and projects ----------------------------------------------------------------------------
@pytest.fixture
def keys() -> Keys:
    return Keys()


def test_a_reader_lists_an_operator_acts_and_projects_see_only_their_own(keys: Keys) -> None:
    client = Client(keys)
    p1_operator = keys.add("ops-1", Role.OPERATOR, "p1")
    p1_reader = keys.add("reader-1", Role.READER, "p1")
    p2_operator = keys.add("ops-2", Role.OPERATOR, "p2")
    root = keys.add("root", Role.ADMIN, DEFAULT_PROJECT)
    mine = client.waiting("mail", p1_operator)
    theirs = client.waiting("mail", p2_operator)

    assert [w["id"] for w in client.waits(p1_reader)] == [mine]
    assert [w["id"] for w in client.waits(p2_operator)] == [theirs]
    assert {w["id"] for w in client.waits(root)} == {mine, theirs}
    assert client.listing(p2_operator, marker=mine).status_code == 404
    refused = client.bulk({"op": "cancel", "ids": [mine]}, p1_reader)
    assert refused.status_code == 403 and "needs the role operator" in refused.json["faultstring"]

    document = client.bulk({"op": "complete", "ids": [mine, theirs]}, p2_operator).json
    assert document["matched"] == 1
    assert statuses(document) == {
        mine: (404, f"ActionExecution not found [id={mine}]"),
        theirs: (200, None),
    }
    every = client.bulk({"op": "cancel", "filter": {}}, p2_operator).json
    assert every["matched"] == 0  # its own is done; the other project's it does not see
    done = client.bulk({"op": "complete", "filter": {"workflow_name": "mail"}}, p1_operator).json
    assert statuses(done) == {mine: (200, None)}
    client.headers = root
    assert [e["by"] for e in client.history(mine)] == ["ops-1"]
    assert [e["by"] for e in client.history(theirs)] == ["ops-2"]


def test_waits_are_acted_on_in_batches_and_a_refusal_costs_no_other(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(waits_service, "BATCH", 2)
    made = [client.waiting(workflow) for workflow in ("mail", "checked", "mail", "mail", "copy")]
    done = made[2]
    client.ok({"op": "complete", "ids": [done]})

    document = client.ok({"op": "complete", "ids": made, "output": {"size": 1}})

    results = statuses(document)
    assert [results[i][0] for i in made] == [200, 422, 409, 200, 200]  # the third had {}
    assert [client.state(i) for i in made] == ["SUCCESS", "RUNNING", "SUCCESS", "SUCCESS", "SUCCESS"]
    assert [e["outcome"] for e in client.history(made[0])] == ["accepted"]
    assert [e["outcome"] for e in client.history(made[1])] == ["rejected"]
    assert [e["outcome"] for e in client.history(done)] == ["accepted", "rejected"]  # another output
