"""``/v2/workbooks``: create and update (YAML) as ``mistral workbook-create/-update`` send them, list, get,
delete, validate; a workbook's workflow runs with its own ad-hoc action; bad input."""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest

from tests.api.support import Api, assert_fault

WORKBOOK_KEYS = {
    "id",
    "name",
    "namespace",
    "definition",
    "tags",
    "scope",
    "project_id",
    "created_at",
    "updated_at",
}

WB = """---
version: '2.0'
name: wb
tags: [demo]
actions:
  greet:
    base: std.echo
    base-input:
      output: "hello <% $.who %>"
    input:
      - who
workflows:
  hello:
    output:
      said: <% $.said %>
    tasks:
      say:
        action: greet who="world"
        publish:
          said: <% task().result %>
"""

WB_V2 = """---
version: '2.0'
name: wb
workflows:
  bye:
    tasks:
      t:
        action: std.noop
"""


def post_wb(api: Api, text: str = WB, query: str = "") -> falcon.testing.Result:
    return api.post_yaml(text, path="/v2/workbooks" + query)


def created(api: Api, text: str = WB, query: str = "") -> dict[str, Any]:
    result = api.post_yaml(text, path="/v2/workbooks" + query)
    assert result.status_code == 201, result.text
    workbook: dict[str, Any] = result.json
    return workbook


def test_create_as_the_cli_sends_it(api: Api) -> None:
    result = api.client.simulate_post(
        "/v2/workbooks?scope=private", body=WB, headers={"content-type": "text/plain", "Accept": "*/*"}
    )

    assert result.status_code == 201, result.text
    workbook = result.json
    assert set(workbook) == WORKBOOK_KEYS
    assert (workbook["name"], workbook["namespace"], workbook["scope"]) == ("wb", "", "private")
    assert (workbook["definition"], workbook["tags"], workbook["updated_at"]) == (WB, ["demo"], None)


def test_its_workflows_and_actions_are_stored_under_its_name_and_run(api: Api) -> None:
    created(api)

    assert api.get("/v2/workflows/wb.hello").status_code == 200
    greet = api.get("/v2/actions/wb.greet").json
    assert (greet["is_system"], greet["input"]) == (False, "who")
    wf_ex = api.start("wb.hello")
    got = api.execution(wf_ex["id"])
    assert (got["state"], json.loads(got["output"])) == ("SUCCESS", {"said": "hello world"}), got[
        "state_info"
    ]


def test_create_in_a_namespace_public(api: Api) -> None:
    workbook = created(api, query="?scope=public&namespace=ns1")

    assert (workbook["namespace"], workbook["scope"]) == ("ns1", "public")
    assert api.get("/v2/workbooks/wb", query_string="namespace=ns1").json == workbook
    assert_fault(api.get("/v2/workbooks/wb"), 404, "wb")


def test_update_replaces_its_items(api: Api) -> None:
    first = created(api)

    result = api.client.simulate_put("/v2/workbooks", body=WB_V2, headers={"content-type": "text/plain"})

    assert result.status_code == 200, result.text
    assert (result.json["id"], result.json["definition"]) == (first["id"], WB_V2)
    assert result.json["updated_at"] is not None
    assert api.get("/v2/workflows/wb.bye").status_code == 200
    assert api.get("/v2/workflows/wb.hello").status_code == 404
    assert api.get("/v2/actions/wb.greet").status_code == 404


def test_list_get_and_delete(api: Api) -> None:
    workbook = created(api)

    listed = api.get(
        "/v2/workbooks", query_string="fields=name%2Cnamespace%2Ctags%2Cscope%2Ccreated_at%2Cupdated_at"
    )
    assert listed.json == {
        "workbooks": [
            {
                "id": workbook["id"],
                "name": "wb",
                "namespace": "",
                "tags": ["demo"],
                "scope": "private",
                "created_at": workbook["created_at"],
                "updated_at": None,
            }
        ]
    }
    assert api.get("/v2/workbooks/wb").json == workbook
    assert api.client.simulate_delete("/v2/workbooks/wb").status_code == 204
    assert api.get("/v2/workbooks").json == {"workbooks": []}
    assert api.get("/v2/workflows/wb.hello").status_code == 404


def test_validate(api: Api) -> None:
    good = api.post_yaml(WB, path="/v2/workbooks/validate")
    bad = api.post_yaml("version: '2.0'\nname: wb\nworkflows: 3\n", path="/v2/workbooks/validate")

    assert good.json == {"valid": True}
    assert bad.status_code == 200
    assert bad.json["valid"] is False and bad.json["error"]
    assert api.get("/v2/workbooks").json == {"workbooks": []}


@pytest.mark.parametrize(
    "text",
    [
        "version: '2.0'\nname: wb\nworkflows: [1\n",  # not YAML
        "version: '2.0'\nworkflows: {}\n",  # no name
        "version: '2.0'\nname: wb\nsurprise: 1\n",  # unknown key
        WB.replace("action: greet", "action: greet\n        on-success: nowhere"),  # unknown task
        "",
    ],
)
def test_bad_documents_are_400_and_change_nothing(api: Api, text: str) -> None:
    before = api.snapshot()

    assert_fault(post_wb(api, text), 400)

    assert api.snapshot() == before


def test_duplicate_is_409_and_update_of_unknown_is_404(api: Api) -> None:
    created(api)

    assert_fault(post_wb(api), 409, "wb")
    result = api.client.simulate_put("/v2/workbooks", body=WB.replace("name: wb", "name: other"))
    assert_fault(result, 404, "other")


def test_bad_scope_unknown_names_and_oversized_bodies(api: Api) -> None:
    assert_fault(post_wb(api, query="?scope=world"), 400, "scope")
    assert_fault(api.get("/v2/workbooks/nope"), 404, "nope")
    assert_fault(api.client.simulate_delete("/v2/workbooks/nope"), 404, "nope")
    assert_fault(api.get("/v2/workbooks", query_string="colour=red"), 400, "colour")
    assert_fault(Api(max_body_bytes=32).post_yaml(WB, path="/v2/workbooks"), 413, "too large")
    not_utf8 = api.client.simulate_post(
        "/v2/workbooks", body=b"\xff\xfe", headers={"content-type": "text/plain"}
    )
    assert_fault(not_utf8, 400, "UTF-8")
