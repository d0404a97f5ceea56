"""List parameters: paging, sorting, fields, filters — and a 400 naming the parameter for each bad one."""

from __future__ import annotations

import datetime as dt

import pytest

from mistral_core.api.querying import MAX_LIMIT
from mistral_core.api.resources.executions import LISTING
from mistral_core.model import Filter, State
from tests.api.support import PUBLIC_URL, Api, assert_fault

URL = f"{PUBLIC_URL}/v2/executions"


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "Limit must be positive"),
        ("limit=-1", "Limit must be positive"),
        ("limit=1.5", "limit"),
        ("sort_keys=bogus", "bogus"),
        ("sort_keys=input", "sort_keys"),
        ("sort_dirs=up", "sort_dirs"),
        ("sort_keys=state&sort_dirs=asc,desc", "sort_dirs"),
        ("fields=bogus", "bogus"),
        ("fields=id,nope", "nope"),
        ("bogus=1", 'Unknown argument: "bogus"'),
        ("state=DONE", "state"),
        ("state=in:RUNNING,DONE", "state"),
        ("created_at=yesterday", "created_at"),
        ("created_at=gt:2026-13-45", "created_at"),
        ("include_output=maybe", "include_output"),
        ("nulls=bogus", "bogus"),
        ("limit=1&limit=2", "limit"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(api: Api, query: str, fragment: str) -> None:
    assert_fault(api.get("/v2/executions", query_string=query), 400, fragment)


def test_limit_is_clamped_to_the_maximum() -> None:
    listed = LISTING.parse({"limit": "5000"}, URL)

    assert listed.query.limit == MAX_LIMIT == 1000


def test_defaults_sort_by_creation_then_id() -> None:
    listed = LISTING.parse({}, URL)

    assert listed.query.sort == (("created_at", "asc"), ("id", "asc"))
    assert listed.query.filters == ()
    assert listed.fields is None


def test_sort_dirs_are_padded_and_id_is_appended() -> None:
    listed = LISTING.parse({"sort_keys": "state,created_at", "sort_dirs": "desc"}, URL)

    assert listed.query.sort == (("state", "desc"), ("created_at", "asc"), ("id", "asc"))


def test_filters_are_typed() -> None:
    listed = LISTING.parse(
        {
            "state": "in:RUNNING,PAUSED",
            "created_at": "gte:2026-11-29 11:28:44",
            "workflow_name": "has:seq",
            "description": "neq:",
            "tags": "has:nightly",
            "nulls": "root_execution_id",
        },
        URL,
    )

    assert set(listed.query.filters) == {
        Filter("state", "in", (State.RUNNING, State.PAUSED)),
        Filter("created_at", "gte", dt.datetime(2026, 11, 29, 11, 28, 44)),
        Filter("workflow_name", "has", "seq"),
        Filter("description", "neq", ""),
        Filter("tags", "has", "nightly"),
        Filter("root_execution_id", "eq", None),
    }


def test_fields_always_start_with_id_without_duplicates() -> None:
    assert LISTING.parse({"fields": "state,id,state,workflow_name"}, URL).fields == (
        "id",
        "state",
        "workflow_name",
    )


def test_next_link_orders_filters_as_the_resource_and_keeps_them_usable() -> None:
    listed = LISTING.parse(
        {"limit": "1", "state": "in:SUCCESS,RUNNING", "workflow_name": "neq:foo", "include_output": "true"},
        URL,
    )

    link = listed.next_link([{"id": "abc"}])

    assert link == (
        f"{URL}?sort_keys=created_at,id&sort_dirs=asc,asc&workflow_name=neq:foo"
        "&state=in:SUCCESS,RUNNING&include_output=true&limit=1&marker=abc"
    )


def test_no_next_link_for_a_page_that_is_not_full() -> None:
    listed = LISTING.parse({"limit": "2"}, URL)

    assert listed.next_link([{"id": "a"}]) is None
    assert listed.next_link([]) is None


def test_walking_next_links_visits_every_execution_once(wf_api: Api) -> None:
    started = [wf_api.start("wf_seq")["id"] for _ in range(5)]

    seen: list[str] = []
    url: str | None = "/v2/executions?limit=2&sort_dirs=desc&fields=state"
    while url:
        page = wf_api.get(url.removeprefix(PUBLIC_URL)).json
        seen.extend(e["id"] for e in page["executions"])
        assert all(set(e) == {"id", "state"} for e in page["executions"])
        url = page.get("next")

    assert seen == started[::-1]


def test_a_marker_that_names_nothing_is_404(wf_api: Api) -> None:
    wf_api.start("wf_seq")

    assert_fault(
        wf_api.get("/v2/executions", query_string="marker=00000000-0000-0000-0000-000000000000"), 404
    )
