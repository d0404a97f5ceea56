"""A workflow has at most MAX_TASKS tasks: starting a huge one held every other request for seconds."""

from __future__ import annotations

from mistral_core.lang.validation import MAX_TASKS
from tests.api.support import Api, assert_fault


def _workflow(tasks: int) -> str:
    body = "".join(f"    t{i}:\n      action: std.noop\n" for i in range(tasks))
    return f"version: '2.0'\nbig:\n  tasks:\n{body}"


def test_a_workflow_over_the_task_limit_is_a_400_naming_the_limit() -> None:
    api = Api()
    answer = api.post_yaml(_workflow(MAX_TASKS + 1))
    assert_fault(answer, 400, f"{MAX_TASKS + 1:,} tasks: a workflow has at most {MAX_TASKS:,}", "line 3")
    assert api.post_yaml(_workflow(MAX_TASKS), "/v2/workflows/validate").json["valid"] is True
