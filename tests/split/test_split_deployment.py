"""The split deployment under faults: 1 API (gunicorn, 2 workers), 2 engines, 2 executors (one
with a target) over the real PostgreSQL and RabbitMQ run 500 workflows — chains, joins,
with-items, async waits pushed over REST, targeted actions that must not run twice — while one
engine and one executor are killed with SIGKILL and the broker is restarted. Then every
workflow has ended as it should, every accepted result is in its workflow's output, and no
action that is not safe to re-run ran twice (a local HTTP service counts each run).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import (
    BIN_DIR,
    HOST,
    Api,
    Process,
    ProcessGroup,
    clean_env,
    free_port,
    request,
    wait_until,
)
from tests.split import broker

#: Seconds a process of the deployment may take to be ready on a busy machine.
READY = 120.0

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]

PER_KIND = 100
IN_DOUBT = "The server stopped while action std.http was running"

WORKFLOWS = """\
---
version: '2.0'
chain:
  input: [n]
  tasks:
    a:
      action: std.echo output=<% $.n %>
      publish: {a: <% task().result %>}
      on-success: b
    b:
      action: std.noop
      on-success: c
    c:
      action: std.echo output=<% $.a + 1 %>
      publish: {c: <% task().result %>}
  output: {c: <% $.c %>}
join:
  input: [n]
  tasks:
    start:
      action: std.noop
      on-success: [p1, p2, p3]
    p1:
      action: std.echo output=1
      on-success: j
    p2:
      action: std.echo output=2
      on-success: j
    p3:
      action: std.echo output=3
      on-success: j
    j:
      join: all
      action: std.echo output=<% $.n %>
      publish: {j: <% task().result %>}
  output: {j: <% $.j %>}
items:
  input: [n]
  tasks:
    each:
      with-items: i in <% range(0, 5) %>
      action: std.echo output=<% $.i + $.n %>
      publish: {items: <% task().result %>}
  output: {items: <% $.items %>}
wait:
  input: [n]
  tasks:
    w:
      action: std.async_noop
      publish: {got: <% task().result.v %>}
      on-success: after
    after:
      action: std.noop
  output: {got: <% $.got %>}
once:
  input: [n, url, zone]
  tasks:
    call:
      action: std.http
      input:
        url: <% $.url + '/run/' + execution().id %>
        method: POST
      target: <% $.zone %>
      on-success: after
    after:
      action: std.echo output=<% $.n %>
"""
KINDS = ("chain", "join", "items", "wait", "once")


class Counting(http.server.ThreadingHTTPServer):
    """A local service that takes 0.2 s per call and counts the calls of each path (one line per
    call in a file as well, for whoever reads the logs)."""

    daemon_threads = True

    def __init__(self, journal: Path) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.journal = journal.open("a")
        super().__init__((HOST, 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Counting

    def do_POST(self) -> None:
        with self.server.lock:
            self.server.calls[self.path] += 1
            self.server.journal.write(self.path + "\n")
            self.server.journal.flush()
        time.sleep(0.2)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def counting(tmp_path: Path) -> Iterator[Counting]:
    server = Counting(tmp_path / "calls.txt")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    server.journal.close()


@pytest.fixture
def amqp_url() -> Iterator[str]:
    with broker.vhost() as url:
        yield url


class Deployment:
    """The processes of the split deployment, started as an operator would (the CLI)."""

    def __init__(self, processes: ProcessGroup, database_url: str, transport: str) -> None:
        self.processes = processes
        self.port = free_port()
        self.env = clean_env(
            {
                "MISTRAL_CORE_DATABASE_URL": database_url,
                "MISTRAL_CORE_TRANSPORT": transport,
                "MISTRAL_CORE_ENGINE_LEASE": "10",
                "MISTRAL_CORE_EXECUTOR_LEASE": "15",
                "MISTRAL_CORE_PUBLIC_URL": f"http://{HOST}:{self.port}",
            }
        )
        self.api = Api(f"http://{HOST}:{self.port}")

    def spawn(self, name: str, *args: str) -> Process:
        return self.processes.spawn(name, [str(BIN_DIR / "mistral-core"), *args], self.env)

    def start(self) -> dict[str, Process]:
        started = {
            "engine1": self.spawn("engine 1", "engine"),
            "engine2": self.spawn("engine 2", "engine"),
            "executor": self.spawn("executor", "executor"),
            "zone1": self.spawn("executor zone1", "executor", "--target", "zone1"),
            "api": self.spawn("api", "api", "--port", str(self.port), "--workers", "2"),
        }
        self.wait_api(started["api"])
        return started

    def start_small(self, *api_args: str) -> Process:
        """One engine, one executor and the API (with ``api_args``), answering; the API's process."""
        self.spawn("engine", "engine")
        self.spawn("executor", "executor")
        api_process = self.spawn("api", "api", "--port", str(self.port), *api_args)
        self.wait_api(api_process)
        return api_process

    def wait_api(self, api_process: Process) -> None:
        """Wait until the API's workers answer (a busy machine takes many seconds to boot them;
        gunicorn listens long before): five answers in a row, so both workers are likely up."""
        api_process.wait_port(self.port, timeout=READY)
        answered = 0

        def answers() -> bool:
            nonlocal answered
            try:
                ok = request("GET", f"{self.api.base_url}/v2/workflows", timeout=READY).status == 200
            except OSError:
                ok = False
            answered = answered + 1 if ok else 0
            return answered >= 5

        wait_until(answers, "the API's workers to answer", timeout=READY)


def _start_all(api: Api, url: str) -> dict[str, tuple[str, int]]:
    """Start PER_KIND executions of each kind, interleaved, from 4 client threads."""
    jobs = [(kind, n) for n in range(PER_KIND) for kind in KINDS]

    def start(job: tuple[str, int]) -> tuple[str, tuple[str, int]]:
        kind, n = job
        wf_input: dict[str, Any] = {"n": n}
        if kind == "once":
            wf_input.update(url=url, zone="zone1" if n % 2 else "")
        return str(api.start(kind, wf_input)["id"]), job

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(start, jobs))


class Pusher:
    """Pushes the results of the async waits over REST while the workflows run; keeps the
    results the API accepted."""

    def __init__(self, api: Api, executions: dict[str, tuple[str, int]]) -> None:
        self.api = api
        self.executions = executions
        self.accepted: dict[str, int] = {}
        self.tasks: dict[str, str] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _execution_of(self, task_id: str) -> str | None:
        if task_id not in self.tasks:
            task = self.api.call("GET", f"/v2/tasks/{task_id}")
            if task.status != 200:
                return None
            self.tasks[task_id] = task.json()["workflow_execution_id"]
        return self.tasks[task_id]

    def _loop(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(OSError):  # an API worker restarting: next round
                self._round()
            self.stop.wait(0.2)

    def _round(self) -> None:
        answer = self.api.call("GET", "/v2/action_executions?state=RUNNING&limit=1000")
        if answer.status != 200:
            return
        for action in answer.json()["action_executions"]:
            if action["name"] != "std.async_noop":
                continue
            ex_id = self._execution_of(action["task_execution_id"])
            if ex_id not in self.executions or ex_id in self.accepted:
                continue
            value = self.executions[ex_id][1]
            put = self.api.call(
                "PUT", f"/v2/action_executions/{action['id']}", {"state": "SUCCESS", "output": {"v": value}}
            )
            if put.status == 200:
                self.accepted[ex_id] = value


def _unfinished(api: Api) -> int:
    listed = api.call("GET", "/v2/executions?state=nin:SUCCESS,ERROR,CANCELLED&limit=1000").json()
    return len(listed["executions"])


def test_500_workflows_survive_killed_engine_and_executor_and_a_broker_restart(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,
    counting: Counting,
) -> None:
    url = f"http://{HOST}:{counting.server_address[1]}"
    with _processes(tmp_path) as processes:
        deployment = Deployment(processes, pg_url, amqp_url)
        procs = deployment.start()
        api = deployment.api
        api.create_workflows(WORKFLOWS)
        began = time.monotonic()
        executions: dict[str, tuple[str, int]] = {}
        pusher = Pusher(api, executions)
        pusher.thread.start()
        faults = threading.Thread(target=_faults, args=(deployment, procs), daemon=True)
        faults.start()
        executions.update(_start_all(api, url))
        posted = time.monotonic() - began
        faults.join(120)
        deadline = time.monotonic() + 240
        while _unfinished(api) and time.monotonic() < deadline:
            time.sleep(0.5)
        pusher.stop.set()
        pusher.thread.join(10)
        took = time.monotonic() - began
        _check(api, executions, pusher.accepted, counting)
        print(f"\n500 workflows: posted in {posted:.1f} s, all ended after {took:.1f} s")


def _faults(deployment: Deployment, procs: dict[str, Process]) -> None:
    """Mid-run: kill -9 an engine and the targeted executor (a new one starts 2 s later, as a
    supervisor would); then restart the broker."""
    time.sleep(3)
    procs["engine1"].kill()
    procs["zone1"].kill()
    time.sleep(2)
    deployment.spawn("executor zone1 again", "executor", "--target", "zone1")
    time.sleep(3)
    with broker.stopped():
        time.sleep(3)


def _check(
    api: Api, executions: dict[str, tuple[str, int]], accepted: dict[str, int], counting: Counting
) -> None:
    ended = {ex_id: api.execution(ex_id) for ex_id in executions}
    states = Counter((kind, ended[ex_id]["state"]) for ex_id, (kind, _) in executions.items())
    print(f"\nstates: {sorted(states.items())}")
    in_doubt = []
    for ex_id, (kind, n) in executions.items():
        ex = ended[ex_id]
        output = json.loads(ex["output"]) if isinstance(ex["output"], str) else ex["output"]
        if kind == "once" and ex["state"] == "ERROR":
            assert IN_DOUBT in ex["state_info"], ex["state_info"]
            in_doubt.append(ex_id)
            continue
        assert ex["state"] == "SUCCESS", (kind, n, ex["state"], ex["state_info"])
        expected = {
            "chain": {"c": n + 1},
            "join": {"j": n},
            "items": {"items": [n + i for i in range(5)]},
            "wait": {"got": n},
        }.get(kind)
        if expected is not None:
            assert {k: output.get(k) for k in expected} == expected, (kind, n, output)
    lost = [ex_id for ex_id, value in accepted.items() if ended[ex_id]["state"] != "SUCCESS"]
    assert not lost, f"accepted results lost: {lost}"
    assert len(accepted) == PER_KIND
    runs = {
        ex_id: counting.calls[f"/run/{ex_id}"] for ex_id, (kind, _) in executions.items() if kind == "once"
    }
    assert max(runs.values()) == 1, {k: v for k, v in runs.items() if v > 1}
    assert all(runs[ex_id] == 1 for ex_id in runs if ex_id not in in_doubt)
    print(f"\nin doubt (ERROR, not run again): {len(in_doubt)}; std.http runs: {sum(runs.values())}")


def _processes(tmp_path: Path) -> Any:
    from tests.integration.support import process_group

    return process_group(tmp_path)


TARGETS = """\
---
version: '2.0'
routed:
  input: [zone]
  tasks:
    t:
      action: std.echo output=<% $.zone %>
      target: <% $.zone %>
      timeout: 3
"""


def test_a_target_routes_to_its_executors_and_a_target_without_one_waits_until_its_timeout(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,
) -> None:
    with _processes(tmp_path) as processes:
        deployment = Deployment(processes, pg_url, amqp_url)
        deployment.spawn("engine", "engine")
        deployment.spawn("executor zone1", "executor", "--target", "zone1", "--targets-only")
        api_process = deployment.spawn("api", "api", "--port", str(deployment.port), "--workers", "1")
        deployment.wait_api(api_process)
        api = deployment.api
        api.create_workflows(TARGETS)
        served = api.start("routed", {"zone": "zone1"})["id"]
        nowhere = api.start("routed", {"zone": "nowhere"})["id"]
        untargeted = api.start("routed", {"zone": ""})["id"]
        assert api.wait_finished(served)["state"] == "SUCCESS"
        time.sleep(1)
        waiting = api.call("GET", "/v2/action_executions?state=RUNNING").json()["action_executions"]
        assert len(waiting) == 2  # "nowhere" and the untargeted one: no executor takes them
        # The inventory of waits shows the targeted one, with the target it waits for (an
        # untargeted action waiting for any executor is not a wait: there is none here at all).
        waits = api.call("GET", "/v2/waits").json()["waits"]
        shown = [(w["workflow_execution_id"], w["target"], w["dispatch"], w["is_sync"]) for w in waits]
        assert shown == [(nowhere, "nowhere", "QUEUED", True)]
        ended = api.wait_finished(nowhere)
        assert ended["state"] == "ERROR" and "Task timed out" in ended["state_info"]
        assert api.wait_finished(untargeted)["state"] == "ERROR"


def test_notifications_go_through_the_executors_and_are_delivered(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,
) -> None:
    from tests.integration.support import Recorder

    with _processes(tmp_path) as processes, Recorder() as receiver:
        deployment = Deployment(processes, pg_url, amqp_url)
        deployment.spawn("engine", "engine")
        deployment.spawn("executor", "executor")
        api_process = deployment.spawn("api", "api", "--port", str(deployment.port), "--workers", "1")
        deployment.wait_api(api_process)
        api = deployment.api
        api.create_workflows(TARGETS)
        publisher = {"type": "webhook", "url": f"{receiver.url}/hook", "event_types": ["WORKFLOW_SUCCEEDED"]}
        body = {"workflow_name": "routed", "input": {"zone": ""}, "params": {"notify": [publisher]}}
        answer = api.call("POST", "/v2/executions", body)
        assert answer.status == 201, answer
        ex_id = answer.json()["id"]
        assert api.wait_finished(ex_id)["state"] == "SUCCESS"

        (sent,) = receiver.wait_requests(1)
    notification = json.loads(sent.body)
    assert (notification["id"], notification["event"]) == (ex_id, "WORKFLOW_SUCCEEDED")
    assert {name.lower() for name in sent.headers} >= {"webhook-id", "webhook-timestamp"}
