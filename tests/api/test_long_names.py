"""Names, namespaces and ids longer than Mistral's 255 characters are refused with a 400.

Mistral keeps them in ``String(255)`` columns; mistral-core indexes them, and PostgreSQL
refuses an index row over about 2.7 KB: a 5,000-character name answered 500 ``Database error:
index row requires 10016 bytes``. The bound is the same on every backend.
"""

from __future__ import annotations

import pytest

from tests.api.support import WF_SEQ, Api, assert_fault

LONG = "n" * 256
OK = "\U00020000" * 255  # 255 characters of 4 bytes (a CJK ideograph): still fits in any index


def _wf(name: str) -> str:
    return f"version: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n"


def _wb(name: str) -> str:
    return f"version: '2.0'\nname: {name}\nworkflows:\n  w:\n    tasks:\n      t:\n        action: std.noop\n"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v2/executions", {"workflow_name": "wf_seq", "id": LONG}, "field 'id'"),
        ("POST", "/v2/environments", {"name": LONG, "variables": {}}, "field 'name'"),
        ("PUT", "/v2/environments", {"name": LONG, "variables": {}}, "field 'name'"),
        (
            "POST",
            "/v2/cron_triggers",
            {"name": LONG, "workflow_name": "wf_seq", "pattern": "* * * * *"},
            "field 'name'",
        ),
    ],
)
def test_a_json_name_or_id_over_255_characters_is_a_400(
    api: Api, method: str, path: str, body: dict[str, object], field: str
) -> None:
    api.create_workflow(WF_SEQ)

    result = api.client.simulate_request(method, path, json=body)

    assert_fault(result, 400, field, "at most 255 characters")


@pytest.mark.parametrize("path", ["/v2/workflows", "/v2/actions", "/v2/workbooks"])
def test_a_namespace_over_255_characters_is_a_400(api: Api, path: str) -> None:
    text = _wb("wb") if path == "/v2/workbooks" else _wf("w")
    if path == "/v2/actions":
        text = "version: '2.0'\na:\n  base: std.noop\n"

    result = api.post_yaml(text, path, params={"namespace": LONG})

    assert_fault(result, 400, "parameter namespace", "at most 255 characters")


@pytest.mark.parametrize(
    ("path", "text", "what"),
    [
        ("/v2/workflows", _wf(LONG), "workflow name"),
        ("/v2/workbooks", _wb(LONG), "workbook name"),
        ("/v2/actions", f"version: '2.0'\n{LONG}:\n  base: std.noop\n", "action name"),
    ],
)
def test_a_definition_name_over_255_characters_is_a_400(api: Api, path: str, text: str, what: str) -> None:
    assert_fault(api.post_yaml(text, path), 400, what, "at most 255 characters")


def test_255_characters_of_four_bytes_are_a_valid_name(api: Api) -> None:
    assert api.post_yaml(_wf(OK)).status_code == 201
    assert api.post_json("/v2/environments", {"name": OK, "variables": {}}).status_code == 201
