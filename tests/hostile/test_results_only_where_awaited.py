"""A result can be pushed only where one is awaited: an asynchronous action's execution.

0.1.0 accepted ``PUT`` on a running ``std.sleep``: anyone could forge a synchronous action's
result. Now its executor alone reports it; a push is a 409 naming why, and the action's own
result counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.support import ServerProcess, process_group, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with process_group(tmp_path) as group:
        yield group.server()


def test_a_push_to_a_running_synchronous_action_is_409_and_its_own_result_counts(
    server: ServerProcess,
) -> None:
    api = server.api
    api.create_workflows(
        "version: '2.0'\nnap:\n  tasks:\n    sleep:\n      action: std.sleep seconds=1\n"
        "      publish: {r: <% task().result %>}\n  output: {r: <% $.r %>}\n"
    )
    ex_id = api.start("nap")["id"]
    action = api.wait_running_action(ex_id, "sleep")

    forged = api.call(
        "PUT", f"/v2/action_executions/{action['id']}", {"state": "SUCCESS", "output": "forged"}
    )
    also = api.call("POST", f"/v2/action-executions/{action['id']}", {"state": "ERROR", "output": "forged"})

    assert (forged.status, also.status) == (409, 409)
    assert "is synchronous" in forged.json()["faultstring"]
    finished = wait_until(lambda: _finished(server, ex_id), "the sleep to end")
    assert finished["state"] == "SUCCESS"
    assert "forged" not in finished["output"]


def _finished(server: ServerProcess, ex_id: str) -> dict[str, str] | None:
    execution = server.api.execution(ex_id)
    return execution if execution["state"] in ("SUCCESS", "ERROR") else None


def test_a_push_to_an_asynchronous_action_is_still_accepted(server: ServerProcess) -> None:
    api = server.api
    api.create_workflows("version: '2.0'\nask:\n  tasks:\n    wait: {action: std.async_noop}\n")
    ex_id = api.start("ask")["id"]
    action = api.wait_running_action(ex_id, "wait")

    assert (
        api.call("PUT", f"/v2/action_executions/{action['id']}", {"state": "SUCCESS", "output": 3}).status
        == 200
    )
    assert api.wait_finished(ex_id)["state"] == "SUCCESS"
