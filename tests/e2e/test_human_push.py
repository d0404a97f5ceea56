"""A person pushes an async action's result with ``mistral action-execution-update`` as the seed writes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import ServerProcess, mistral, mistral_json, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # the CLI takes ~0.4 s a command

WAIT_FOR_HUMAN = """\
---
version: '2.0'
{name}:
  output:
    res: <% $.res %>
  tasks:
    ask:
      action: std.async_noop
      publish:
        res: <% task().result %>
"""


def _waiting_action(base_url: str, directory: Path) -> tuple[str, str]:
    """Upload and start ``wait_for_human`` with the CLI; its execution id and the RUNNING action's id."""
    document = directory / "wait_for_human.yaml"
    document.write_text(WAIT_FOR_HUMAN.format(name="wait_for_human"))
    mistral_json(base_url, "workflow-create", str(document))
    ex_id = mistral_json(base_url, "execution-create", "wait_for_human")["ID"]

    def running_action() -> str | None:
        tasks = mistral_json(base_url, "task-list", ex_id)
        if not tasks:
            return None
        actions = mistral_json(base_url, "action-execution-list", tasks[0]["ID"])
        return next((a["ID"] for a in actions if a["State"] == "RUNNING"), None)

    action_ex_id = wait_until(running_action, "the RUNNING action execution of task ask", interval=0.1)
    listed = {a["ID"]: a["State"] for a in mistral_json(base_url, "action-execution-list")}
    assert listed[action_ex_id] == "RUNNING"  # also in the unfiltered list a person would look at first
    return ex_id, action_ex_id


def _finished(base_url: str, ex_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = mistral_json(base_url, "execution-get", ex_id)
        return execution if execution["State"] != "RUNNING" else None

    return wait_until(finished, f"execution {ex_id} to finish", interval=0.1)


def _output(base_url: str, ex_id: str) -> Any:
    result = mistral(base_url, "execution-get-output", ex_id)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_action_execution_update_as_the_seed_writes_it_completes_the_workflow(
    server: ServerProcess, tmp_path: Path
) -> None:
    base = server.base_url
    ex_id, action_ex_id = _waiting_action(base, tmp_path)

    result = mistral(base, "action-execution-update", action_ex_id, "--state", "SUCCESS", "--output", "3")

    assert result.returncode == 0, result.stderr
    assert _finished(base, ex_id)["State"] == "SUCCESS"
    assert _output(base, ex_id) == {"res": 3}
    (task,) = mistral_json(base, "task-list", ex_id)
    task_result = mistral(base, "task-get-result", task["ID"])
    assert json.loads(task_result.stdout) == 3, task_result.stderr


def test_the_same_update_again_succeeds_and_a_different_one_is_refused(server: ServerProcess) -> None:
    base, api = server.base_url, server.api
    api.create_workflows(WAIT_FOR_HUMAN.format(name="wait_again"))  # over REST: the CLI's part is the updates
    ex_id = api.start("wait_again")["id"]
    action_ex_id = api.wait_running_action(ex_id, "ask")["id"]
    update = ("action-execution-update", action_ex_id, "--state", "SUCCESS", "--output")
    assert mistral(base, *update, "3").returncode == 0
    assert api.wait_finished(ex_id)["state"] == "SUCCESS"

    again = mistral(base, *update, "3")
    different = mistral(base, *update, "4")

    assert again.returncode == 0, again.stderr
    assert different.returncode != 0
    assert len(different.stderr.strip().splitlines()) == 1, different.stderr
    assert "already SUCCESS" in different.stderr
    assert api.push(action_ex_id, {"state": "SUCCESS", "output": 4}).status == 409
    assert _output(base, ex_id) == {"res": 3}  # nothing changed


def test_action_execution_get_shows_the_progress_heartbeat_and_deadline(server: ServerProcess) -> None:
    api = server.api
    api.create_workflows(
        "version: '2.0'\nwait_beating:\n  tasks:\n    ask: {action: std.async_noop, timeout: 600}\n"
    )
    ex_id = api.start("wait_beating")["id"]
    action_ex_id = api.wait_running_action(ex_id, "ask")["id"]
    beat = {"progress": {"percent": 40, "note": "copying"}, "extend_by": 3600}
    answer = api.call("POST", f"/v2/action_executions/{action_ex_id}/heartbeat", beat)
    assert answer.status == 200, answer

    shown = mistral_json(server.base_url, "action-execution-get", action_ex_id)

    assert shown["State"] == "RUNNING"
    info = shown["State info"]
    assert info.startswith("waiting: 40% copying; last heartbeat ")
    assert "; deadline " in info  # the timeout's, moved an hour later by extend_by
