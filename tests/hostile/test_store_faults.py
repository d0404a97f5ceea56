"""A fault of the store never changes an accepted result; writes resume by themselves when it clears.

Real ``mistral-core serve`` processes: on PostgreSQL whose connections are killed (``pg_terminate_backend``)
again and again under load, and on SQLite whose file system fills up and turns read-only (a small
tmpfs mounted by the test; the machines of this project, CI included, run tests as root).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mistral_core.errors import StoreUnavailable
from mistral_core.model import Timer
from mistral_core.persistence.sql import open_store
from tests.contract.conftest import pg_schema
from tests.integration.support import Api, ProcessGroup, Response, process_group, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKFLOWS = """
version: '2.0'
chain:
  tasks:
    t1: {action: std.noop, on-success: [t2]}
    t2: {action: std.echo output=2, on-success: [t3]}
    t3: {action: std.noop, on-success: [t4]}
    t4: {action: std.echo output=4, publish: {last: <% task().result %>}}
  output: {last: <% $.last %>}
wait:
  tasks:
    ask:
      action: std.async_noop
      publish: {answer: <% task().result %>}
  output: {answer: <% $.answer %>}
"""


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    with process_group(tmp_path) as group:
        yield group


def _patient(api: Api, method: str, path: str, body: Any = None, attempts: int = 50) -> Response:
    """A client that honours 503 + Retry-After (as a careful third party would); any other answer is kept."""
    for _ in range(attempts):
        answer = api.call(method, path, body)
        if answer.status != 503:
            return answer
        assert answer.headers.get("retry-after"), "a 503 says when to try again"
        time.sleep(min(float(answer.headers["retry-after"]), 0.2))
    return answer


# -- PostgreSQL: connections killed under load -------------------------------------------------


KILL = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s"


class Killer(threading.Thread):
    """Terminates every connection of the server (by application_name) every ``every`` seconds."""

    def __init__(self, admin: Any, application: str, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self._admin, self._application, self._every = admin, application, every
        self.stop = threading.Event()
        self.killed = 0

    def run(self) -> None:
        with self._admin.cursor() as cursor:
            while not self.stop.wait(self._every):
                cursor.execute(KILL, (self._application,))
                self.killed += cursor.fetchone()[0]


def _one_chain(api: Api) -> str:
    answer = _patient(api, "POST", "/v2/executions", {"workflow_name": "chain"})
    assert answer.status == 201, answer
    ex_id: str = answer.json()["id"]
    return ex_id


def _one_wait(api: Api) -> str:
    answer = _patient(api, "POST", "/v2/executions", {"workflow_name": "wait"})
    assert answer.status == 201, answer
    ex_id: str = answer.json()["id"]
    action = wait_until(lambda: _running_action(api, ex_id), "the async action to run", timeout=60)
    pushed = _patient(api, "PUT", f"/v2/action_executions/{action}", {"state": "SUCCESS", "output": 7})
    assert pushed.status == 200, pushed
    return ex_id


def _running_action(api: Api, ex_id: str) -> str | None:
    tasks = _patient(api, "GET", f"/v2/executions/{ex_id}/tasks").json().get("tasks", [])
    if not tasks:
        return None
    answer = _patient(api, "GET", f"/v2/tasks/{tasks[0]['id']}/action_executions")
    found = [a for a in answer.json().get("action_executions", []) if a["state"] == "RUNNING"]
    return found[0]["id"] if found else None


def _finished(api: Api, ex_id: str) -> dict[str, Any]:
    """Poll the execution (honouring 503 + Retry-After) until it finished; return it."""

    def done() -> dict[str, Any] | None:
        answer = _patient(api, "GET", f"/v2/executions/{ex_id}")
        assert answer.status == 200, answer
        execution: dict[str, Any] = answer.json()
        return execution if execution["state"] in ("SUCCESS", "ERROR", "CANCELLED") else None

    return wait_until(done, f"execution {ex_id} to finish")


@pytest.mark.postgres
def test_killed_postgresql_connections_change_no_accepted_result(processes: ProcessGroup) -> None:
    application = f"mc-hostile-{uuid.uuid4().hex[:8]}"
    with pg_schema() as (url, admin):
        server = processes.server(f"{url}&application_name={application}")
        api = server.api
        api.create_workflows(WORKFLOWS)
        killer = Killer(admin, application)
        killer.start()
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(8) as pool:
                chains = [pool.submit(_one_chain, api) for _ in range(300)]
                waits = [pool.submit(_one_wait, api) for _ in range(150)]
                ids = [f.result() for f in chains + waits]
        finally:
            killer.stop.set()
            killer.join(10)
        # Patient here too: a server thread whose connection the last kill hit answers one 503.
        finished = [_finished(api, ex_id) for ex_id in ids]
        server.stop()  # before the schema is dropped
        print(
            f"\n{len(ids)} executions under {killer.killed} killed connections "
            f"in {time.monotonic() - started:.1f} s"
        )

    assert killer.killed >= 10, "the test must really have killed connections"
    assert [e for e in finished if e["state"] != "SUCCESS"] == []
    outputs = {ex["workflow_name"]: ex["output"] for ex in finished}
    assert '"answer":7' in outputs["wait"].replace(" ", "") and '"last":4' in outputs["chain"].replace(
        " ", ""
    )


# -- SQLite: a disk that fills up, a file system that turns read-only -------------------------


@contextlib.contextmanager
def small_disk(path: Path, size: str = "16M") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (root only), unmounted afterwards."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.fail(
            f"cannot mount a tmpfs (the tests run as root on this project's machines): {mounted.stderr!r}"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(directory: Path) -> Path:
    """Write a file until the file system is full (unbuffered: closing it has nothing left to write,
    which would fail too, outside the suppression, whenever the last write was partial)."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            os.fsync(handle.fileno())
    return filler


def _waiting(api: Api, count: int) -> list[tuple[str, str]]:
    """Start ``count`` executions of ``wait``; their (execution id, action id)."""
    pairs = []
    for _ in range(count):
        ex_id = api.start("wait")["id"]
        pairs.append((ex_id, api.wait_running_action(ex_id, "ask")["id"]))
    return pairs


def test_a_full_disk_refuses_writes_with_503_and_they_resume_when_space_is_back(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        server = processes.server(disk / "mc.db")
        api = server.api
        api.create_workflows(WORKFLOWS)
        (first, first_action), (second, second_action) = _waiting(api, 2)
        filler = _fill(disk)

        refused = api.call("PUT", f"/v2/action_executions/{first_action}", {"state": "SUCCESS", "output": 1})
        started = api.call("POST", "/v2/executions", {"workflow_name": "chain"})
        assert (refused.status, started.status) == (503, 503), (refused, started)
        assert refused.headers.get("retry-after") == "1"
        assert "unavailable" in refused.json()["faultstring"]
        assert api.execution(first)["state"] == "RUNNING"  # nothing half-written

        filler.unlink()
        assert (
            api.call("PUT", f"/v2/action_executions/{first_action}", {"state": "SUCCESS", "output": 1}).status
            == 200
        )
        assert (
            api.call(
                "PUT", f"/v2/action_executions/{second_action}", {"state": "SUCCESS", "output": 2}
            ).status
            == 200
        )
        assert [api.wait_finished(e)["state"] for e in (first, second)] == ["SUCCESS", "SUCCESS"]
        assert api.wait_finished(api.start("chain")["id"])["state"] == "SUCCESS"  # no restart needed
        assert server.running


def test_a_database_file_made_read_only_fails_writes_and_they_resume_when_writable_again(
    tmp_path: Path,
) -> None:
    """0.1.0 kept failing every write until a restart: a connection SQLite opened while the file was
    read-only stays read-only. Now such a connection is dropped, and the next write opens a fresh one.

    ``chattr +i`` (immutable) is used because the tests run as root, which file modes do not stop.
    """
    database = tmp_path / "mc.db"
    store = open_store(f"sqlite:///{database}")
    store.upgrade()
    store.insert_timer(Timer(id="t0", due_at=dt.datetime(2030, 1, 1), kind="retry", target_id="x"))
    store.close()
    subprocess.run(["chattr", "+i", str(database)], check=True)
    try:
        with pytest.raises(StoreUnavailable, match="readonly"):  # a new connection: read-only
            store.insert_timer(Timer(id="t1", due_at=dt.datetime(2030, 1, 1), kind="retry", target_id="x"))
    finally:
        subprocess.run(["chattr", "-i", str(database)], check=True)

    store.insert_timer(Timer(id="t2", due_at=dt.datetime(2030, 1, 1), kind="retry", target_id="x"))
    assert store.count_timers() == 2
    store.close()
