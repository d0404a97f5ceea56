"""Projects through a real ``mistral-core serve --auth keys`` (SQLite and PostgreSQL), with keys made
by ``mistral-core keys create --project``: another project's records are 404, a public workflow is
visible and runnable elsewhere but not deletable, names are per project, sub-workflows run in the
parent's project, and the admin of the default project sees everything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import Api, ProcessGroup, create_key, key_login, mistral

pytestmark = pytest.mark.integration

WF = """---
version: '2.0'
wf:
  output:
    who: {who}
  tasks:
    t:
      action: std.noop
"""

WAITS = """---
version: '2.0'
waits:
  tasks:
    t:
      action: std.async_noop
"""

PARENT = """---
version: '2.0'
parent:
  output:
    child: <% $.child %>
  tasks:
    call:
      workflow: child
      publish:
        child: <% task().result %>
child:
  output:
    said: hi
  tasks:
    t:
      action: std.echo output="hi"
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'projects.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def upload(api: Api, text: str, scope: str = "private") -> list[dict[str, object]]:
    created = api.ok(
        "POST", f"/v2/workflows?scope={scope}", data=text.encode(), headers={"Content-Type": "text/plain"}
    )
    return list(created["workflows"])


def test_two_projects_on_one_server(processes: ProcessGroup, tmp_path: Path, database_url: str) -> None:
    keys = {
        name: create_key(database_url, name, "admin", tmp_path, project=project)
        for name, project in (("p1-admin", "p1"), ("p2-admin", "p2"), ("root", None))
    }
    server = processes.server(database_url=database_url, options=["--auth", "keys"])
    p1, p2, root = (server.api.as_(keys[name]) for name in ("p1-admin", "p2-admin", "root"))

    # p1's private records are 404 to p2, for reads and writes, and absent from its lists.
    upload(p1, WAITS)
    waiting = p1.start("waits")
    action_ex = p1.wait_running_action(waiting["id"], "t")
    assert waiting["project_id"] == "p1"
    for method, path, body in (
        ("GET", f"/v2/executions/{waiting['id']}", None),
        ("PUT", f"/v2/executions/{waiting['id']}", {"state": "CANCELLED"}),
        ("GET", f"/v2/action_executions/{action_ex['id']}", None),
        ("PUT", f"/v2/action_executions/{action_ex['id']}", {"state": "SUCCESS", "output": 1}),
        ("GET", "/v2/workflows/waits", None),
        ("DELETE", "/v2/workflows/waits", None),
    ):
        answer = p2.call(method, path, body)
        assert answer.status == 404, (method, path, str(answer))
    assert p2.get("/v2/executions")["executions"] == []
    assert p2.get("/v2/action_executions")["action_executions"] == []
    assert p1.push(action_ex["id"], {"state": "SUCCESS", "output": 1}).status == 200
    assert p1.wait_finished(waiting["id"])["state"] == "SUCCESS"

    # One name, one workflow per project: each runs its own.
    for api, who in ((p1, "p1"), (p2, "p2")):
        upload(api, WF.format(who=who))
    for api, who in ((p1, "p1"), (p2, "p2")):
        finished = api.wait_finished(api.start("wf")["id"])
        assert json.loads(finished["output"]) == {"who": who}

    # A public workflow (with its sub-workflow) runs for p2, in p2's project; p2 cannot delete it.
    (parent, _child) = upload(p1, PARENT, scope="public")
    started = p2.start("parent")
    assert started["project_id"] == "p2"
    assert p2.wait_finished(started["id"])["state"] == "SUCCESS"
    tree = p2.get(f"/v2/executions/{started['id']}/executions")["executions"]
    assert [(e["workflow_name"], e["project_id"]) for e in tree] == [("parent", "p2"), ("child", "p2")]
    refused = p2.call("DELETE", "/v2/workflows/parent")
    assert refused.status == 403, str(refused)
    assert refused.json()["faultstring"] == (
        f"Can not access WorkflowDefinition resource of other projects, ID: {parent['id']}"
    )

    # The admin of the default project sees every project.
    everyone = root.get("/v2/executions?all_projects=true")["executions"]
    assert {e["project_id"] for e in everyone} == {"p1", "p2"}
    assert root.get(f"/v2/executions/{waiting['id']}")["project_id"] == "p1"
    assert p1.call("GET", "/v2/executions?all_projects=true").status == 403


def test_the_mistral_cli_lists_its_projects_workflows_only(processes: ProcessGroup, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    secrets = {name: create_key(url, name, "admin", tmp_path, project=name) for name in ("alpha", "beta")}
    server = processes.server(database_url=url, options=["--auth", "keys"])
    upload(server.api.as_(secrets["alpha"]), WF.format(who="alpha"))
    upload(server.api.as_(secrets["beta"]), WAITS)

    for name, expected in (("alpha", ["wf"]), ("beta", ["waits"])):
        done = mistral(
            server.base_url,
            "workflow-list",
            "-f",
            "json",
            login=key_login(server.base_url, name, secrets[name]),
        )
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)
        assert [(row["Name"], row["Project ID"]) for row in rows] == [(w, name) for w in expected]
