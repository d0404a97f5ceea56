"""Stopping and restarting the server process over the same SQLite file.

Nothing waits in memory for an async action, so the wait survives SIGTERM and kill -9;
what was committed before a kill -9 is still there after it; a sync action caught
mid-run by kill -9 is failed at start-up (never run twice), and SIGTERM lets it finish.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from tests.integration.support import Api, ProcessGroup, Recorder

pytestmark = [pytest.mark.integration, pytest.mark.slow]

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
echo_then_wait:
  output:
    greeting: <% $.greeting %>
    res: <% $.res %>
  tasks:
    t1:
      action: std.echo output="hello"
      publish:
        greeting: <% task().result %>
      on-success:
        - t2
    t2:
      action: std.async_noop
      publish:
        res: <% task().result %>
sleeps:
  input:
    - seconds
  tasks:
    t1:
      action: std.sleep seconds=<% $.seconds %>
calls:
  input:
    - url
  tasks:
    t1:
      action: std.http url=<% $.url %> timeout=60
"""
#: The executor records that an async action was handed off in a later engine transaction, and no
#: API field shows it: past this grace the record is surely committed (it takes milliseconds).
HAND_OFF_GRACE_S = 1.0
EXIT_CODES = {signal.SIGTERM: 0, signal.SIGKILL: -signal.SIGKILL}


def _waiting(api: Api, workflow: str, task: str) -> tuple[str, str]:
    """Start ``workflow``; once its async action of ``task`` was handed off: the execution and action ids."""
    ex_id = api.start(workflow)["id"]
    action_ex_id = api.wait_running_action(ex_id, task)["id"]
    time.sleep(HAND_OFF_GRACE_S)
    return ex_id, action_ex_id


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill -9"])
def test_an_async_action_waits_across_a_restart(processes: ProcessGroup, stop_signal: signal.Signals) -> None:
    first = processes.server()
    first.api.create_workflows(WORKFLOWS)
    ex_id, action_ex_id = _waiting(first.api, "wait_one", "t1")

    assert first.stop(stop_signal) == EXIT_CODES[stop_signal], first.log()[-3000:]
    second = processes.server(port=first.port)  # the same database file

    assert second.api.get(f"/v2/action_executions/{action_ex_id}")["state"] == "RUNNING"
    answer = second.api.push(action_ex_id, {"state": "SUCCESS", "output": 3})
    assert answer.status == 200, answer
    assert second.api.wait_finished(ex_id)["state"] == "SUCCESS"
    assert second.api.output(ex_id) == {"res": 3}


def test_after_kill_9_everything_committed_is_still_there(processes: ProcessGroup) -> None:
    first = processes.server()
    first.api.create_workflows(WORKFLOWS)
    ex_id, action_ex_id = _waiting(first.api, "echo_then_wait", "t2")
    before = first.api.snapshot()
    details = {
        path: first.api.get(path) for path in (f"/v2/executions/{ex_id}", f"/v2/executions/{ex_id}/tasks")
    }

    first.kill()
    second = processes.server(port=first.port)

    assert second.api.snapshot() == before
    assert {path: second.api.get(path) for path in details} == details
    assert json.loads(second.api.task(ex_id, "t1")["published"]) == {"greeting": "hello"}
    assert second.api.push(action_ex_id, {"state": "SUCCESS", "output": 3}).status == 200
    assert second.api.wait_finished(ex_id)["state"] == "SUCCESS"
    assert second.api.output(ex_id) == {"greeting": "hello", "res": 3}


def test_a_sync_action_caught_by_kill_9_is_failed_at_restart_not_run_again(processes: ProcessGroup) -> None:
    first = processes.server()
    first.api.create_workflows(WORKFLOWS)
    with Recorder(hold=threading.Event()) as service:  # std.http (not safe to re-run) waits for its answer
        ex_id = first.api.start("calls", {"url": service.url})["id"]
        action_ex_id = first.api.wait_running_action(ex_id, "t1")["id"]
        service.wait_requests(1)

        first.kill()
        second = processes.server(port=first.port)
        execution = second.api.wait_finished(ex_id)

        assert len(service.requests) == 1  # not sent again
    assert execution["state"] == "ERROR"
    action_ex = second.api.get(f"/v2/action_executions/{action_ex_id}")
    message = json.loads(action_ex["output"])["result"]
    assert action_ex["state"] == "ERROR"
    assert message.startswith("The server stopped while action std.http was")
    assert message.endswith("so it was not run again")
    task = second.api.task(ex_id, "t1")
    assert (task["state"], task["state_info"]) == ("ERROR", message)
    assert message in execution["state_info"]
    assert "Traceback" not in execution["state_info"]


def test_sigterm_lets_a_running_sync_action_finish_first(processes: ProcessGroup) -> None:
    first = processes.server()
    first.api.create_workflows(WORKFLOWS)
    ex_id = first.api.start("sleeps", {"seconds": 1})["id"]
    first.api.wait_running_action(ex_id, "t1")

    assert first.stop(signal.SIGTERM) == 0, first.log()[-3000:]
    second = processes.server(port=first.port)

    assert second.api.execution(ex_id)["state"] == "SUCCESS"
    assert second.api.task(ex_id, "t1")["state"] == "SUCCESS"
