"""Results of asynchronous actions pushed over raw HTTP to a running server."""

from __future__ import annotations

import json

import pytest

from tests.integration.support import Api, Response

pytestmark = pytest.mark.integration

WORKFLOWS = """\
---
version: '2.0'
wait_one:
  output:
    res: <% $.res %>
  tasks:
    t1:
      action: std.async_noop
      publish:
        res: <% task().result %>
guarded:
  tasks:
    t1:
      action: std.async_noop
      on-error:
        - handler
    handler:
      action: std.echo output="handled"
      publish:
        handled: <% task().result %>
"""


JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def wf_api(api: Api) -> Api:
    """The API with this module's workflows."""
    api.create_workflows(WORKFLOWS)
    return api


def _assert_accepted(answer: Response, action_ex_id: str) -> None:
    assert answer.status == 200, answer
    body = answer.json()
    assert (body["id"], body["state"]) == (action_ex_id, "SUCCESS")
    assert json.loads(body["output"]) == {"result": 3}


def test_put_and_the_seeds_post_spelling_each_complete_their_execution(wf_api: Api) -> None:
    first, second = wf_api.start("wait_one")["id"], wf_api.start("wait_one")["id"]
    first_action = wf_api.wait_running_action(first, "t1")["id"]
    second_action = wf_api.wait_running_action(second, "t1")["id"]

    _assert_accepted(wf_api.push(first_action, {"state": "SUCCESS", "output": 3}), first_action)
    assert wf_api.wait_finished(first)["state"] == "SUCCESS"
    assert wf_api.execution(second)["state"] == "RUNNING"  # its own result has not come yet

    post = wf_api.push(second_action, {"state": "SUCCESS", "output": 3}, "POST", "action-executions")
    _assert_accepted(post, second_action)
    assert wf_api.wait_finished(second)["state"] == "SUCCESS"
    for ex_id in (first, second):
        assert wf_api.output(ex_id) == {"res": 3}
        assert wf_api.task(ex_id, "t1")["state"] == "SUCCESS"


def test_an_error_pushed_fails_the_task_and_routes_on_error(wf_api: Api) -> None:
    ex_id = wf_api.start("guarded")["id"]
    action_ex = wf_api.wait_running_action(ex_id, "t1")

    answer = wf_api.push(action_ex["id"], {"state": "ERROR", "output": "the service broke"})

    assert answer.status == 200, answer
    assert answer.json()["state"] == "ERROR"
    execution = wf_api.wait_finished(ex_id)
    assert execution["state"] == "SUCCESS", execution
    t1, handler = wf_api.task(ex_id, "t1"), wf_api.task(ex_id, "handler")
    assert t1["state"] == "ERROR"
    assert "the service broke" in (t1["state_info"] or "")
    assert handler["state"] == "SUCCESS"
    assert json.loads(handler["published"]) == {"handled": "handled"}


def test_a_result_pushed_with_a_chunked_body_completes_the_workflow(wf_api: Api) -> None:
    ex_id = wf_api.start("wait_one")["id"]
    action_ex_id = wf_api.wait_running_action(ex_id, "t1")["id"]
    body = json.dumps({"state": "SUCCESS", "output": 3}).encode()

    answer = wf_api.call(
        "PUT", f"/v2/action_executions/{action_ex_id}", data=body, headers=JSON_HEADERS, chunked=True
    )

    _assert_accepted(answer, action_ex_id)
    assert wf_api.wait_finished(ex_id)["state"] == "SUCCESS"
