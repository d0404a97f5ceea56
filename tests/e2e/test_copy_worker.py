"""The contrib copy worker against a real server with authentication on: it heartbeats with
progress, extends its deadline past the task's timeout, and stops when the execution is cancelled."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import (
    HOST,
    REPO_ROOT,
    Api,
    Process,
    ProcessGroup,
    create_key,
    free_port,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKER = REPO_ROOT / "contrib" / "copy_worker" / "copy_worker.py"
WORKFLOW = (REPO_ROOT / "contrib" / "example_workflows" / "long_copy.yaml").read_text()


def _setup(processes: ProcessGroup, tmp_path: Path, step: float) -> tuple[Api, Process, str]:
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    secret = create_key(url, "boss", "admin", tmp_path)
    server = processes.server(database=url, options=("--auth", "keys"))
    port = free_port()
    options = ["--port", str(port), "--step", str(step), "--beat", "1", "--extend", "4"]
    worker = processes.spawn("copy worker", [sys.executable, str(WORKER), "--host", HOST, *options])
    worker.wait_port(port)
    api = Api(server.base_url, secret)
    api.create_workflows(WORKFLOW)
    return api, worker, f"http://{HOST}:{port}"


def _history(api: Api, action_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = api.get(f"/v2/action_executions/{action_id}/history")["history"]
    return entries


def test_the_worker_reports_progress_outlives_the_timeout_and_delivers(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    api, worker, url = _setup(processes, tmp_path, step=0.4)
    ex_id = api.start("long_copy", {"worker": url, "files": 20})["id"]  # 8 s of work, timeout 5 s
    action_id = api.wait_running_action(ex_id, "copy")["id"]

    progress = wait_until(lambda: api.get(f"/v2/action_executions/{action_id}")["progress"], "a heartbeat")
    assert 0 <= progress["percent"] <= 100 and "files" in progress["note"]
    execution = api.wait_finished(ex_id)

    assert execution["state"] == "SUCCESS", execution
    assert api.output(ex_id) == {"copied": 20}
    assert "asked for 4s more" in worker.log()  # it asked for more time, and the task did not time out
    (entry,) = _history(api, action_id)
    assert (entry["outcome"], entry["by"]) == ("accepted", "callback-token")


def test_cancelling_the_execution_stops_the_worker(processes: ProcessGroup, tmp_path: Path) -> None:
    api, worker, url = _setup(processes, tmp_path, step=1.0)
    ex_id = api.start("long_copy", {"worker": url, "files": 60})["id"]
    action_id = api.wait_running_action(ex_id, "copy")["id"]
    wait_until(lambda: api.get(f"/v2/action_executions/{action_id}")["progress"], "a heartbeat")

    assert api.call("PUT", f"/v2/executions/{ex_id}", {"state": "CANCELLED"}).status == 200

    wait_until(lambda: "stopped after" in worker.log(), "the worker to stop")
    assert f"cancel notice for {action_id}: cancelled" in worker.log()
    notified = [e for e in _history(api, action_id) if e["outcome"] == "notified"]
    assert [json.dumps(e["reason"]) for e in notified] == ['"try 1: cancelled"']
    assert api.execution(ex_id)["state"] == "CANCELLED"
