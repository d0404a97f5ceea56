"""``/v2/actions``: the registry's (system) actions and ad-hoc actions — create, update, delete,
validate as ``mistral action-*`` send them — and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.support import PUBLIC_URL, Api, assert_fault

ACTION_KEYS = {
    "id",
    "name",
    "is_system",
    "input",
    "description",
    "tags",
    "definition",
    "scope",
    "project_id",
    "namespace",
    "is_sync",
    "created_at",
    "updated_at",
}
SYSTEM_NAMES = ["std.async_noop", "std.echo", "std.mistral_http", "std.noop"]

GREET = """---
version: '2.0'
greet:
  description: Say hello.
  base: std.echo
  base-input:
    output: "hello <% $.who %>"
  input:
    - who
    - punctuation: "!"
  tags: [people]
"""

TWO_ACTIONS = """---
version: '2.0'
a_one:
  base: std.noop
a_two:
  base: std.echo output=2
"""

WF_GREET = """---
version: '2.0'
wf_greet:
  output:
    said: <% $.said %>
  tasks:
    t:
      action: greet who="you"
      publish:
        said: <% task().result %>
"""


def post_actions(api: Api, text: str, query: str = "?scope=private") -> Any:
    """As ``mistral action-create`` sends it: text/plain, ``?scope=private[&namespace=...]``."""
    return api.client.simulate_post(
        "/v2/actions" + query, body=text, headers={"content-type": "text/plain", "Accept": "*/*"}
    )


def created(api: Api, text: str = GREET, query: str = "?scope=private") -> list[dict[str, Any]]:
    result = post_actions(api, text, query)
    assert result.status_code == 201, result.text
    actions: list[dict[str, Any]] = result.json["actions"]
    return actions


def test_list_every_action_sorted_by_name(api: Api) -> None:
    result = api.get("/v2/actions")

    assert result.status_code == 200
    actions = result.json["actions"]
    assert [a["name"] for a in actions] == SYSTEM_NAMES
    assert all(set(a) == ACTION_KEYS for a in actions)
    assert "next" not in result.json


def test_an_action_as_mistral_describes_it(api: Api) -> None:
    result = api.get("/v2/actions/std.echo")

    assert result.status_code == 200
    assert result.json == {
        "id": "std.echo",
        "name": "std.echo",
        "is_system": True,
        "input": "output, delay=0",
        "description": "Return the output.",
        "tags": [],
        "definition": None,
        "scope": "public",
        "project_id": None,
        "namespace": "",
        "is_sync": True,
        "created_at": None,
        "updated_at": None,
    }
    assert api.get("/v2/actions/std.mistral_http").json["input"] == 'url, method="GET", json=null'
    assert api.get("/v2/actions/std.async_noop").json["is_sync"] is False


def test_the_cli_asks_with_a_trailing_slash(api: Api) -> None:
    assert api.get("/v2/actions/std.noop/").json["name"] == "std.noop"


def test_unknown_action_is_404(api: Api) -> None:
    assert_fault(api.get("/v2/actions/nope"), 404, "nope")
    assert_fault(api.get("/v2/actions/std.noop/ns1"), 404, "std.noop")


def test_pages_fields_and_filters(api: Api) -> None:
    first = api.get("/v2/actions", query_string="limit=2&fields=is_sync")
    second = api.get(first.json["next"].removeprefix(PUBLIC_URL))
    async_only = api.get("/v2/actions", query_string="is_sync=false&fields=name")

    assert first.json["actions"] == [
        {"id": "std.async_noop", "is_sync": False},
        {"id": "std.echo", "is_sync": True},
    ]
    assert first.json["next"] == (
        f"{PUBLIC_URL}/v2/actions?sort_keys=name,id&sort_dirs=asc,asc&limit=2"
        "&marker=std.echo&fields=id,is_sync"
    )
    assert [a["id"] for a in second.json["actions"]] == ["std.mistral_http", "std.noop"]
    assert async_only.json["actions"] == [
        {"id": "std.async_noop", "name": "std.async_noop"},
        {"id": "std.mistral_http", "name": "std.mistral_http"},
    ]


@pytest.mark.parametrize("query", ["sort_keys=created_at&sort_dirs=asc", "sort_keys=name&sort_dirs=desc"])
def test_the_cli_sort_parameters_are_accepted(api: Api, query: str) -> None:
    names = [a["name"] for a in api.get("/v2/actions", query_string=query).json["actions"]]

    expected = ["std.async_noop", "std.echo", "std.mistral_http", "std.noop"]
    assert names == (expected[::-1] if "desc" in query else expected)


def test_an_unknown_marker_is_404(api: Api) -> None:
    assert_fault(api.get("/v2/actions", query_string="marker=std.nope"), 404, "std.nope")


# -- ad-hoc actions -----------------------------------------------------------------------------------
def test_create_as_the_cli_sends_it(api: Api) -> None:
    (greet,) = created(api)

    assert set(greet) == ACTION_KEYS
    assert (greet["name"], greet["is_system"], greet["input"]) == ("greet", False, 'who, punctuation="!"')
    assert (greet["description"], greet["tags"], greet["definition"]) == ("Say hello.", ["people"], GREET)
    assert (greet["scope"], greet["namespace"], greet["updated_at"]) == ("private", "", None)
    assert greet["id"] != "greet"


def test_an_ad_hoc_action_runs_in_a_workflow(api: Api) -> None:
    created(api)
    api.create_workflow(WF_GREET)

    got = api.execution(api.start("wf_greet")["id"])

    assert (got["state"], json.loads(got["output"])) == ("SUCCESS", {"said": "hello you"}), got["state_info"]


def test_the_list_shows_system_and_ad_hoc_actions(api: Api) -> None:
    created(api, TWO_ACTIONS)

    actions = api.get("/v2/actions").json["actions"]
    adhoc = api.get("/v2/actions", query_string="is_system=false&fields=name,is_system").json["actions"]

    assert [a["name"] for a in actions] == ["a_one", "a_two", *SYSTEM_NAMES]
    assert all(set(a) == ACTION_KEYS for a in actions)
    assert [(a["name"], a["is_system"]) for a in adhoc] == [("a_one", False), ("a_two", False)]


def test_the_cli_list_filters_by_namespace(api: Api) -> None:
    created(api, TWO_ACTIONS, "?scope=private&namespace=ns1")
    cli_fields = "fields=id%2Cname%2Cis_system%2Cinput%2Cdescription%2Ctags%2Ccreated_at%2Cupdated_at"

    result = api.get("/v2/actions", query_string=f"{cli_fields}&namespace=ns1")

    assert [a["name"] for a in result.json["actions"]] == ["a_one", "a_two"]


def test_get_by_name_id_and_namespace(api: Api) -> None:
    (greet,) = created(api)
    (in_ns,) = created(api, GREET, "?scope=public&namespace=ns1")

    assert api.get("/v2/actions/greet").json == greet
    assert api.get(f"/v2/actions/{greet['id']}").json == greet
    assert api.get("/v2/actions/greet/").json == greet  # the CLI: /actions/<name>/<namespace> with ""
    assert api.get("/v2/actions/greet/ns1").json == in_ns
    assert api.get("/v2/actions/greet", query_string="namespace=ns1").json == in_ns
    assert (in_ns["namespace"], in_ns["scope"]) == ("ns1", "public")


def test_update_as_the_cli_sends_it(api: Api) -> None:
    (greet,) = created(api)
    changed = GREET.replace("Say hello.", "Say hi.")

    result = api.client.simulate_put(
        "/v2/actions?scope=private", body=changed, headers={"content-type": "text/plain"}
    )

    assert result.status_code == 200, result.text
    (updated,) = result.json["actions"]
    assert (updated["id"], updated["description"]) == (greet["id"], "Say hi.")
    assert updated["updated_at"] is not None


def test_update_by_id_as_the_cli_sends_it(api: Api) -> None:
    (greet,) = created(api)

    result = api.client.simulate_put(
        f"/v2/actions/{greet['id']}?scope=private",
        body=GREET.replace("hello", "hi"),
        content_type="text/plain",
    )

    assert result.status_code == 200, result.text
    assert "hi <%" in result.json["actions"][0]["definition"]
    assert_fault(
        api.client.simulate_put("/v2/actions/nope", body=GREET, content_type="text/plain"), 404, "nope"
    )


def test_delete_as_the_cli_sends_it(api: Api) -> None:
    created(api)
    created(api, GREET, "?namespace=ns1")

    assert api.client.simulate_delete("/v2/actions/greet/").status_code == 204
    assert api.client.simulate_delete("/v2/actions/greet/ns1").status_code == 204
    assert [a["name"] for a in api.get("/v2/actions").json["actions"]] == SYSTEM_NAMES
    assert_fault(api.client.simulate_delete("/v2/actions/greet"), 404, "greet")


def test_validate(api: Api) -> None:
    good = api.post_yaml(GREET, path="/v2/actions/validate")
    bad = api.post_yaml("version: '2.0'\nbroken:\n  input: [x]\n", path="/v2/actions/validate")

    assert good.json == {"valid": True}
    assert bad.status_code == 200
    assert bad.json["valid"] is False and "base" in bad.json["error"]


def test_system_actions_cannot_be_deleted_or_redefined(api: Api) -> None:
    before = api.snapshot()

    assert_fault(api.client.simulate_delete("/v2/actions/std.echo"), 400, "std.echo", "system")
    assert_fault(api.client.simulate_delete("/v2/actions/std.echo/"), 400, "system")
    assert_fault(
        post_actions(api, "version: '2.0'\nstd.echo:\n  base: std.noop\n"), 400, "std.echo", "system"
    )

    assert api.snapshot() == before
    assert [a["name"] for a in api.get("/v2/actions").json["actions"]] == SYSTEM_NAMES


@pytest.mark.parametrize(
    ("text", "query", "status", "fragment"),
    [
        ("version: '2.0'\nx: [1\n", "", 400, ""),
        ("version: '2.0'\nx:\n  input: [a]\n", "", 400, "base"),
        ("version: '2.0'\nx:\n  base: std.noop\n  colour: red\n", "", 400, "colour"),
        ("version: '2.0'\nx:\n  base: std.echo\n  base-input:\n    output: <% $.( %>\n", "", 400, ""),
        ("", "", 400, ""),
        (GREET, "?scope=everyone", 400, "scope"),
    ],
)
def test_bad_documents_are_refused_and_change_nothing(
    api: Api, text: str, query: str, status: int, fragment: str
) -> None:
    before = api.snapshot()

    assert_fault(post_actions(api, text, query), status, fragment)

    assert api.snapshot() == before


def test_a_duplicate_is_409_and_nothing_of_the_document_is_stored(api: Api) -> None:
    created(api, TWO_ACTIONS.split("a_two:")[0])
    before = api.snapshot()

    assert_fault(post_actions(api, TWO_ACTIONS), 409, "a_one")

    assert api.snapshot() == before


def test_an_oversized_upload_is_413() -> None:
    assert_fault(post_actions(Api(max_body_bytes=32), GREET), 413, "too large")
