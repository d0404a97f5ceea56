"""``/v2/actions``: the registry's actions, as Mistral lists system actions."""

from __future__ import annotations

import pytest

from tests.api.support import PUBLIC_URL, Api, assert_fault

ACTION_KEYS = {
    "id",
    "name",
    "is_system",
    "input",
    "description",
    "tags",
    "scope",
    "is_sync",
    "created_at",
    "updated_at",
}


def test_list_every_action_sorted_by_name(api: Api) -> None:
    result = api.get("/v2/actions")

    assert result.status_code == 200
    actions = result.json["actions"]
    assert [a["name"] for a in actions] == ["std.async_noop", "std.echo", "std.mistral_http", "std.noop"]
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
        "scope": "public",
        "is_sync": True,
        "created_at": None,
        "updated_at": None,
    }
    assert api.get("/v2/actions/std.mistral_http").json["input"] == 'url, method="GET", json=null'
    assert api.get("/v2/actions/std.async_noop").json["is_sync"] is False


def test_the_cli_asks_with_a_trailing_slash(api: Api) -> None:
    assert api.get("/v2/actions/std.noop/").json["name"] == "std.noop"


def test_unknown_action_is_404(api: Api) -> None:
    assert_fault(api.get("/v2/actions/nope"), 404, "Action not found [name=nope, namespace=]")
    assert_fault(api.get("/v2/actions/std.noop/ns1"), 404, "namespace=ns1")


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
