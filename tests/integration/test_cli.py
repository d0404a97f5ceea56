"""The ``mistral-core`` command itself: actions, db upgrade, and serve when its port is taken."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from mistral_core.persistence.migrations import LATEST_VERSION
from tests.integration.support import (
    BIN_DIR,
    HOST,
    READY_TIMEOUT,
    ProcessGroup,
    clean_env,
    request,
    wait_until,
)

pytestmark = pytest.mark.integration

WAIT_ONE = """\
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
"""


def _mistral_core(*args: str, cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    command = [str(BIN_DIR / "mistral-core"), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=clean_env(), cwd=cwd, timeout=timeout, check=False
    )


def test_actions_lists_the_plugins_with_sync_and_parameters(tmp_path: Path) -> None:
    result = _mistral_core("actions", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    rows = {
        line.split()[0]: line.split(maxsplit=2)[1:] for line in result.stdout.splitlines() if line.strip()
    }
    assert rows["std.noop"] == ["sync"]
    assert rows["std.async_noop"] == ["async"]
    assert rows["std.echo"] == ["sync", "output, delay=0"]
    assert rows["std.http"][0] == "sync"
    assert rows["std.mistral_http"][0] == "async"
    for name in ("std.http", "std.mistral_http"):
        assert rows[name][1].startswith('url, method="GET", params=null, body=null, json=null, headers=null')


def test_actions_as_json(tmp_path: Path) -> None:
    result = _mistral_core("actions", "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    actions = {row["name"]: row for row in json.loads(result.stdout)}
    assert {
        "std.noop",
        "std.echo",
        "std.fail",
        "std.async_noop",
        "std.sleep",
        "std.http",
        "std.mistral_http",
    } <= set(actions)
    assert actions["std.mistral_http"]["is_sync"] is False
    assert actions["std.http"]["is_sync"] is True
    assert actions["std.sleep"]["input"] == "seconds=1"


def test_db_upgrade_creates_the_schema_then_has_nothing_to_do(tmp_path: Path) -> None:
    database = tmp_path / "upgraded.db"
    url = f"sqlite:///{database}"

    first = _mistral_core("db", "upgrade", "--database-url", url, cwd=tmp_path)
    second = _mistral_core("db", "upgrade", "--database-url", url, cwd=tmp_path)

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert first.stdout == f"created schema version {LATEST_VERSION}\n"
    assert second.stdout == f"already at schema version {LATEST_VERSION}\n"
    assert database.is_file()


def test_serve_on_a_taken_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _mistral_core(
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path / 'x.db'}",
            cwd=tmp_path,
            timeout=30,
        )

    assert result.returncode != 0
    assert f"cannot listen on {HOST}:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_server_on_the_same_port_refuses_to_start(processes: ProcessGroup, tmp_path: Path) -> None:
    first = processes.server(tmp_path / "first.db")
    first.api.create_workflows(
        "---\nversion: '2.0'\nonly_on_first:\n  tasks:\n    t1:\n      action: std.noop\n"
    )
    second = processes.server(tmp_path / "second.db", port=first.port, wait=False)

    def outcome() -> str:
        if not second.running:
            return "the second server exited"
        workflows = request("GET", f"{first.base_url}/v2/workflows").json()["workflows"]
        return "" if workflows else "the second server answered on the first one's port"

    exited = wait_until(outcome, "the second server to exit or to answer", timeout=READY_TIMEOUT)
    assert exited == "the second server exited"
    assert second.popen.returncode != 0
    assert f"cannot listen on {HOST}:{first.port}" in second.log()


def test_serve_with_two_http_threads_completes_an_async_workflow(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    (tmp_path / "mistral-core.toml").write_text("http_threads = 2\n")  # the app runs on a thread pool
    server = processes.server()
    api = server.api
    api.create_workflows(WAIT_ONE)
    ex_id = api.start("wait_one")["id"]
    action_ex_id = api.wait_running_action(ex_id, "t1")["id"]

    answer = api.push(action_ex_id, {"state": "SUCCESS", "output": 3}, "POST", "action-executions")

    assert answer.status == 200, answer
    assert api.wait_finished(ex_id)["state"] == "SUCCESS"
    assert api.output(ex_id) == {"res": 3}
    assert server.stop() == 0, server.log()[-3000:]


def test_a_setting_of_0_1_0_that_is_gone_stops_the_server_naming_it(tmp_path: Path) -> None:
    (tmp_path / "mistral-core.toml").write_text('http_server = "granian"\n')

    result = _mistral_core("serve", "--database-url", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)

    assert result.returncode != 0
    assert "unknown setting(s) in mistral-core.toml: http_server" in result.stderr
    assert not (tmp_path / "x.db").exists()
