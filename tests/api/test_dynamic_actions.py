"""``/v2/code_sources`` and ``/v2/dynamic_actions`` through HTTP: off by default (404 saying so),
admins only when on; a class of an uploaded module runs as an action in a workflow, an update of
its module is run by the next execution, bad uploads are one-line 400s, and code that raises (at
import, ``SystemExit`` included) fails its action cleanly while the server goes on."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.auth.identity import Identity, Role
from tests.api.support import Api, assert_fault

HELLO = '''\
class Hello:
    """Says hello."""

    def __init__(self, name, punctuation="!"):
        self.name = name
        self.punctuation = punctuation

    def run(self, context):
        return f"Hello, {self.name}{self.punctuation}"
'''
GOODBYE = HELLO.replace("Hello, ", "Goodbye, ")

WF = """---
version: '2.0'
greets:
  input:
    - who
  output:
    said: <% $.said %>
  tasks:
    greet:
      action: hello name=<% $.who %>
      publish:
        said: <% task().result %>
"""


@pytest.fixture
def dyn() -> Api:
    return Api(dynamic_code_max_bytes=4096)


def upload(api: Api, name: str, text: str, method: str = "POST") -> Any:
    key = "name" if method == "POST" else "identifier"
    return api.client.simulate_request(
        method, "/v2/code_sources", body=text, content_type="text/plain", query_string=f"{key}={name}"
    )


def run_greets(api: Api, who: str = "Ada") -> dict[str, Any]:
    wf_ex = api.start("greets", {"who": who})
    return api.execution(wf_ex["id"])


def make_hello(api: Api) -> dict[str, Any]:
    source = upload(api, "greetings", HELLO)
    assert source.status_code == 201, source.text
    action = api.post_json(
        "/v2/dynamic_actions", {"name": "hello", "class_name": "Hello", "code_source_name": "greetings"}
    )
    assert action.status_code == 201, action.text
    body: dict[str, Any] = action.json
    return body


# -- off --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/code_sources"),
        ("POST", "/v2/code_sources?name=m"),
        ("PUT", "/v2/code_sources?identifier=m"),
        ("GET", "/v2/code_sources/m"),
        ("DELETE", "/v2/code_sources/m"),
        ("GET", "/v2/dynamic_actions"),
        ("POST", "/v2/dynamic_actions"),
        ("PUT", "/v2/dynamic_actions"),
        ("GET", "/v2/dynamic_actions/d"),
        ("DELETE", "/v2/dynamic_actions/d"),
    ],
)
def test_off_by_default_every_route_is_404_saying_why(api: Api, method: str, path: str) -> None:
    route, _, query = path.partition("?")
    answer = api.client.simulate_request(
        method, route, query_string=query, body="x = 1", content_type="text/plain"
    )

    assert_fault(answer, 404, "Dynamic actions are off on this server", "setting dynamic_actions")


def test_off_a_name_is_no_action_even_if_rows_exist(api: Api) -> None:
    api.create_workflow(WF)
    wf_ex = run_greets(api)

    assert wf_ex["state"] == "ERROR"
    assert "hello" in wf_ex["state_info"]


# -- admins only ---------------------------------------------------------------------------------------
class _Keys:
    def authenticate(self, secret: str) -> Identity | None:
        roles = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "reader": Role.READER}
        return Identity(name=secret, role=roles[secret]) if secret in roles else None


@pytest.mark.parametrize("role", ["reader", "operator"])
def test_on_only_admins_reach_them_reads_included(role: str) -> None:
    api = Api(authenticators=lambda store: [_Keys()], dynamic_code_max_bytes=4096)
    for path in ("/v2/code_sources", "/v2/dynamic_actions"):
        answer = api.get(path, headers={"X-Auth-Token": role})
        assert_fault(answer, 403, "needs the role admin")
    assert api.get("/v2/code_sources", headers={"X-Auth-Token": "admin"}).status_code == 200


# -- the life of a dynamic action ------------------------------------------------------------------
def test_a_dynamic_action_runs_in_a_workflow_and_an_update_is_run_next_time(dyn: Api) -> None:
    action = make_hello(dyn)
    assert set(action) == {
        "id",
        "name",
        "namespace",
        "code_source_id",
        "code_source_name",
        "class_name",
        "project_id",
        "scope",
        "created_at",
        "updated_at",
    }
    assert (action["name"], action["class_name"], action["code_source_name"]) == (
        "hello",
        "Hello",
        "greetings",
    )
    dyn.create_workflow(WF)

    first = run_greets(dyn)
    assert first["state"] == "SUCCESS", first["state_info"]
    assert '"said": "Hello, Ada!"' in first["output"]

    updated = upload(dyn, "greetings", GOODBYE, method="PUT")
    assert updated.status_code == 200, updated.text
    assert updated.json["version"] == 2
    second = run_greets(dyn, "Bob")
    assert '"said": "Goodbye, Bob!"' in second["output"]


def test_a_code_source_is_shown_as_mistral_shows_it(dyn: Api) -> None:
    created = upload(dyn, "greetings", HELLO)

    assert created.status_code == 201
    assert set(created.json) == {
        "id",
        "name",
        "namespace",
        "content",
        "version",
        "project_id",
        "scope",
        "created_at",
        "updated_at",
    }
    assert (created.json["content"], created.json["version"], created.json["scope"]) == (HELLO, 1, "private")
    by_id = dyn.get(f"/v2/code_sources/{created.json['id']}")
    assert by_id.json["name"] == "greetings"
    (listed,) = dyn.get("/v2/code_sources").json["code_sources"]
    assert listed["id"] == created.json["id"]


def test_dynamic_actions_are_listed_with_the_actions(dyn: Api) -> None:
    make_hello(dyn)

    actions = {a["name"]: a for a in dyn.get("/v2/actions").json["actions"]}

    assert actions["hello"]["input"] == 'name, punctuation="!"'
    assert actions["hello"]["description"] == "Says hello."
    assert actions["hello"]["is_system"] is False
    assert actions["hello"]["is_sync"] is True
    assert dyn.get("/v2/actions", params={"name": "hello"}).json["actions"][0]["id"] == actions["hello"]["id"]
    assert dyn.get("/v2/actions/hello").json == actions["hello"]


def test_the_input_is_checked_against_the_class_before_anything_runs(dyn: Api) -> None:
    make_hello(dyn)
    dyn.create_workflow(WF.replace("hello name=<% $.who %>", "hello nom=<% $.who %>"))

    wf_ex = run_greets(dyn)

    assert wf_ex["state"] == "ERROR"
    assert "Invalid input for action hello" in wf_ex["state_info"]
    assert "unexpected parameter 'nom'" in wf_ex["state_info"]


def test_a_dynamic_action_can_be_run_alone(dyn: Api) -> None:
    make_hello(dyn)

    answer = dyn.post_json("/v2/action_executions", {"name": "hello", "input": {"name": "Eve"}})

    assert answer.status_code == 201, answer.text
    assert answer.json["state"] == "SUCCESS"
    assert answer.json["output"] == '{"result": "Hello, Eve!"}'


def test_updating_a_dynamic_action_changes_its_class(dyn: Api) -> None:
    make_hello(dyn)
    upload(
        dyn,
        "greetings",
        HELLO + "\n\nclass Shout(Hello):\n    def run(self, context):\n        return self.name.upper()\n",
        "PUT",
    )
    dyn.create_workflow(WF)

    changed = dyn.put_json("/v2/dynamic_actions", {"name": "hello", "class_name": "Shout"})

    assert changed.status_code == 200, changed.text
    assert changed.json["class_name"] == "Shout"
    assert '"said": "ADA"' in run_greets(dyn)["output"]


def test_deleting_a_code_source_deletes_its_dynamic_actions(dyn: Api) -> None:
    make_hello(dyn)
    dyn.create_workflow(WF)

    assert dyn.client.simulate_delete("/v2/code_sources/greetings").status_code == 204

    assert dyn.get("/v2/dynamic_actions").json["dynamic_actions"] == []
    assert_fault(
        dyn.get("/v2/dynamic_actions/hello"), 404, "Dynamic Action not found [name=hello,namespace=]"
    )
    wf_ex = run_greets(dyn)
    assert wf_ex["state"] == "ERROR"
    assert "hello" in wf_ex["state_info"]


def test_deleting_a_dynamic_action(dyn: Api) -> None:
    action = make_hello(dyn)

    assert dyn.client.simulate_delete(f"/v2/dynamic_actions/{action['id']}").status_code == 204
    assert dyn.get("/v2/dynamic_actions").json["dynamic_actions"] == []
    assert dyn.get("/v2/code_sources/greetings").status_code == 200


# -- bounded cost, one-line refusals --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("def broken(:\n", "does not compile: invalid syntax (line 1)"),
        ("return 1\n", "does not compile: 'return' outside function"),
        ("x = " + "(" * 400 + ")" * 400 + "\n", "does not compile"),
        ("x = 1\n" + "#" * 5000, "too large: 5006 bytes, the limit is 4096 bytes"),
    ],
)
def test_a_module_that_does_not_compile_or_is_too_large_is_a_one_line_400(
    dyn: Api, text: str, fragment: str
) -> None:
    assert_fault(upload(dyn, "bad", text), 400, fragment)
    assert dyn.get("/v2/code_sources").json["code_sources"] == []


def test_a_module_name_must_be_a_module_name(dyn: Api) -> None:
    assert_fault(upload(dyn, "no%20spaces", HELLO), 400, "Invalid code source name")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (
            {"name": "x", "class_name": "Missing", "code_source_name": "greetings"},
            400,
            "defines no class Missing",
        ),
        ({"name": "x", "class_name": "Hello"}, 400, "Either 'code_source_id' or 'code_source_name'"),
        (
            {"name": "x", "class_name": "Hello", "code_source_name": "nope"},
            404,
            "Code Source not found [name=nope,namespace=]",
        ),
        ({"class_name": "Hello", "code_source_name": "greetings"}, 400, "needs a 'name'"),
        (
            {"name": "std.echo", "class_name": "Hello", "code_source_name": "greetings"},
            400,
            "system (Python) action",
        ),
        (
            {"name": "x", "class_name": "Hello", "code_source_name": "greetings", "scope": "world"},
            400,
            "scope",
        ),
        ({"name": 3, "class_name": "Hello", "code_source_name": "greetings"}, 400, "name"),
    ],
)
def test_a_dynamic_action_that_cannot_run_is_refused(
    dyn: Api, body: dict[str, Any], status: int, fragment: str
) -> None:
    upload(dyn, "greetings", HELLO)

    assert_fault(dyn.post_json("/v2/dynamic_actions", body), status, fragment)


def test_an_asynchronous_class_is_refused(dyn: Api) -> None:
    upload(
        dyn,
        "later",
        "class Later:\n    def run(self, context):\n        pass\n\n"
        "    def is_sync(self):\n        return False\n",
    )

    answer = dyn.post_json(
        "/v2/dynamic_actions", {"name": "later", "class_name": "Later", "code_source_name": "later"}
    )

    assert_fault(answer, 400, "dynamic actions are synchronous")


@pytest.mark.parametrize(
    ("module", "fragment"),
    [
        (
            "raise RuntimeError('no database here')\n" + HELLO,
            "failed to import: RuntimeError: no database here",
        ),
        ("import sys\nsys.exit(3)\n" + HELLO, "failed to import: SystemExit: 3"),
        (
            "class Hello:\n    def __init__(self, name):\n        raise SystemExit('bye')\n",
            "Failed to create action hello: bye",
        ),
        (
            "class Hello:\n    def __init__(self, name):\n        pass\n\n"
            "    def run(self, context):\n        raise SystemExit(9)\n",
            "Action hello failed: SystemExit: 9",
        ),
        (
            "class Hello:\n    def __init__(self, name):\n        pass\n\n"
            "    def run(self, context):\n        return object()\n",
            "not JSON-serialisable",
        ),
    ],
)
def test_code_that_raises_fails_its_action_cleanly_and_the_server_goes_on(
    dyn: Api, module: str, fragment: str
) -> None:
    upload(dyn, "greetings", module)
    assert (
        dyn.post_json(
            "/v2/dynamic_actions", {"name": "hello", "class_name": "Hello", "code_source_name": "greetings"}
        ).status_code
        == 201
    )
    dyn.create_workflow(WF)

    wf_ex = run_greets(dyn)

    assert wf_ex["state"] == "ERROR"
    (task,) = dyn.tasks(wf_ex["id"])
    (action_ex,) = dyn.action_executions(task["id"])
    assert action_ex["state"] == "ERROR"
    assert fragment in wf_ex["state_info"], wf_ex["state_info"]
    assert "Traceback" not in wf_ex["state_info"]
    upload(dyn, "greetings", HELLO, "PUT")
    assert run_greets(dyn)["state"] == "SUCCESS"


def test_an_adhoc_action_may_have_a_dynamic_action_as_its_base(dyn: Api) -> None:
    make_hello(dyn)
    adhoc = (
        "---\nversion: '2.0'\nhi_ada:\n  base: hello\n  base-input:\n    name: Ada\n  output: <% $ + '?' %>\n"
    )
    assert dyn.post_yaml(adhoc, path="/v2/actions").status_code == 201
    dyn.create_workflow(WF.replace("greets:", "asks:").replace("hello name=<% $.who %>", "hi_ada"))

    wf_ex = dyn.execution(dyn.start("asks", {"who": "ignored"})["id"])

    assert wf_ex["state"] == "SUCCESS", wf_ex["state_info"]
    assert '"said": "Hello, Ada!?"' in wf_ex["output"]
