"""Patterns in the JSON Schemas authors write (output-schema, approval forms) match in linear time.

``^(a+)+$`` against forty ``a`` and a ``!`` backtracks for hours in Python's ``re``, in one C call
nothing can interrupt: one pushed result (or one answer to a form) froze the whole server.
"""

from __future__ import annotations

import pytest

from tests.api.support import Api, assert_fault

EVIL = "^(a+)+$"
EVIL_TEXT = "a" * 40 + "!"


def _workflow(schema: str) -> str:
    return (
        "version: '2.0'\nwf_async:\n  tasks:\n    t1:\n      action: std.async_noop\n"
        f"      output-schema: {schema}\n"
    )


@pytest.mark.parametrize(
    "schema",
    [
        '{type: string, pattern: "' + EVIL + '"}',
        '{type: object, patternProperties: {"' + EVIL + '": {type: string}}, additionalProperties: false}',
        '{type: object, properties: {k: {type: string, pattern: "' + EVIL + '"}}}',
    ],
)
def test_a_backtracking_pattern_is_matched_in_linear_time(schema: str) -> None:
    api = Api()
    api.create_workflow(_workflow(schema))
    _, action = api.start_async()
    value: object = EVIL_TEXT
    if "patternProperties" in schema:
        value = {EVIL_TEXT: "x", "other": "y"}
    elif "properties: {k" in schema:
        value = {"k": EVIL_TEXT}
    answer = api.put_json(f"/v2/action_executions/{action['id']}", {"state": "SUCCESS", "output": value})
    assert_fault(answer, 422, "does not match the output-schema")


def test_a_pattern_re2_cannot_run_is_refused_at_upload() -> None:
    answer = Api().post_yaml(_workflow('{type: string, pattern: "(a)\\\\1"}'))
    assert_fault(answer, 400, "patterns are RE2 regular expressions")
