"""Maintenance mode on real servers: an upgrade-like pause, restart and resume over one SQLite file
(async waits stay answerable throughout), and two servers over one PostgreSQL database seeing
and changing the same mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import Api, ProcessGroup, wait_until

pytestmark = pytest.mark.integration

WORKFLOWS = """\
---
version: '2.0'
wait_then_say:
  tasks:
    wait:
      action: std.async_noop
      publish:
        answer: <% task().result %>
      on-success: say
    say:
      action: std.echo output=<% $.answer %>
      publish:
        said: <% task().result %>
nap:
  tasks:
    sleep:
      action: std.sleep seconds=3
"""


def mode(api: Api) -> str:
    status: str = api.get("/maintenance")["status"]
    return status


def ask(api: Api, status: str) -> str:
    answer: str = api.ok("PUT", "/maintenance", {"status": status})["status"]
    return answer


def wait_mode(api: Api, status: str) -> None:
    wait_until(lambda: mode(api) == status, f"the maintenance mode to be {status}")


def state(api: Api, ex_id: str) -> str:
    found: str = api.execution(ex_id)["state"]
    return found


def task_names(api: Api, ex_id: str) -> list[str]:
    return sorted(t["name"] for t in api.tasks(ex_id))


def test_an_upgrade_pauses_restarts_and_resumes_with_every_wait_answerable(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    database = tmp_path / "upgrade.db"
    old = processes.server(database)
    api = old.api
    api.create_workflows(WORKFLOWS)
    first, second, held = (api.start("wait_then_say")["id"] for _ in range(3))
    waits = {ex_id: api.wait_running_action(ex_id, "wait")["id"] for ex_id in (first, second, held)}
    api.ok("PUT", f"/v2/executions/{held}", {"state": "PAUSED"})  # a user's pause
    napping = api.start("nap")["id"]
    api.wait_running_action(napping, "sleep")

    assert ask(api, "PAUSED") == "PAUSING"  # a synchronous action is in its executor
    wait_mode(api, "PAUSED")  # once it is done; the async waits do not hold it back
    assert state(api, napping) == "PAUSED"
    refused = api.call("POST", "/v2/executions", {"workflow_name": "nap"})
    assert refused.status == 423, refused
    assert "maintenance (PAUSED)" in refused.json()["faultstring"]

    assert old.stop() == 0, old.log()[-3000:]  # the upgrade: the old version stops ...
    new = processes.server(database)  # ... and the new one starts over the same database
    api = new.api
    assert mode(api) == "PAUSED"
    assert [state(api, ex_id) for ex_id in (first, second, held)] == ["PAUSED"] * 3
    pushed = api.push(waits[first], {"state": "SUCCESS", "output": "forty-two"})
    assert pushed.status == 200, pushed  # a third party's result is kept ...
    assert state(api, first) == "PAUSED"
    assert task_names(api, first) == ["wait"]  # ... and nothing runs on it yet

    assert ask(api, "RUNNING") == "RUNNING"
    assert api.wait_finished(first)["state"] == "SUCCESS"
    assert api.task(first, "say")["published"] == '{"said": "forty-two"}'
    assert api.wait_finished(napping)["state"] == "SUCCESS"
    assert state(api, second) == "RUNNING"  # still waiting, and still answerable
    assert api.push(waits[second], {"state": "SUCCESS", "output": "later"}).status == 200
    assert api.wait_finished(second)["state"] == "SUCCESS"
    assert state(api, held) == "PAUSED"  # the user's pause outlived maintenance
    assert api.execution(held)["state_info"] is None
    assert api.call("POST", "/v2/executions", {"workflow_name": "nap"}).status == 201


def _both(processes: ProcessGroup, url: str, tmp_path: Path) -> tuple[Api, Api]:
    one = processes.server(database_url=url)
    other = processes.server(tmp_path / "unused.db", database_url=url)
    return one.api, other.api


@pytest.mark.postgres
def test_two_servers_over_one_database_share_the_mode(
    processes: ProcessGroup,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    one, other = _both(processes, pg_url, tmp_path)
    one.create_workflows(WORKFLOWS)
    started = [one.start("wait_then_say")["id"], other.start("wait_then_say")["id"]]
    waits = [one.wait_running_action(ex_id, "wait")["id"] for ex_id in started]

    assert ask(one, "PAUSED") == "PAUSED"
    assert mode(other) == "PAUSED"
    assert [state(other, ex_id) for ex_id in started] == ["PAUSED", "PAUSED"]
    refused: Any = other.call("POST", "/v2/executions", {"workflow_name": "nap"})
    assert refused.status == 423, refused
    assert other.push(waits[0], {"state": "SUCCESS", "output": "kept"}).status == 200

    assert ask(other, "RUNNING") == "RUNNING"
    assert mode(one) == "RUNNING"
    assert one.wait_finished(started[0])["state"] == "SUCCESS"
    assert one.push(waits[1], {"state": "SUCCESS", "output": "then"}).status == 200
    assert other.wait_finished(started[1])["state"] == "SUCCESS"
