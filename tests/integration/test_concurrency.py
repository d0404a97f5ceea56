"""Many clients pushing a result for the same action execution at once, over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.support import Api, Response

pytestmark = pytest.mark.integration

CLIENTS = 50
WAIT_THEN_NOOP = """\
---
version: '2.0'
wait_then_noop:
  output:
    res: <% $.res %>
  tasks:
    t1:
      action: std.async_noop
      publish:
        res: <% task().result %>
      on-success:
        - t2
    t2:
      action: std.noop
"""


@pytest.fixture(scope="module")
def wf_api(api: Api) -> Api:
    """The API with this module's workflow."""
    api.create_workflows(WAIT_THEN_NOOP)
    return api


def _push_all_at_once(api: Api, action_ex_id: str, outputs: Sequence[Any]) -> list[Response]:
    """PUT one result per output from its own thread, all released together; the answers in order."""
    barrier = threading.Barrier(len(outputs))

    def push(output: Any) -> Response:
        barrier.wait()
        return api.push(action_ex_id, {"state": "SUCCESS", "output": output})

    with ThreadPoolExecutor(max_workers=len(outputs)) as pool:
        return list(pool.map(push, outputs))


def _assert_one_transition(api: Api, ex_id: str, result: Any) -> None:
    """The workflow finished once: one t1 with one action execution, one t2, the output of ``result``."""
    assert api.wait_finished(ex_id)["state"] == "SUCCESS"
    tasks = api.tasks(ex_id)
    assert sorted((t["name"], t["state"]) for t in tasks) == [("t1", "SUCCESS"), ("t2", "SUCCESS")]
    actions = api.action_executions(api.task(ex_id, "t1")["id"])
    assert len(actions) == 1, actions
    stored = api.get(f"/v2/action_executions/{actions[0]['id']}")
    assert (stored["state"], json.loads(stored["output"])) == ("SUCCESS", {"result": result})
    assert api.output(ex_id) == {"res": result}


def test_the_same_result_pushed_concurrently_makes_one_transition(wf_api: Api) -> None:
    ex_id = wf_api.start("wait_then_noop")["id"]
    action_ex_id = wf_api.wait_running_action(ex_id, "t1")["id"]

    answers = _push_all_at_once(wf_api, action_ex_id, [3] * CLIENTS)

    assert [a.status for a in answers] == [200] * CLIENTS, [str(a) for a in answers if a.status != 200]
    assert len({a.body for a in answers}) == 1, {a.body for a in answers}
    _assert_one_transition(wf_api, ex_id, 3)


def test_different_results_pushed_concurrently_one_wins_and_the_rest_conflict(wf_api: Api) -> None:
    ex_id = wf_api.start("wait_then_noop")["id"]
    action_ex_id = wf_api.wait_running_action(ex_id, "t1")["id"]
    outputs = list(range(100, 100 + CLIENTS))

    answers = _push_all_at_once(wf_api, action_ex_id, outputs)

    assert {a.status for a in answers} <= {200, 409}, [str(a) for a in answers if a.status not in (200, 409)]
    winners = [output for output, answer in zip(outputs, answers, strict=True) if answer.status == 200]
    assert len(winners) == 1, winners
    for answer in answers:
        if answer.status == 409:
            assert "already SUCCESS" in answer.json()["faultstring"]
    _assert_one_transition(wf_api, ex_id, winners[0])
