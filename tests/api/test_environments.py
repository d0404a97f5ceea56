"""``/v2/environments``: create and update as ``mistral environment-create/-update`` send them, list, get,
delete, an execution started with a stored environment, and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.support import Api, assert_fault

ENVIRONMENT_KEYS = {
    "id",
    "name",
    "description",
    "variables",
    "scope",
    "project_id",
    "created_at",
    "updated_at",
}
# What ``mistral environment-list`` asks for (EnvironmentFormatter.fields()).
CLI_FIELDS = ("name", "description", "variables", "scope", "created_at", "updated_at")
CLI_LIST_QUERY = "sort_keys=created_at&sort_dirs=asc&fields=" + "%2C".join(CLI_FIELDS)

WF_ENV = """---
version: '2.0'
wf_env:
  output:
    host: <% env().host %>
  tasks:
    t:
      action: std.noop
"""


def create(api: Api, body: Any) -> Any:
    return api.post_json("/v2/environments", body)


def created(api: Api, body: Any) -> dict[str, Any]:
    result = create(api, body)
    assert result.status_code == 201, result.text
    env: dict[str, Any] = result.json
    return env


def cli_body(name: str = "dev", **variables: Any) -> dict[str, Any]:
    """What the CLI sends for a file ``{"name": ..., "variables": {...}}``: variables as a JSON string."""
    return {"name": name, "variables": json.dumps(variables or {"host": "h1"})}


def test_create_as_the_cli_sends_it(api: Api) -> None:
    env = created(api, {**cli_body(), "description": "development"})

    assert set(env) == ENVIRONMENT_KEYS
    assert (env["name"], env["description"], env["scope"]) == ("dev", "development", "private")
    assert env["variables"] == '{"host": "h1"}'  # a JSON string, as Mistral writes it
    assert (env["project_id"], env["updated_at"]) == ("<default-project>", None)


def test_create_with_an_object_and_public_scope(api: Api) -> None:
    env = created(api, {"name": "prod", "variables": {"host": "p1", "n": [1, 2]}, "scope": "public"})

    assert (json.loads(env["variables"]), env["scope"], env["description"]) == (
        {"host": "p1", "n": [1, 2]},
        "public",
        "",
    )


def test_update_with_the_name_in_the_body(api: Api) -> None:
    first = created(api, {**cli_body(), "description": "keep me"})

    result = api.put_json("/v2/environments", cli_body(host="h2"))

    assert result.status_code == 200, result.text
    env = result.json
    assert (env["id"], json.loads(env["variables"]), env["description"]) == (
        first["id"],
        {"host": "h2"},
        "keep me",
    )
    assert env["updated_at"] is not None
    assert api.get("/v2/environments/dev").json == env


def test_update_only_the_description(api: Api) -> None:
    created(api, cli_body())

    env = api.put_json("/v2/environments", {"name": "dev", "description": "now described"}).json

    assert (env["description"], env["variables"]) == ("now described", '{"host": "h1"}')


def test_list_as_the_cli_asks_get_and_delete(api: Api) -> None:
    dev = created(api, cli_body())
    prod = created(api, cli_body("prod"))

    listed = api.get("/v2/environments", query_string=CLI_LIST_QUERY).json["environments"]

    assert [e["name"] for e in listed] == ["dev", "prod"]
    assert set(listed[0]) == {"id", "name", "description", "variables", "scope", "created_at", "updated_at"}
    assert api.get("/v2/environments/prod").json == prod
    assert api.client.simulate_delete("/v2/environments/dev").status_code == 204
    assert [e["id"] for e in api.get("/v2/environments").json["environments"]] == [prod["id"]]
    assert_fault(api.get("/v2/environments/dev"), 404, "dev")
    assert dev["id"] != prod["id"]


def test_list_pages_and_filters(api: Api) -> None:
    for name in ("a", "b", "c"):
        created(api, {**cli_body(name), "scope": "public" if name == "b" else "private"})

    page = api.get("/v2/environments", query_string="limit=2&fields=name").json
    public = api.get("/v2/environments", query_string="scope=public&fields=name").json

    assert [e["name"] for e in page["environments"]] == ["a", "b"]
    assert "marker=" in page["next"]
    assert [e["name"] for e in public["environments"]] == ["b"]


def test_an_execution_started_with_a_stored_environment_sees_it(api: Api) -> None:
    created(api, cli_body(host="stored-host"))
    api.create_workflow(WF_ENV)

    result = api.post_json("/v2/executions", {"workflow_name": "wf_env", "params": '{"env": "dev"}'})

    assert result.status_code == 201, result.text
    assert json.loads(api.execution(result.json["id"])["output"]) == {"host": "stored-host"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"variables": "{}"}, "field 'name'"),
        ({"name": "", "variables": "{}"}, "field 'name'"),
        ({"name": ["dev"]}, "field 'name': expected a string"),
        ({"name": "dev", "variables": "[1, 2]"}, "field 'variables': expected a JSON object"),
        ({"name": "dev", "variables": "{oops"}, "field 'variables': the string is not valid JSON"),
        ({"name": "dev", "variables": 3}, "field 'variables': expected a JSON object"),
        ({"name": "dev", "description": 3}, "field 'description': expected a string"),
        ({"name": "dev", "scope": "secret"}, "Invalid value for field 'scope': 'secret'"),
    ],
)
def test_bad_create_bodies_are_400_and_change_nothing(api: Api, body: Any, fragment: str) -> None:
    before = api.snapshot()

    assert_fault(create(api, body), 400, fragment)

    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"variables": "{}"}, 400, "field 'name'"),
        ({"name": "dev", "variables": "[]"}, 400, "field 'variables'"),
        ({"name": "dev", "scope": "everyone"}, 400, "scope"),
        ({"name": "nope", "variables": "{}"}, 404, "nope"),
    ],
)
def test_bad_update_bodies_are_refused_and_change_nothing(
    api: Api, body: Any, status: int, fragment: str
) -> None:
    created(api, cli_body())
    before = api.snapshot()

    assert_fault(api.put_json("/v2/environments", body), status, fragment)

    assert api.snapshot() == before


def test_a_duplicate_name_is_409(api: Api) -> None:
    created(api, cli_body())

    assert_fault(create(api, cli_body()), 409, "dev")


@pytest.mark.parametrize("raw", ["{", "[]", "null", ""])
def test_a_body_that_is_not_a_json_object_is_400(api: Api, raw: str) -> None:
    assert_fault(api.client.simulate_post("/v2/environments", body=raw, content_type="application/json"), 400)
    assert_fault(api.client.simulate_put("/v2/environments", body=raw, content_type="application/json"), 400)


def test_unknown_environment_is_404(api: Api) -> None:
    assert_fault(api.get("/v2/environments/nope"), 404, "nope")
    assert_fault(api.client.simulate_delete("/v2/environments/nope"), 404, "nope")


def test_an_oversized_body_is_413() -> None:
    small = Api(max_body_bytes=16)

    assert_fault(create(small, cli_body()), 413, "too large")
