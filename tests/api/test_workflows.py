"""``/v2/workflows``: create, get, list, update, delete, validate — and every bad input."""

from __future__ import annotations

import re

import pytest

from tests.api.support import (
    PUBLIC_URL,
    WF_ASYNC,
    WF_HTTP,
    WF_SEQ,
    WORKFLOW_CREATED_KEYS,
    WORKFLOW_KEYS,
    Api,
    assert_fault,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
BROKEN_YAML = "---\nversion: '2.0'\nbroken:\n  tasks:\n    t1: [unclosed\n"
BAD_DSL = "---\nversion: '2.0'\nbad_dsl:\n  tasks:\n    t1:\n      action: std.noop\n      bogus: 1\n"


# -- create ----------------------------------------------------------------------------------------
def test_create_answers_the_transcript_shape(api: Api) -> None:
    result = api.post_yaml(WF_ASYNC)

    assert result.status_code == 201, result.text
    assert result.headers["content-type"] == "application/json"
    (wf,) = result.json["workflows"]
    assert set(wf) == WORKFLOW_CREATED_KEYS  # no updated_at on create, as Mistral
    assert wf["name"] == "wf_async"
    assert wf["namespace"] == ""
    assert wf["input"] == 'x="1"'
    assert wf["interface"] == {"input": [{"x": 1}], "output": ["result"]}  # an object on create
    assert wf["definition"] == WF_ASYNC
    assert wf["checksum"] == "b9a85a8e5d873c614fdf0265aaa3a89f"  # md5 of the text, as Mistral
    assert wf["tags"] == []
    assert wf["scope"] == "private"
    assert wf["project_id"] == "<default-project>"
    assert TIMESTAMP.match(wf["created_at"])


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "text/plain", "Accept": "*/*"},
        {"Content-Type": "text/plain", "Accept": "application/json"},  # Mistral: 406; we: 201
        {"Content-Type": "application/json"},  # a YAML body with a JSON content type
        {"Content-Type": "application/x-yaml", "Accept": "application/json"},
    ],
)
def test_create_accepts_any_content_type_and_accept(api: Api, headers: dict[str, str]) -> None:
    result = api.client.simulate_post("/v2/workflows", body=WF_SEQ, headers=headers)

    assert result.status_code == 201, result.text
    assert result.json["workflows"][0]["name"] == "wf_seq"


def test_create_as_the_cli_sends_it(api: Api) -> None:
    result = api.client.simulate_post(
        "/v2/workflows?scope=private&namespace=",
        body=WF_HTTP,
        headers={"Content-Type": "text/plain", "Accept": "*/*"},
    )

    assert result.status_code == 201
    assert result.json["workflows"][0]["input"] == "url"
    assert result.json["workflows"][0]["interface"] == {"input": ["url"], "output": ["result"]}


def test_create_in_a_namespace_with_public_scope(api: Api) -> None:
    result = api.post_yaml(WF_SEQ, path="/v2/workflows?namespace=ns1&scope=public")

    assert result.status_code == 201
    (wf,) = result.json["workflows"]
    assert (wf["namespace"], wf["scope"]) == ("ns1", "public")
    assert api.get("/v2/workflows/wf_seq?namespace=ns1").json["namespace"] == "ns1"
    assert_fault(api.get("/v2/workflows/wf_seq"), 404)


def test_create_a_document_of_several_workflows(api: Api) -> None:
    text = WF_SEQ + "\nwf_two:\n  tasks:\n    only:\n      action: std.noop\n"

    result = api.post_yaml(text)

    assert result.status_code == 201
    assert [wf["name"] for wf in result.json["workflows"]] == ["wf_seq", "wf_two"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (BROKEN_YAML, "Definition could not be parsed"),
        (BAD_DSL, "bogus"),
        ("", ""),
        ("just text", ""),
    ],
)
def test_create_rejects_an_invalid_document(api: Api, text: str, fragment: str) -> None:
    before = api.snapshot()

    assert_fault(api.post_yaml(text), 400, fragment)

    assert api.snapshot() == before


def test_create_rejects_a_duplicate_name_and_stores_nothing(wf_api: Api) -> None:
    before = wf_api.snapshot()

    assert_fault(wf_api.post_yaml(WF_SEQ), 409, "wf_seq")

    assert wf_api.snapshot() == before


def test_create_rejects_an_unknown_scope(api: Api) -> None:
    assert_fault(api.post_yaml(WF_SEQ, path="/v2/workflows?scope=secret"), 400, "scope")
    assert api.snapshot()["workflows"] == []


def test_create_rejects_a_body_that_is_not_utf8(api: Api) -> None:
    assert_fault(
        api.client.simulate_post("/v2/workflows", body=b"\xff\xfe\x00bad", content_type="text/plain"),
        400,
        "UTF-8",
    )
    assert api.snapshot()["workflows"] == []


def test_create_rejects_a_body_over_the_limit(api: Api) -> None:
    small = Api(max_body_bytes=100)

    message = assert_fault(small.post_yaml(WF_SEQ), 413, "too large")

    assert "100" in message
    assert small.snapshot()["workflows"] == []


# -- read ------------------------------------------------------------------------------------------
def test_get_by_name_shows_the_interface_as_a_json_string(wf_api: Api) -> None:
    result = wf_api.get("/v2/workflows/wf_async")

    assert result.status_code == 200
    wf = result.json
    assert set(wf) == WORKFLOW_KEYS
    assert wf["interface"] == '{"input": [{"x": 1}], "output": ["result"]}'  # the transcript's exact text
    assert wf["input"] == 'x="1"'
    assert wf["updated_at"] is None


def test_get_by_id_equals_get_by_name(wf_api: Api) -> None:
    by_name = wf_api.get("/v2/workflows/wf_seq").json

    assert wf_api.get(f"/v2/workflows/{by_name['id']}").json == by_name


def test_get_unknown_workflow_is_404(api: Api) -> None:
    assert_fault(api.get("/v2/workflows/nope"), 404, "nope")


def test_list_shows_every_workflow_with_get_shapes(wf_api: Api) -> None:
    result = wf_api.get("/v2/workflows")

    assert result.status_code == 200
    workflows = result.json["workflows"]
    assert [wf["name"] for wf in workflows] == ["wf_seq", "wf_async", "wf_http"]  # created_at order
    assert all(set(wf) == WORKFLOW_KEYS for wf in workflows)
    assert "next" not in result.json
    assert workflows[1] == wf_api.get("/v2/workflows/wf_async").json


def test_list_with_limit_and_fields_links_the_next_page(wf_api: Api) -> None:
    result = wf_api.get("/v2/workflows", query_string="limit=2&fields=name,created_at")

    workflows = result.json["workflows"]
    assert [set(wf) for wf in workflows] == [{"id", "name", "created_at"}] * 2
    assert result.json["next"] == (
        f"{PUBLIC_URL}/v2/workflows?sort_keys=created_at,id&sort_dirs=asc,asc&limit=2"
        f"&marker={workflows[1]['id']}&fields=id,name,created_at"
    )


def test_list_filters_by_name(wf_api: Api) -> None:
    result = wf_api.get("/v2/workflows", query_string="name=in:wf_seq,wf_http")

    assert [wf["name"] for wf in result.json["workflows"]] == ["wf_seq", "wf_http"]


# -- update ----------------------------------------------------------------------------------------
def test_update_replaces_the_definition(wf_api: Api) -> None:
    created = wf_api.get("/v2/workflows/wf_seq").json
    text = WF_SEQ.replace("action: std.noop", 'action: std.echo output="bye"')

    result = wf_api.client.simulate_put(
        "/v2/workflows?namespace=&scope=private", body=text, content_type="text/plain"
    )

    assert result.status_code == 200, result.text
    (wf,) = result.json["workflows"]
    assert set(wf) == WORKFLOW_KEYS  # updated_at is set now
    assert wf["id"] == created["id"]
    assert wf["definition"] == text
    assert wf["checksum"] != created["checksum"]
    assert TIMESTAMP.match(wf["updated_at"])
    assert wf_api.get("/v2/workflows/wf_seq").json["definition"] == text


def test_update_with_an_invalid_document_changes_nothing(wf_api: Api) -> None:
    before = wf_api.snapshot()

    assert_fault(wf_api.client.simulate_put("/v2/workflows", body=BAD_DSL, content_type="text/plain"), 400)

    assert wf_api.snapshot() == before


# -- delete ----------------------------------------------------------------------------------------
def test_delete_by_name(wf_api: Api) -> None:
    result = wf_api.client.simulate_delete("/v2/workflows/wf_http")

    assert result.status_code == 204
    assert result.content == b""
    assert_fault(wf_api.get("/v2/workflows/wf_http"), 404)


def test_delete_by_id(wf_api: Api) -> None:
    wf_id = wf_api.get("/v2/workflows/wf_seq").json["id"]

    assert wf_api.client.simulate_delete(f"/v2/workflows/{wf_id}").status_code == 204
    assert [wf["name"] for wf in wf_api.get("/v2/workflows").json["workflows"]] == ["wf_async", "wf_http"]


def test_delete_unknown_workflow_is_404(wf_api: Api) -> None:
    before = wf_api.snapshot()

    assert_fault(wf_api.client.simulate_delete("/v2/workflows/nope"), 404, "nope")

    assert wf_api.snapshot() == before


# -- validate --------------------------------------------------------------------------------------
def test_validate_a_valid_document(api: Api) -> None:
    result = api.post_yaml(WF_SEQ, path="/v2/workflows/validate")

    assert result.status_code == 200
    assert result.json == {"valid": True}
    assert api.snapshot()["workflows"] == []


@pytest.mark.parametrize(("text", "fragment"), [(BROKEN_YAML, "could not be parsed"), (BAD_DSL, "bogus")])
def test_validate_an_invalid_document(api: Api, text: str, fragment: str) -> None:
    result = api.post_yaml(text, path="/v2/workflows/validate")

    assert result.status_code == 200
    assert result.json["valid"] is False
    assert fragment in result.json["error"]


def test_validate_is_post_only(api: Api) -> None:
    assert_fault(api.get("/v2/workflows/validate"), 405)


# -- a document of several workflows ----------------------------------------------------------------
TWO = """\
---
version: '2.0'

# the first: says hello
first:
  tasks:
    t1:
      action: std.echo output=hello   # inline
second:
  tasks:
    t1:
      action: std.noop
"""


def test_each_workflow_of_a_document_keeps_its_own_part_as_mistral_does(api: Api) -> None:
    created = api.post_yaml(TWO).json["workflows"]

    assert [wf["definition"] for wf in created] == [
        "version: '2.0'\n\n# the first: says hello\nfirst:\n  tasks:\n    t1:\n"
        "      action: std.echo output=hello   # inline\n",
        "version: '2.0'\n\nsecond:\n  tasks:\n    t1:\n      action: std.noop\n",
    ]
    assert api.get("/v2/workflows/second").json["definition"] == created[1]["definition"]
    assert api.start("first")["state"] in ("RUNNING", "SUCCESS")


def test_a_document_of_workflows_that_share_an_anchor_keeps_each_one_whole(api: Api) -> None:
    text = "version: '2.0'\nfirst: &wf\n  tasks:\n    t1:\n      action: std.noop\nsecond: *wf\n"

    created = api.post_yaml(text).json["workflows"]

    assert created[1]["definition"] == "version: '2.0'\nsecond:\n  tasks:\n    t1:\n      action: std.noop\n"


def test_a_document_of_many_workflows_is_stored_once_not_once_per_workflow(api: Api) -> None:
    one = "w{}:\n  tasks:\n    t:\n      action: std.noop\n"
    text = "version: '2.0'\n" + "".join(one.format(i) for i in range(2000))

    result = api.post_yaml(text)

    assert result.status_code == 201
    # Each workflow used to keep the whole document: 2,000 copies of 90 KB, 180 MB to store and answer.
    assert len(result.content) < 10 * len(text)
