"""Projects through HTTP, with authentication on: what a project creates is invisible to the others
(404) unless it is a public definition, which they may read and use but not change; admins of the
default project see everything; executions, sub-workflows and cron-started executions land in the
right project; names are per project.

The keys are a test authenticator handed to ``create_app`` (the real ones are the ``keys`` branch's).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import falcon.testing
import pytest

from mistral_core.api.context import ApiOptions
from mistral_core.api.routes import endpoints
from mistral_core.auth.identity import DEFAULT_PROJECT, Identity, Role
from tests.api.support import WF_ASYNC, WF_PARENT, WF_SEQ, Api, assert_fault

WF_PUB = """---
version: '2.0'
wf_pub:
  output:
    who: p1
  tasks:
    t:
      action: std.echo output="p1"
"""

GREET = """---
version: '2.0'
greet:
  base: std.echo
  base-input:
    output: "p1 says hi"
"""

WORKBOOK = """---
version: '2.0'
name: wb
workflows:
  inner:
    tasks:
      t:
        action: std.noop
"""

# A workflow that runs the ad-hoc action "greet" and the workflow "wf_async" by name.
USES_NAMES = """---
version: '2.0'
uses_names:
  output:
    said: <% $.said %>
  tasks:
    say:
      action: greet
      publish:
        said: <% task().result %>
"""


class Keys:
    """The test's authenticator: a secret per identity."""

    def __init__(self) -> None:
        self._identities: dict[str, Identity] = {}

    def add(self, name: str, role: Role, project: str) -> str:
        secret = f"mck_test_{name}"
        self._identities[secret] = Identity(name=name, role=role, project=project)
        return secret

    def authenticate(self, secret: str) -> Identity | None:
        return self._identities.get(secret)


@dataclasses.dataclass
class Caller:
    """Requests made with one key."""

    api: Api
    secret: str

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"X-Auth-Token": self.secret, **(extra or {})}

    def get(self, path: str, **params: str) -> falcon.testing.Result:
        return self.api.client.simulate_get(path, params=params or None, headers=self._headers())

    def delete(self, path: str) -> falcon.testing.Result:
        return self.api.client.simulate_delete(path, headers=self._headers())

    def send(self, method: str, path: str, body: Any = None) -> falcon.testing.Result:
        if isinstance(body, str):
            headers = self._headers({"Content-Type": "text/plain"})
            return self.api.client.simulate_request(method, path, body=body, headers=headers)
        headers = self._headers({"Content-Type": "application/json"})
        text = None if body is None else json.dumps(body)
        return self.api.client.simulate_request(method, path, body=text, headers=headers)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        result = self.send(method, path, body)
        assert result.status_code == status, result.text
        return result.json

    def upload(self, text: str, path: str = "/v2/workflows", scope: str = "private") -> Any:
        return self.ok("POST", f"{path}?scope={scope}", text, 201)

    def start(self, workflow: str, **body: Any) -> dict[str, Any]:
        wf_ex: dict[str, Any] = self.ok("POST", "/v2/executions", {"workflow_name": workflow, **body}, 201)
        return wf_ex

    def listed(self, collection: str, **params: str) -> list[dict[str, Any]]:
        result = self.get(f"/v2/{collection}", **params)
        assert result.status_code == 200, result.text
        items: list[dict[str, Any]] = result.json[collection]
        return items


@dataclasses.dataclass
class World:
    """An API with authentication on, and a key per role and project."""

    api: Api
    p1: Caller  # admin of project p1
    p1_reader: Caller
    p2: Caller  # admin of project p2
    p3: Caller  # admin of project p3
    root: Caller  # admin of the default project: sees every project


@pytest.fixture
def world() -> World:
    keys = Keys()
    api = Api(
        authenticators=lambda store: [keys],
        dynamic_code_max_bytes=65_536,
        options=ApiOptions(allow_action_execution_deletion=True),
    )

    def caller(name: str, role: Role, project: str) -> Caller:
        return Caller(api, keys.add(name, role, project))

    return World(
        api,
        p1=caller("p1-admin", Role.ADMIN, "p1"),
        p1_reader=caller("p1-reader", Role.READER, "p1"),
        p2=caller("p2-admin", Role.ADMIN, "p2"),
        p3=caller("p3-admin", Role.ADMIN, "p3"),
        root=caller("root", Role.ADMIN, DEFAULT_PROJECT),
    )


@dataclasses.dataclass
class Made:
    """One record of every kind made by project p1 (private), by the ids the routes take."""

    workflow: str
    execution: str
    task: str
    action_execution: str
    event_trigger: str = "no-such-id"


def make_everything(caller: Caller) -> Made:
    """Workflow (shared with p3, pending), execution (running: its async action waits), task,
    action execution, ad-hoc actions (one in a namespace), workbook, environment, cron trigger, an
    action run alone."""
    (wf,) = caller.upload(WF_ASYNC)["workflows"]
    caller.ok("POST", f"/v2/workflows/{wf['id']}/members", {"member_id": "p3"}, 201)
    caller.upload(GREET, "/v2/actions")
    caller.ok("POST", "/v2/actions?namespace=ns1", GREET.replace("greet:", "greet2:"), 201)
    caller.upload(WORKBOOK, "/v2/workbooks")
    caller.ok("POST", "/v2/environments", {"name": "env1", "variables": {"k": "v"}}, 201)
    caller.ok(
        "POST",
        "/v2/code_sources?name=mod",
        "class Dyn:\n    def run(self, context):\n        return 1\n",
        201,
    )
    caller.ok(
        "POST", "/v2/dynamic_actions", {"name": "dyn", "class_name": "Dyn", "code_source_name": "mod"}, 201
    )
    cron = {"name": "trig", "workflow_name": "wf_async", "pattern": "0 0 1 1 *"}
    caller.ok("POST", "/v2/cron_triggers", cron, 201)
    caller.ok(
        "POST",
        "/v2/action_executions",
        {"name": "std.echo", "input": {"output": 1}, "params": {"save_result": True}},
        201,
    )
    wf_ex = caller.start("wf_async")
    (task,) = caller.listed("tasks", workflow_execution_id=wf_ex["id"])
    (action_ex,) = caller.get(f"/v2/tasks/{task['id']}/action_executions").json["action_executions"]
    assert action_ex["state"] == "RUNNING"
    event = {"exchange": "ex", "topic": "notifications", "event": "e.happened", "workflow_id": wf["id"]}
    trigger = caller.ok("POST", "/v2/event_triggers", event, 201)
    return Made(wf["id"], wf_ex["id"], task["id"], action_ex["id"], trigger["id"])


def item_requests(made: Made) -> dict[tuple[str, str], tuple[str, Any]]:
    """For every route with a parameter: the path to one of ``made``'s records, and a valid body."""
    ex, task, action = made.execution, made.task, made.action_execution
    push = {"state": "SUCCESS", "output": "x"}
    return {
        ("/v2/workflows/{identifier}", "GET"): (f"/v2/workflows/{made.workflow}", None),
        ("/v2/workflows/{identifier}", "PUT"): (f"/v2/workflows/{made.workflow}", WF_ASYNC),
        ("/v2/workflows/{identifier}", "DELETE"): ("/v2/workflows/wf_async", None),
        ("/v2/workflows/{identifier}/members", "GET"): (f"/v2/workflows/{made.workflow}/members", None),
        ("/v2/workflows/{identifier}/members", "POST"): (
            f"/v2/workflows/{made.workflow}/members",
            {"member_id": "p4"},
        ),
        ("/v2/workflows/{identifier}/members/{member_id}", "GET"): (
            f"/v2/workflows/{made.workflow}/members/p3",
            None,
        ),
        ("/v2/workflows/{identifier}/members/{member_id}", "PUT"): (
            f"/v2/workflows/{made.workflow}/members/p3",
            {"status": "accepted"},
        ),
        ("/v2/workflows/{identifier}/members/{member_id}", "DELETE"): (
            f"/v2/workflows/{made.workflow}/members/p3",
            None,
        ),
        ("/v2/executions/{ex_id}", "GET"): (f"/v2/executions/{ex}", None),
        ("/v2/executions/{ex_id}", "PUT"): (f"/v2/executions/{ex}", {"state": "PAUSED"}),
        ("/v2/executions/{ex_id}", "DELETE"): (f"/v2/executions/{ex}?force=true", None),
        ("/v2/executions/{ex_id}/tasks", "GET"): (f"/v2/executions/{ex}/tasks", None),
        ("/v2/executions/{ex_id}/executions", "GET"): (f"/v2/executions/{ex}/executions", None),
        ("/v2/executions/{ex_id}/report", "GET"): (f"/v2/executions/{ex}/report", None),
        ("/v2/tasks/{task_id}", "GET"): (f"/v2/tasks/{task}", None),
        ("/v2/tasks/{task_id}", "PUT"): (f"/v2/tasks/{task}", {"state": "SKIPPED"}),
        ("/v2/tasks/{task_id}/action_executions", "GET"): (f"/v2/tasks/{task}/action_executions", None),
        ("/v2/tasks/{task_id}/action_executions/{action_ex_id}", "GET"): (
            f"/v2/tasks/{task}/action_executions/{action}",
            None,
        ),
        ("/v2/tasks/{task_id}/workflow_executions", "GET"): (f"/v2/tasks/{task}/workflow_executions", None),
        ("/v2/tasks/{task_id}/executions", "GET"): (f"/v2/tasks/{task}/executions", None),
        ("/v2/action_executions/{action_ex_id}", "GET"): (f"/v2/action_executions/{action}", None),
        ("/v2/action_executions/{action_ex_id}", "PUT"): (f"/v2/action_executions/{action}", push),
        ("/v2/action_executions/{action_ex_id}", "POST"): (f"/v2/action_executions/{action}", push),
        ("/v2/action_executions/{action_ex_id}", "DELETE"): (f"/v2/action_executions/{action}", None),
        ("/v2/action-executions/{action_ex_id}", "DELETE"): (f"/v2/action-executions/{action}", None),
        ("/v2/action-executions/{action_ex_id}", "GET"): (f"/v2/action-executions/{action}", None),
        ("/v2/action-executions/{action_ex_id}", "PUT"): (f"/v2/action-executions/{action}", push),
        ("/v2/action-executions/{action_ex_id}", "POST"): (f"/v2/action-executions/{action}", push),
        ("/v2/action_executions/{action_ex_id}/heartbeat", "POST"): (
            f"/v2/action_executions/{action}/heartbeat",
            {},
        ),
        ("/v2/action_executions/{action_ex_id}/history", "GET"): (
            f"/v2/action_executions/{action}/history",
            None,
        ),
        ("/v2/action_executions/{action_ex_id}/token", "DELETE"): (
            f"/v2/action_executions/{action}/token",
            None,
        ),
        ("/v2/action-executions/{action_ex_id}/heartbeat", "POST"): (
            f"/v2/action-executions/{action}/heartbeat",
            {},
        ),
        ("/v2/actions/{name}", "GET"): ("/v2/actions/greet", None),
        ("/v2/actions/{name}", "PUT"): ("/v2/actions/greet", GREET),
        ("/v2/actions/{name}", "DELETE"): ("/v2/actions/greet", None),
        ("/v2/actions/{name}/{namespace}", "GET"): ("/v2/actions/greet2/ns1", None),
        ("/v2/actions/{name}/{namespace}", "DELETE"): ("/v2/actions/greet2/ns1", None),
        ("/v2/workbooks/{name}", "GET"): ("/v2/workbooks/wb", None),
        ("/v2/workbooks/{name}", "DELETE"): ("/v2/workbooks/wb", None),
        ("/v2/cron_triggers/{identifier}", "GET"): ("/v2/cron_triggers/trig", None),
        ("/v2/cron_triggers/{identifier}", "DELETE"): ("/v2/cron_triggers/trig", None),
        ("/v2/event_triggers/{trigger_id}", "GET"): (f"/v2/event_triggers/{made.event_trigger}", None),
        ("/v2/event_triggers/{trigger_id}", "PUT"): (
            f"/v2/event_triggers/{made.event_trigger}",
            {"name": "n"},
        ),
        ("/v2/event_triggers/{trigger_id}", "DELETE"): (f"/v2/event_triggers/{made.event_trigger}", None),
        ("/v2/environments/{name}", "GET"): ("/v2/environments/env1", None),
        ("/v2/environments/{name}", "DELETE"): ("/v2/environments/env1", None),
        ("/v2/code_sources/{identifier}", "GET"): ("/v2/code_sources/mod", None),
        ("/v2/code_sources/{identifier}", "DELETE"): ("/v2/code_sources/mod", None),
        ("/v2/dynamic_actions/{identifier}", "GET"): ("/v2/dynamic_actions/dyn", None),
        ("/v2/dynamic_actions/{identifier}", "DELETE"): ("/v2/dynamic_actions/dyn", None),
    }


# -- another project's records: 404 ------------------------------------------------------------------
def test_the_walk_names_every_route_that_takes_a_record() -> None:
    made = Made("w", "e", "t", "a")
    # Every route of /v2 with a parameter takes a record (the token endpoint's realm is not one).
    with_parameters = {
        (path, method) for path, method, _ in endpoints() if "{" in path and path.startswith("/v2/")
    }
    assert with_parameters == set(item_requests(made)), "name the new route in item_requests()"


def test_every_route_to_another_projects_record_is_404_and_changes_nothing(world: World) -> None:
    made = make_everything(world.p1)
    before = world.api.snapshot()
    unknown = Made("no-such-id", "no-such-id", "no-such-id", "no-such-id")

    for key, (path, body) in item_requests(made).items():
        theirs = world.p2.send(key[1], path, body)
        assert theirs.status_code == 404, (key, theirs.text)
        # Mistral's message, the one an unknown id gets (names differ only by the record's id).
        unknown_path, _ = item_requests(unknown)[key]
        if unknown_path != path:
            expected = world.p2.send(key[1], unknown_path, body).json["faultstring"]
            assert theirs.json["faultstring"] == expected.replace("no-such-id", path_id(path)), key

    assert world.api.snapshot() == before


def path_id(path: str) -> str:
    return path.split("?")[0].split("/")[3]


def test_lists_show_only_the_callers_project(world: World) -> None:
    make_everything(world.p1)

    for collection in (
        "workflows",
        "executions",
        "tasks",
        "action_executions",
        "workbooks",
        "cron_triggers",
        "event_triggers",
        "environments",
    ):
        assert world.p2.listed(collection) == [], collection
        assert world.p1_reader.listed(collection), collection
        assert {item.get("project_id", "p1") for item in world.p1.listed(collection)} == {"p1"}
    assert [a["name"] for a in world.p2.listed("actions", is_system="false")] == []
    assert {a["name"] for a in world.p1.listed("actions", is_system="false")} == {"greet", "greet2", "dyn"}
    assert world.p2.listed("actions", name="std.echo"), "system actions are everyone's"
    for collection in ("code_sources", "dynamic_actions"):  # admins only: p1_reader cannot list them
        assert world.p2.listed(collection) == [], collection
        assert {item["project_id"] for item in world.p1.listed(collection)} == {"p1"}
    # A filter on another project's id narrows what the caller sees: nothing.
    assert world.p2.listed("executions", project_id="p1") == []


def test_records_carry_their_creators_project(world: World) -> None:
    made = make_everything(world.p1)

    wf_ex = world.p1.get(f"/v2/executions/{made.execution}").json
    task = world.p1.get(f"/v2/tasks/{made.task}").json
    action_ex = world.p1.get(f"/v2/action_executions/{made.action_execution}").json
    assert (wf_ex["project_id"], task["project_id"], action_ex["project_id"]) == ("p1", "p1", "p1")
    for collection in ("workflows", "workbooks", "cron_triggers", "environments", "action_executions"):
        assert {item["project_id"] for item in world.p1.listed(collection)} == {"p1"}, collection
    assert {a["project_id"] for a in world.p1.listed("actions", is_system="false")} == {"p1"}


def test_a_reader_of_the_project_reads_it(world: World) -> None:
    made = make_everything(world.p1)

    assert world.p1_reader.get(f"/v2/executions/{made.execution}").status_code == 200
    assert world.p1_reader.get("/v2/environments/env1").json["variables"] == json.dumps({"k": "v"})


def test_a_push_to_another_projects_action_is_404_then_the_owner_completes_it(world: World) -> None:
    made = make_everything(world.p1)

    refused = world.p2.send("PUT", f"/v2/action_executions/{made.action_execution}", {"state": "SUCCESS"})
    assert_fault(refused, 404, f"ActionExecution not found [id={made.action_execution}]")
    world.p1.ok("PUT", f"/v2/action_executions/{made.action_execution}", {"state": "SUCCESS", "output": 5})
    assert world.p1.get(f"/v2/executions/{made.execution}").json["state"] == "SUCCESS"


def test_an_execution_id_of_another_project_cannot_be_reused(world: World) -> None:
    made = make_everything(world.p1)
    world.p2.upload(WF_SEQ)

    again = world.p2.send("POST", "/v2/executions", {"workflow_name": "wf_seq", "id": made.execution})
    assert_fault(again, 409, made.execution)
    assert world.p1.start("wf_async", id=made.execution)["id"] == made.execution  # its own: the first


# -- public definitions -------------------------------------------------------------------------
def test_a_public_workflow_is_visible_and_runnable_elsewhere_but_not_deletable(world: World) -> None:
    (wf,) = world.p1.upload(WF_PUB, scope="public")["workflows"]

    assert [w["name"] for w in world.p2.listed("workflows")] == ["wf_pub"]
    assert world.p2.get("/v2/workflows/wf_pub").json["id"] == wf["id"]
    wf_ex = world.p2.start("wf_pub")
    assert (wf_ex["project_id"], wf_ex["workflow_id"]) == ("p2", wf["id"])
    assert world.p2.get(f"/v2/executions/{wf_ex['id']}").json["state"] == "SUCCESS"
    assert world.p1.get(f"/v2/executions/{wf_ex['id']}").status_code == 404  # p2's execution

    refused = world.p2.delete("/v2/workflows/wf_pub")
    assert_fault(
        refused, 403, f"Can not access WorkflowDefinition resource of other projects, ID: {wf['id']}"
    )
    assert world.p1.get("/v2/workflows/wf_pub").status_code == 200


def test_other_projects_public_definitions_cannot_be_changed(world: World) -> None:
    world.p1.upload(GREET, "/v2/actions", scope="public")
    world.p1.upload(WORKBOOK, "/v2/workbooks", scope="public")
    world.p1.ok("POST", "/v2/environments", {"name": "shared", "variables": {}, "scope": "public"}, 201)

    for method, path, body in (
        ("DELETE", "/v2/actions/greet", None),
        ("PUT", "/v2/actions/greet", GREET),
        ("DELETE", "/v2/workbooks/wb", None),
        ("DELETE", "/v2/environments/shared", None),
        ("PUT", "/v2/environments", {"name": "shared", "description": "mine now"}),
    ):
        assert_fault(world.p2.send(method, path, body), 403, "Can not access", "resource of other projects")
    assert world.p2.get("/v2/environments/shared").json["description"] == ""
    assert world.p2.get("/v2/workbooks/wb").status_code == 200
    assert world.p2.get("/v2/workflows/wb.inner").status_code == 200  # a public workbook's workflows are


def test_a_public_environment_is_usable_elsewhere_a_private_one_is_not(world: World) -> None:
    world.p1.ok("POST", "/v2/environments", {"name": "shared", "variables": {"v": 1}, "scope": "public"}, 201)
    world.p1.ok("POST", "/v2/environments", {"name": "mine", "variables": {"v": 2}}, 201)
    world.p2.upload(WF_SEQ)

    wf_ex = world.p2.start("wf_seq", params={"env": "shared"})
    assert json.loads(world.p2.get(f"/v2/executions/{wf_ex['id']}").json["params"])["env"] == {"v": 1}
    refused = world.p2.send("POST", "/v2/executions", {"workflow_name": "wf_seq", "params": {"env": "mine"}})
    assert_fault(refused, 400, "Environment not found [name=mine]")


def test_a_public_workflow_cannot_become_private_while_another_project_triggers_it(world: World) -> None:
    world.p1.upload(WF_PUB, scope="public")
    world.p2.ok(
        "POST", "/v2/cron_triggers", {"name": "t", "workflow_name": "wf_pub", "pattern": "0 0 1 1 *"}, 201
    )

    refused = world.p1.send("PUT", "/v2/workflows?scope=private", WF_PUB)
    assert_fault(refused, 403, "Can not update scope of workflow that has cron triggers")
    world.p1.ok("PUT", "/v2/workflows?scope=public", WF_PUB)


def test_a_public_workflow_cannot_become_private_while_another_projects_event_trigger_starts_it(
    world: World,
) -> None:
    (wf,) = world.p1.upload(WF_PUB, scope="public")["workflows"]
    event = {"exchange": "nova", "topic": "notifications", "event": "e", "workflow_id": wf["id"]}
    trigger = world.p2.ok("POST", "/v2/event_triggers", event, 201)

    refused = world.p1.send("PUT", "/v2/workflows?scope=private", WF_PUB)
    assert_fault(refused, 403, "Can not update scope of workflow that has event triggers")
    assert_fault(
        world.p1.delete(f"/v2/workflows/{wf['id']}"), 409, "used by event trigger(s) 1 of other projects"
    )
    assert world.p2.delete(f"/v2/event_triggers/{trigger['id']}").status_code == 204
    world.p1.ok("PUT", "/v2/workflows?scope=private", WF_PUB)


# -- names per project ---------------------------------------------------------------------------
def test_two_projects_have_their_own_definitions_of_one_name(world: World) -> None:
    for caller, who in ((world.p1, "p1"), (world.p2, "p2")):
        caller.upload(GREET.replace("p1 says hi", f"{who} says hi"), "/v2/actions")
        caller.upload(USES_NAMES)
        caller.upload(WORKBOOK, "/v2/workbooks")
        caller.ok("POST", "/v2/environments", {"name": "env", "variables": {"who": who}}, 201)
        caller.ok(
            "POST",
            "/v2/cron_triggers",
            {"name": "t", "workflow_name": "uses_names", "pattern": "0 0 1 1 *"},
            201,
        )

    for caller, who in ((world.p1, "p1"), (world.p2, "p2")):
        wf_ex = caller.start("uses_names", params={"env": "env"})
        done = caller.get(f"/v2/executions/{wf_ex['id']}").json
        assert json.loads(done["output"]) == {"said": f"{who} says hi"}, done
        assert json.loads(done["params"])["env"] == {"who": who}
        assert caller.get("/v2/workflows/uses_names").json["project_id"] == who
        assert caller.get("/v2/cron_triggers/t").json["project_id"] == who
    assert len(world.root.listed("workflows", name="uses_names")) == 2


def test_a_name_means_the_callers_own_workflow_before_a_public_one(world: World) -> None:
    world.p1.upload(WF_PUB, scope="public")
    world.p2.upload(WF_PUB.replace("who: p1", "who: p2"))

    mine = world.p2.start("wf_pub")
    public = world.p3.start("wf_pub")

    assert json.loads(world.p2.get(f"/v2/executions/{mine['id']}").json["output"]) == {"who": "p2"}
    assert json.loads(world.p3.get(f"/v2/executions/{public['id']}").json["output"]) == {"who": "p1"}


def test_another_projects_private_ad_hoc_action_is_unknown(world: World) -> None:
    world.p1.upload(GREET, "/v2/actions")
    world.p2.upload(USES_NAMES)

    wf_ex = world.p2.start("uses_names")

    failed = world.p2.get(f"/v2/executions/{wf_ex['id']}").json
    assert failed["state"] == "ERROR" and "greet" in failed["state_info"], failed
    refused = world.p2.send("POST", "/v2/action_executions", {"name": "greet"})
    assert refused.status_code == 400 and "greet" in refused.json["faultstring"], refused.text


def test_a_public_ad_hoc_action_runs_for_another_project(world: World) -> None:
    world.p1.upload(GREET, "/v2/actions", scope="public")
    world.p2.upload(USES_NAMES)

    wf_ex = world.p2.start("uses_names")
    run = world.p2.ok("POST", "/v2/action_executions", {"name": "greet"}, 201)

    assert json.loads(world.p2.get(f"/v2/executions/{wf_ex['id']}").json["output"]) == {"said": "p1 says hi"}
    assert (json.loads(run["output"]), run["project_id"]) == ({"result": "p1 says hi"}, "p2")


# -- sub-workflows and cron triggers ------------------------------------------------------------
def test_sub_workflows_land_in_the_parents_project(world: World) -> None:
    world.p1.upload(WF_PARENT, scope="public")
    world.p1.upload(WF_ASYNC, scope="public")

    parent = world.p2.start("wf_parent")

    (child,) = world.p2.get(f"/v2/executions/{parent['id']}/executions").json["executions"][1:]
    assert (child["project_id"], child["root_execution_id"]) == ("p2", parent["id"])
    (action_ex,) = world.p2.listed("action_executions", workflow_name="wf_async")
    assert action_ex["project_id"] == "p2"
    assert world.p1.listed("executions") == [] and world.p1.listed("action_executions") == []
    world.p2.ok("PUT", f"/v2/action_executions/{action_ex['id']}", {"state": "SUCCESS", "output": 7})
    assert world.p2.get(f"/v2/executions/{parent['id']}").json["state"] == "SUCCESS"


def test_a_sub_workflow_is_the_parents_projects_own_before_a_public_one(world: World) -> None:
    world.p1.upload(WF_PARENT, scope="public")
    world.p1.upload(WF_ASYNC, scope="public")
    (own,) = world.p2.upload(WF_ASYNC)["workflows"]

    parent = world.p2.start("wf_parent")

    (child,) = world.p2.get(f"/v2/executions/{parent['id']}/executions").json["executions"][1:]
    assert child["workflow_id"] == own["id"]


def test_a_sub_workflow_of_another_projects_private_workflow_fails(world: World) -> None:
    world.p1.upload(WF_PARENT, scope="public")
    world.p1.upload(WF_ASYNC)  # private: p2's execution of wf_parent does not see it

    parent = world.p2.start("wf_parent")

    failed = world.p2.get(f"/v2/executions/{parent['id']}").json
    assert failed["state"] == "ERROR", failed
    assert "Failed to start sub-workflow 'wf_async'" in failed["state_info"]


def test_cron_started_executions_land_in_the_triggers_project(world: World) -> None:
    world.p1.upload(WF_PUB, scope="public")
    body = {"name": "nightly", "workflow_name": "wf_pub", "first_execution_time": "2026-11-29 12:00"}
    world.p2.ok("POST", "/v2/cron_triggers", body, 201)
    api = world.api

    due = dt.datetime(2026, 11, 29, 12, 0, 1)
    api.engine.timers.fire_timers(api.store.claim_due_timers(due, "test", due + dt.timedelta(minutes=1), 10))

    (wf_ex,) = world.p2.listed("executions")
    assert (wf_ex["project_id"], wf_ex["workflow_name"], wf_ex["state"]) == ("p2", "wf_pub", "SUCCESS")
    assert world.p1.listed("executions") == []


def test_another_projects_trigger_cannot_be_deleted(world: World) -> None:
    world.p1.upload(WF_SEQ)
    world.p1.ok(
        "POST", "/v2/cron_triggers", {"name": "t", "workflow_name": "wf_seq", "pattern": "0 0 1 1 *"}, 201
    )

    assert_fault(world.p2.delete("/v2/cron_triggers/t"), 404, "CronTrigger not found [identifier=t]")
    # A cron trigger of another project's private workflow cannot be made.
    refused = world.p2.send(
        "POST", "/v2/cron_triggers", {"name": "u", "workflow_name": "wf_seq", "pattern": "* * * * *"}
    )
    assert_fault(refused, 404, "Workflow not found [workflow_identifier=wf_seq")


# -- the admin of the default project ------------------------------------------------------------
def test_the_admin_of_the_default_project_sees_and_manages_every_project(world: World) -> None:
    made = make_everything(world.p1)
    world.p2.upload(WF_SEQ)

    assert {w["project_id"] for w in world.root.listed("workflows")} == {"p1", "p2"}
    assert world.root.listed("executions", all_projects="true")
    for key, (path, _) in item_requests(made).items():
        if key[1] == "GET":
            assert world.root.get(path).status_code == 200, key
    world.root.ok("PUT", f"/v2/action_executions/{made.action_execution}", {"state": "SUCCESS"})
    assert world.root.delete("/v2/environments/env1").status_code == 204
    assert world.root.delete("/v2/cron_triggers/trig").status_code == 204
    assert world.root.delete(f"/v2/event_triggers/{made.event_trigger}").status_code == 204
    assert world.root.delete(f"/v2/workflows/{made.workflow}").status_code == 204
    # It may run another project's private workflow; what it creates is the default project's.
    assert world.root.start("wf_seq")["project_id"] == DEFAULT_PROJECT


def test_all_projects_is_for_the_admin_of_the_default_project_only(world: World) -> None:
    for collection in ("workflows", "executions", "cron_triggers"):
        assert_fault(world.p1.get(f"/v2/{collection}", all_projects="true"), 403, "all_projects")
        assert world.p1.get(f"/v2/{collection}", all_projects="false").status_code == 200
        assert world.root.get(f"/v2/{collection}", all_projects="true").status_code == 200
    assert_fault(
        world.p1.get("/v2/environments", all_projects="true"), 400, 'Unknown argument: "all_projects"'
    )


def test_failed_notifications_are_their_execution_s_project_s(world: World) -> None:
    world.p1.upload(WF_ASYNC)
    down = {"type": "refusing", "to": "http://down.example/hook", "event_types": ["WORKFLOW_LAUNCHED"]}
    ex = world.p1.start("wf_async", params={"notify": [down]})

    (row,) = world.p1_reader.listed("notifications")
    assert (row["workflow_execution_id"], row["project_id"]) == (ex["id"], "p1")
    assert world.p2.listed("notifications") == []
    assert world.p2.listed("notifications", workflow_execution_id=ex["id"]) == []
    assert [n["id"] for n in world.root.listed("notifications")] == [row["id"]]


def test_event_triggers_are_read_by_readers_and_changed_by_operators_of_their_project() -> None:
    keys = Keys()
    api = Api(authenticators=lambda store: [keys])
    admin = Caller(api, keys.add("admin", Role.ADMIN, "p1"))
    operator = Caller(api, keys.add("operator", Role.OPERATOR, "p1"))
    reader = Caller(api, keys.add("reader", Role.READER, "p1"))
    (wf,) = admin.upload(WF_ASYNC)["workflows"]
    event = {"exchange": "nova", "topic": "notifications", "event": "e", "workflow_id": wf["id"]}

    assert_fault(reader.send("POST", "/v2/event_triggers", event), 403)
    trigger = operator.ok("POST", "/v2/event_triggers", event, 201)
    path = f"/v2/event_triggers/{trigger['id']}"
    assert reader.get(path).json == trigger and reader.listed("event_triggers") == [trigger]
    assert_fault(reader.send("PUT", path, {"name": "x"}), 403)
    assert_fault(reader.delete(path), 403)
    assert operator.ok("PUT", path, {"name": "x"})["name"] == "x"
    assert operator.delete(path).status_code == 204
