"""A second ``mistral-core serve`` on the same SQLite database refuses before it touches anything.

The first server has a non-safe synchronous action running (std.http to a service that holds
its answer) and an asynchronous action waiting. A second server on the same database, on
another port and then on the same port, exits non-zero with one line naming the first; it
runs no recovery, so the first server's running action still completes SUCCESS and the
waiting one can still be completed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.integration.support import READY_TIMEOUT, ProcessGroup, Recorder, ServerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKFLOWS = """\
---
version: '2.0'
call_slow:
  input:
    - url
  tasks:
    call:
      action: std.http url=<% $.url %>
wait_one:
  tasks:
    wait:
      action: std.async_noop
"""


def _refused(second: ServerProcess) -> str:
    """Wait for ``second`` to exit; its log (it must have exited non-zero)."""
    wait_until(lambda: not second.running, "the second server to exit", timeout=READY_TIMEOUT)
    assert second.popen.returncode != 0, second.log()
    return second.log()


def test_a_second_server_on_the_same_database_refuses_and_changes_nothing(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    database = tmp_path / "shared.db"
    first = processes.server(database)
    api = first.api
    api.create_workflows(WORKFLOWS)
    hold = threading.Event()
    with Recorder(hold=hold) as slow_service:
        calling = api.start("call_slow", {"url": slow_service.url})["id"]
        waiting = api.start("wait_one")["id"]
        slow_service.wait_requests(1)  # std.http is running in the first server
        async_action = api.wait_running_action(waiting, "wait")["id"]

        for port in (None, first.port):  # another port, then the same one
            second = processes.server(database, port=port, wait=False)
            log = _refused(second)
            assert f"is in use by another mistral-core (pid {first.pid}, {first.base_url})" in log, log
            assert "Traceback" not in log
            assert "after the last stop" not in log  # nothing recovered

        assert api.execution(calling)["state"] == "RUNNING"
        hold.set()  # the slow service answers now
        assert api.wait_finished(calling)["state"] == "SUCCESS"

    assert api.push(async_action, {"state": "SUCCESS", "output": 1}).status == 200
    assert api.wait_finished(waiting)["state"] == "SUCCESS"
    assert "after the last stop" not in first.log()  # nothing recovered
    assert first.stop() == 0, first.log()[-3000:]


def test_the_lock_goes_with_the_process_even_after_kill_9(processes: ProcessGroup, tmp_path: Path) -> None:
    database = tmp_path / "killed.db"
    first = processes.server(database)
    first.kill()

    second = processes.server(database)  # no stale lock: the kernel released it

    assert second.api.get("/v2/workflows")["workflows"] == []
