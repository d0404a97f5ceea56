"""Sharing a workflow with another project through HTTP, with authentication on (keys of projects
p1, p2, p3 and an admin of the default project): Mistral 23's members API and rules — the owner
shares a private workflow, the member sees its pending membership but not the workflow, accepts
it and then lists, gets, starts it (by name and id, from a sub-workflow and a cron trigger too),
never changes it; strangers get 404 as for a workflow that does not exist; every refusal is a
one-line 4xx.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from mistral_core.api.resources.members import AUTH_OFF
from mistral_core.auth.identity import DEFAULT_PROJECT, Role
from tests.api.support import WF_SEQ, Api, assert_fault
from tests.api.test_openapi import _json_schema
from tests.api.test_projects import Caller, Keys

SHARED = """---
version: '2.0'
shared_wf:
  input:
    - who: someone
  output:
    greeting: <% $.greeting %>
  tasks:
    greet:
      action: std.echo output="hello <% $.who %>"
      publish:
        greeting: <% task().result %>
"""

# p2's own workflow that calls p1's shared one as a sub-workflow, by name.
CALLS_SHARED = """---
version: '2.0'
calls_shared:
  output:
    inner: <% $.inner %>
  tasks:
    call:
      workflow: shared_wf who="p2"
      publish:
        inner: <% task().result.greeting %>
"""


class Projects:
    """An API with authentication on, and callers of three projects and of the default one."""

    def __init__(self) -> None:
        keys = Keys()
        self.api = Api(authenticators=lambda store: [keys])

        def caller(name: str, role: Role, project: str) -> Caller:
            return Caller(self.api, keys.add(name, role, project))

        self.p1 = caller("p1-admin", Role.ADMIN, "p1")
        self.p1_reader = caller("p1-reader", Role.READER, "p1")
        self.p2 = caller("p2-admin", Role.ADMIN, "p2")
        self.p2_operator = caller("p2-operator", Role.OPERATOR, "p2")
        self.p3 = caller("p3-admin", Role.ADMIN, "p3")
        self.root = caller("root", Role.ADMIN, DEFAULT_PROJECT)


@pytest.fixture
def projects() -> Projects:
    return Projects()


def shared(projects: Projects, member: str = "p2") -> tuple[str, dict[str, Any]]:
    """p1's private workflow ``shared_wf``, shared with ``member`` (pending): its id, the membership."""
    (wf,) = projects.p1.upload(SHARED)["workflows"]
    made = projects.p1.ok("POST", f"/v2/workflows/{wf['id']}/members", {"member_id": member}, 201)
    return wf["id"], made


def members_path(wf_id: str, member: str | None = None) -> str:
    return f"/v2/workflows/{wf_id}/members" + (f"/{member}" if member else "")


def workflow_names(caller: Caller) -> list[str]:
    return [w["name"] for w in caller.listed("workflows")]


# -- the story -----------------------------------------------------------------------------------------
def test_a_shared_workflow_is_the_members_to_see_and_run_once_accepted(projects: Projects) -> None:
    p1, p2 = projects.p1, projects.p2
    wf_id, made = shared(projects)
    assert {k: made[k] for k in ("resource_id", "resource_type", "project_id", "member_id", "status")} == {
        "resource_id": wf_id,
        "resource_type": "workflow",
        "project_id": "p1",
        "member_id": "p2",
        "status": "pending",
    }

    # Pending: p2 sees its membership, not the workflow.
    assert p2.ok("GET", members_path(wf_id, "p2"))["status"] == "pending"
    assert [m["member_id"] for m in p2.ok("GET", members_path(wf_id))["members"]] == ["p2"]
    assert_fault(p2.get(f"/v2/workflows/{wf_id}"), 404, f"Workflow not found [workflow_identifier={wf_id}")
    assert "shared_wf" not in workflow_names(p2)
    assert_fault(p2.send("POST", "/v2/executions", {"workflow_id": wf_id}), 404, "Workflow not found")

    accepted = p2.ok("PUT", members_path(wf_id, "p2"), {"status": "accepted"})
    assert accepted["status"] == "accepted" and accepted["updated_at"]

    assert p2.ok("GET", f"/v2/workflows/{wf_id}")["project_id"] == "p1"
    assert workflow_names(p2) == ["shared_wf"]
    by_name = p2.start("shared_wf", input={"who": "p2"})
    by_id = projects.p2_operator.ok("POST", "/v2/executions", {"workflow_id": wf_id}, 201)
    for wf_ex in (by_name, by_id):
        done = p2.ok("GET", f"/v2/executions/{wf_ex['id']}")
        assert (done["state"], done["project_id"]) == ("SUCCESS", "p2")
    assert p2.ok("GET", f"/v2/executions/{by_name['id']}")["output"] == '{"greeting": "hello p2"}'
    assert p1.listed("executions") == [], "the member's executions are the member's"
    # The owner sees every member; the member only its own.
    p1.ok("POST", members_path(wf_id), {"member_id": "p3"}, 201)
    assert [m["member_id"] for m in p1.ok("GET", members_path(wf_id))["members"]] == ["p2", "p3"]
    assert [m["member_id"] for m in p2.ok("GET", members_path(wf_id))["members"]] == ["p2"]
    assert_fault(p2.get(members_path(wf_id, "p3")), 404, f"Resource member not found [resource_id={wf_id}")


def test_a_rejected_workflow_is_unseen_and_may_be_accepted_later(projects: Projects) -> None:
    wf_id, _ = shared(projects)
    projects.p2.ok("PUT", members_path(wf_id, "p2"), {"status": "accepted"})

    assert projects.p2.ok("PUT", members_path(wf_id, "p2"), {"status": "rejected"})["status"] == "rejected"
    assert workflow_names(projects.p2) == []
    assert_fault(projects.p2.get(f"/v2/workflows/{wf_id}"), 404, "Workflow not found")
    projects.p2.ok("PUT", members_path(wf_id, "p2"), {"status": "accepted"})
    assert workflow_names(projects.p2) == ["shared_wf"]


def test_the_member_uses_the_workflow_but_never_changes_it(projects: Projects) -> None:
    wf_id, _ = shared(projects)
    p2 = projects.p2
    p2.ok("PUT", members_path(wf_id, "p2"), {"status": "accepted"})

    refused = f"Can not access WorkflowDefinition resource of other projects, ID: {wf_id}"
    assert_fault(p2.delete(f"/v2/workflows/{wf_id}"), 403, refused)
    assert_fault(p2.send("POST", members_path(wf_id), {"member_id": "p3"}), 403, refused)
    # Its own workflow of that name comes first for a name; the shared one stays reachable by id.
    p2.upload(SHARED.replace("hello", "hi"))
    assert {w["project_id"] for w in p2.listed("workflows")} == {"p1", "p2"}
    assert p2.ok("GET", "/v2/workflows/shared_wf")["project_id"] == "p2"
    assert p2.ok("GET", f"/v2/workflows/{wf_id}")["project_id"] == "p1"


def test_sub_workflows_and_cron_triggers_of_the_member_use_the_shared_workflow(projects: Projects) -> None:
    wf_id, _ = shared(projects)
    p2 = projects.p2
    p2.ok("PUT", members_path(wf_id, "p2"), {"status": "accepted"})
    p2.upload(CALLS_SHARED)

    wf_ex = p2.start("calls_shared")
    assert p2.ok("GET", f"/v2/executions/{wf_ex['id']}")["output"] == '{"inner": "hello p2"}'
    cron = {"name": "nightly", "workflow_id": wf_id, "pattern": "0 0 * * *"}
    assert p2.ok("POST", "/v2/cron_triggers", cron, 201)["workflow_name"] == "shared_wf"
    # p1 may not delete a workflow another project's trigger starts (as in Mistral).
    assert_fault(projects.p1.delete(f"/v2/workflows/{wf_id}"), 409, "1 of other projects")


def test_deleting_the_workflow_ends_its_sharing(projects: Projects) -> None:
    wf_id, _ = shared(projects)
    projects.p2.ok("PUT", members_path(wf_id, "p2"), {"status": "accepted"})

    assert projects.p1.delete(f"/v2/workflows/{wf_id}").status_code == 204

    assert workflow_names(projects.p2) == []
    assert_fault(
        projects.p2.get(members_path(wf_id)), 404, f"Workflow not found [workflow_identifier={wf_id}"
    )
    assert projects.api.store.list_resource_members("workflow", wf_id) == []


def test_renaming_the_workflow_keeps_its_sharing(projects: Projects) -> None:
    """``PUT /v2/workflows/<id>`` with another name keeps the id (cron triggers still start it),
    and so its members: a rename is no unsharing."""
    wf_id, _ = shared(projects)
    projects.p2.ok("PUT", members_path(wf_id, "p2"), {"status": "accepted"})

    renamed = projects.p1.ok("PUT", f"/v2/workflows/{wf_id}", SHARED.replace("shared_wf:", "renamed_wf:"))

    assert (renamed["id"], renamed["name"]) == (wf_id, "renamed_wf")
    assert projects.p2.ok("GET", members_path(wf_id, "p2"))["status"] == "accepted"
    assert workflow_names(projects.p2) == ["renamed_wf"]
    assert projects.p2.ok("GET", f"/v2/workflows/{wf_id}")["name"] == "renamed_wf"


def test_removing_a_member_hides_the_workflow_from_it(projects: Projects) -> None:
    wf_id, _ = shared(projects)
    projects.p2.ok("PUT", members_path(wf_id, "p2"), {"status": "accepted"})

    assert projects.p1.delete(members_path(wf_id, "p2")).status_code == 204

    assert workflow_names(projects.p2) == []
    assert projects.p1.ok("GET", members_path(wf_id))["members"] == []
    assert_fault(projects.p1.delete(members_path(wf_id, "p2")), 404, "Resource member not found")


def test_the_admin_of_the_default_project_manages_every_projects_members(projects: Projects) -> None:
    wf_id, _ = shared(projects)

    assert [m["member_id"] for m in projects.root.ok("GET", members_path(wf_id))["members"]] == ["p2"]
    made = projects.root.ok("POST", members_path(wf_id), {"member_id": "p3"}, 201)
    assert made["project_id"] == "p1", "a membership is the workflow's project's"
    assert projects.root.delete(members_path(wf_id, "p3")).status_code == 204
    # It does not answer for a member.
    assert_fault(projects.root.send("PUT", members_path(wf_id, "p2"), {"status": "accepted"}), 403, "p2")


# -- who may do what ---------------------------------------------------------------------------------------
def test_strangers_get_404_as_for_a_workflow_that_does_not_exist(projects: Projects) -> None:
    wf_id, _ = shared(projects)
    before = projects.api.snapshot()
    missing = "Workflow not found [workflow_identifier={}, namespace=]"

    for method, path, body in (
        ("GET", members_path(wf_id), None),
        ("POST", members_path(wf_id), {"member_id": "p3"}),
        ("GET", members_path(wf_id, "p2"), None),
        ("GET", members_path(wf_id, "p3"), None),
        ("PUT", members_path(wf_id, "p3"), {"status": "accepted"}),
        ("DELETE", members_path(wf_id, "p2"), None),
    ):
        theirs = projects.p3.send(method, path, body)
        unknown = projects.p3.send(method, path.replace(wf_id, "no-such-id"), body)
        assert_fault(theirs, 404, missing.format(wf_id))
        assert_fault(unknown, 404, missing.format("no-such-id"))
    assert projects.api.snapshot() == before


def test_only_the_owner_shares_and_removes_and_only_the_member_answers(projects: Projects) -> None:
    wf_id, _ = shared(projects)

    assert_fault(
        projects.p1.send("PUT", members_path(wf_id, "p2"), {"status": "accepted"}),
        403,
        "Only project p2 may accept or reject its membership",
    )
    assert_fault(projects.p2.delete(members_path(wf_id, "p2")), 403, "a member rejects the workflow instead")
    assert_fault(
        projects.p2.send("PUT", members_path(wf_id, "p3"), {"status": "accepted"}),
        404,
        "Resource member not found",
    )
    assert_fault(
        projects.p1.send("PUT", members_path(wf_id, "p9"), {"status": "accepted"}), 404, "member_id=p9"
    )
    # Roles: reading members is a reader's; sharing and answering are an admin's.
    assert projects.p1_reader.ok("GET", members_path(wf_id))["members"]
    assert_fault(
        projects.p1_reader.send("POST", members_path(wf_id), {"member_id": "p3"}), 403, "needs the role admin"
    )
    assert_fault(
        projects.p2_operator.send("PUT", members_path(wf_id, "p2"), {"status": "accepted"}),
        403,
        "needs the role admin",
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "Member id must be provided."),
        ({"member_id": ""}, 400, "Member id must be provided."),
        ({"member_id": 7}, 400, "member_id must be a string, got"),
        ({"member_id": "p" * 256}, 400, "at most 255 printable characters"),
        ({"member_id": "p\u0000x"}, 400, ""),
        ({"member_id": " p2"}, 400, "printable characters"),
        ({"member_id": "p1"}, 400, "The workflow is project p1's own"),
        ({"member_id": "p2"}, 409, "is already shared with project p2"),
    ],
)
def test_a_bad_membership_is_refused_in_one_line(
    projects: Projects, body: dict[str, Any], status: int, message: str
) -> None:
    wf_id, _ = shared(projects)

    assert_fault(projects.p1.send("POST", members_path(wf_id), body), status, message)
    assert [m["member_id"] for m in projects.p1.ok("GET", members_path(wf_id))["members"]] == ["p2"]


def test_a_public_workflow_is_not_shared(projects: Projects) -> None:
    (wf,) = projects.p1.upload(WF_SEQ, scope="public")["workflows"]

    refused = projects.p1.send("POST", members_path(wf["id"]), {"member_id": "p2"})
    assert_fault(refused, 400, "Only private resource could be shared.")
    # Others see it, but its members are not theirs to change; they have none to see.
    assert projects.p2.ok("GET", members_path(wf["id"]))["members"] == []
    assert_fault(projects.p2.send("POST", members_path(wf["id"]), {"member_id": "p3"}), 403, "other projects")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Status must be provided."),
        ({"status": "ACCEPTED"}, "Invalid status 'ACCEPTED': choose from pending, accepted, rejected"),
        ({"status": ["accepted"]}, "Invalid status"),
        (["accepted"], "Request body must be a JSON object, not"),
    ],
)
def test_a_bad_answer_is_refused_and_changes_nothing(projects: Projects, body: Any, message: str) -> None:
    wf_id, _ = shared(projects)

    assert_fault(projects.p2.send("PUT", members_path(wf_id, "p2"), body), 400, message)
    assert projects.p2.ok("GET", members_path(wf_id, "p2"))["status"] == "pending"


def test_a_long_member_id_in_the_path_is_only_not_found(projects: Projects) -> None:
    wf_id, _ = shared(projects)

    assert_fault(projects.p1.get(members_path(wf_id, "x" * 5000)), 404, "Resource member not found")
    assert_fault(projects.p1.get(members_path("y" * 5000)), 404, "Workflow not found")


def test_sharing_needs_authentication_as_in_mistral(api: Api) -> None:
    (wf,) = api.client.simulate_post("/v2/workflows", body=SHARED, content_type="text/plain").json[
        "workflows"
    ]

    for method, path in (
        ("GET", members_path(wf["id"])),
        ("POST", members_path(wf["id"])),
        ("GET", members_path(wf["id"], "p2")),
        ("PUT", members_path(wf["id"], "p2")),
        ("DELETE", members_path(wf["id"], "p2")),
    ):
        answer = api.client.simulate_request(method, path, json={"member_id": "p2", "status": "accepted"})
        assert_fault(answer, 400, AUTH_OFF)


def test_the_answers_match_the_openapi_document(projects: Projects) -> None:
    document = projects.p1.ok("GET", "/v2/openapi.json")
    components = _json_schema(document["components"])

    def check(caller: Caller, method: str, template: str, path: str, body: Any, status: int) -> None:
        answer = caller.send(method, path, body)
        assert answer.status_code == status, answer.text
        declared = document["paths"][template][method.lower()]["responses"][str(status)]
        if "content" not in declared:
            assert not answer.content
            return
        schema = _json_schema(declared["content"]["application/json"]["schema"])
        jsonschema.Draft7Validator({**schema, "components": components}).validate(answer.json)

    (wf,) = projects.p1.upload(SHARED)["workflows"]
    collection, item = "/v2/workflows/{identifier}/members", "/v2/workflows/{identifier}/members/{member_id}"
    check(projects.p1, "POST", collection, members_path(wf["id"]), {"member_id": "p2"}, 201)
    check(projects.p1, "GET", collection, members_path(wf["id"]), None, 200)
    check(projects.p2, "GET", item, members_path(wf["id"], "p2"), None, 200)
    check(projects.p2, "PUT", item, members_path(wf["id"], "p2"), {"status": "accepted"}, 200)
    check(projects.p1, "DELETE", item, members_path(wf["id"], "p2"), None, 204)
