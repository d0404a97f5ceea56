"""Scenarios a-e of the team's benchmark plan (see benchmarks/README.md) over REST v2 only.

Each scenario takes its size, runs once, and returns a flat dict: numbers (the
figures, medians of which are reported) plus a few descriptive values, and a
``problems`` list for anything that went wrong without stopping the run.
Latencies are observed by polling every ``Context.poll`` seconds, so each
carries up to one poll interval (plus one GET) of quantisation.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mcbench import proc
from mcbench.rest import Client, HttpError
from mcbench.server import Server
from mcbench.stats import percentile

TERMINAL = frozenset({"SUCCESS", "ERROR", "CANCELLED"})
UNFINISHED_FILTER = "nin:" + ",".join(sorted(TERMINAL))
CHAIN_LENGTH_A = 10

Result = dict[str, Any]


@dataclasses.dataclass
class Context:
    """What every scenario needs: the client, the server, and how to poll."""

    client: Client
    server: Server
    poll: float = 0.002
    timeout: float = 600.0
    concurrency: int = 8
    settle: float = 2.0
    _names: itertools.count[int] = dataclasses.field(default_factory=itertools.count)

    def name(self, kind: str) -> str:
        """A new workflow name for one run of one scenario."""
        return f"bench_{kind}_{os.getpid()}_{int(time.time())}_{next(self._names)}"

    def cpu(self) -> float | None:
        """Server CPU seconds so far (None without its pid)."""
        return None if self.server.pid is None else proc.cpu_seconds(self.server.pid)

    def memory(self) -> proc.Memory | None:
        """Server memory now (None without its pid)."""
        return None if self.server.pid is None else proc.memory(self.server.pid)

    def deadline(self) -> float:
        """When a wait that starts now gives up."""
        return time.perf_counter() + self.timeout

    def check_alive(self) -> None:
        """Raise if a server started here has exited."""
        if not self.server.alive():
            raise RuntimeError(f"the server exited; its log ends with:\n{self.server.log_tail()}")

    def wait_quiet(self, window: float = 0.25, busy_share: float = 0.05, longest: float = 60.0) -> float:
        """Wait until the server uses under ``busy_share`` of a core over ``window``; return seconds waited.

        Without the server's pid, sleep ``settle`` seconds instead.
        """
        started = time.perf_counter()
        if self.server.pid is None:
            time.sleep(self.settle)
            return self.settle
        before = self.cpu()
        while time.perf_counter() - started < longest:
            time.sleep(window)
            after = self.cpu()
            if before is None or after is None or after - before < busy_share * window:
                break
            before = after
        return time.perf_counter() - started


# -- workflows ------------------------------------------------------------------------------
def chain_workflow(name: str, length: int) -> str:
    """A direct workflow of ``length`` std.noop tasks, each ``on-success`` the next."""
    lines = ["---", "version: '2.0'", f"{name}:", "  tasks:"]
    for i in range(1, length + 1):
        lines += [f"    t{i}:", "      action: std.noop"]
        if i < length:
            lines.append(f"      on-success: t{i + 1}")
    return "\n".join(lines) + "\n"


def with_items_workflow(name: str) -> str:
    """One with-items task echoing each of ``range(0, $.n)``."""
    return (
        f"---\nversion: '2.0'\n{name}:\n  input:\n    - n: 200\n  tasks:\n    t:\n"
        "      with-items: i in <% range(0, $.n) %>\n"
        "      action: std.echo output=<% $.i %>\n"
    )


def async_workflow(name: str) -> str:
    """One std.async_noop task: it waits for a result PUT over REST."""
    return f"---\nversion: '2.0'\n{name}:\n  tasks:\n    t1:\n      action: std.async_noop\n"


# -- REST steps -----------------------------------------------------------------------------
def create_workflow(ctx: Context, text: str) -> None:
    """POST a workflow definition."""
    ctx.client.post("/v2/workflows", text, content_type="text/plain")


def start_execution(ctx: Context, name: str, wf_input: dict[str, Any] | None = None) -> str:
    """POST an execution; return its id."""
    body: dict[str, Any] = {"workflow_name": name}
    if wf_input is not None:
        body["input"] = wf_input
    ex_id: str = ctx.client.post("/v2/executions", body)["id"]
    return ex_id


def wait_execution(ctx: Context, ex_id: str) -> dict[str, Any]:
    """Poll one execution until it is finished; return it."""
    deadline = ctx.deadline()
    while True:
        execution: dict[str, Any] = ctx.client.get(f"/v2/executions/{ex_id}")
        if execution["state"] in TERMINAL:
            return execution
        if time.perf_counter() > deadline:
            raise TimeoutError(f"execution {ex_id} still {execution['state']} after {ctx.timeout:.0f} s")
        ctx.check_alive()
        time.sleep(ctx.poll)


def wait_all_finished(ctx: Context, name: str, poll: float | None = None) -> float:
    """Poll until no execution of workflow ``name`` is unfinished; return the time seen (perf_counter).

    One cheap request a poll (``state=nin:...&limit=1``), whatever the number of executions.
    """
    path = f"/v2/executions?workflow_name={name}&state={UNFINISHED_FILTER}&limit=1&fields=id,state"
    deadline = ctx.deadline()
    while True:
        if not ctx.client.get(path)["executions"]:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"executions of {name} unfinished after {ctx.timeout:.0f} s")
        ctx.check_alive()
        time.sleep(ctx.poll if poll is None else poll)


def final_states(ctx: Context, name: str) -> dict[str, int]:
    """How many executions of workflow ``name`` are in each state."""
    executions = ctx.client.list_all("/v2/executions", "executions", workflow_name=name, fields="id,state")
    return dict(Counter(e["state"] for e in executions))


def _state_problems(states: dict[str, int], expected: int) -> list[str]:
    if states == {"SUCCESS": expected}:
        return []
    return [f"expected {expected} executions in SUCCESS, found {states}"]


def one_line(text: str | None, width: int = 240) -> str:
    """``text`` on one line, shortened to ``width``."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# -- a --------------------------------------------------------------------------------------
def scenario_a(ctx: Context, executions: int) -> Result:
    """N executions of a 10-task std.noop chain POSTed one after another; time until all finished."""
    name = ctx.name("a")
    create_workflow(ctx, chain_workflow(name, CHAIN_LENGTH_A))
    cpu0 = ctx.cpu()
    t0 = time.perf_counter()
    for _ in range(executions):
        start_execution(ctx, name)
    t_posted = time.perf_counter()
    t_end = wait_all_finished(ctx, name)
    cpu1 = ctx.cpu()
    states = final_states(ctx, name)
    seconds = t_end - t0
    transitions = executions * CHAIN_LENGTH_A
    return {
        "size": executions,
        "executions": executions,
        "tasks_per_execution": CHAIN_LENGTH_A,
        "seconds": seconds,
        "post_seconds": t_posted - t0,
        "transitions_per_s": transitions / seconds,
        "ms_per_transition": seconds * 1000 / transitions,
        "server_cpu_ms_per_transition": _per(cpu0, cpu1, transitions),
        "final_states": states,
        "problems": _state_problems(states, executions),
    }


def _per(cpu0: float | None, cpu1: float | None, count: int) -> float | None:
    """Milliseconds of CPU per unit between two readings."""
    if cpu0 is None or cpu1 is None:
        return None
    return (cpu1 - cpu0) * 1000 / count


# -- b --------------------------------------------------------------------------------------
def scenario_b(ctx: Context, items: int) -> Result:
    """One with-items task over ``items`` std.echo actions; time until the execution finished."""
    name = ctx.name("b")
    result: Result = {"size": items, "items": items, "problems": []}
    try:
        create_workflow(ctx, with_items_workflow(name))
    except HttpError as exc:
        result["not_supported"] = f"not supported yet: the workflow is refused: {one_line(exc.body.decode())}"
        return result
    t0 = time.perf_counter()
    ex_id = start_execution(ctx, name, {"n": items})
    execution = wait_execution(ctx, ex_id)
    seconds = time.perf_counter() - t0
    result["state"] = execution["state"]
    if execution["state"] != "SUCCESS":
        result["not_supported"] = f"not supported yet: {one_line(execution.get('state_info'))}"
        return result
    result.update(seconds=seconds, items_per_s=items / seconds, ms_per_item=seconds * 1000 / items)
    result["problems"] = _check_items(ctx, ex_id, items)
    return result


def _check_items(ctx: Context, ex_id: str, items: int) -> list[str]:
    """The with-items task's result should be ``[0, 1, ..., items - 1]`` (each item echoed, in order)."""
    tasks = ctx.client.get(f"/v2/executions/{ex_id}/tasks")["tasks"]
    if len(tasks) != 1:
        return [f"expected 1 task execution, found {len(tasks)}"]
    raw = ctx.client.get(f"/v2/tasks/{tasks[0]['id']}").get("result")
    value = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, list) or len(value) != items:
        shown = f"a list of {len(value)}" if isinstance(value, list) else one_line(repr(value), 80)
        return [f"the with-items task's result should be a list of {items} items, it is {shown}"]
    wrong = [(i, v) for i, v in enumerate(value) if v != i]
    if wrong:
        first = ", ".join(f"[{i}] = {json.dumps(v)}" for i, v in wrong[:3])
        return [
            f"the with-items task's result should be [0, 1, ..., {items - 1}]; {len(wrong)} item(s) differ: "
            f"{first}"
        ]
    return []


# -- c --------------------------------------------------------------------------------------
def _running_action(ctx: Context, ex_id: str) -> str:
    """Poll until the execution's task has a RUNNING action execution; return its id."""
    deadline = ctx.deadline()
    task_id: str | None = None
    while time.perf_counter() < deadline:
        if task_id is None:
            tasks = ctx.client.get(f"/v2/executions/{ex_id}/tasks")["tasks"]
            task_id = tasks[0]["id"] if tasks else None
        if task_id is not None:
            actions = ctx.client.get(f"/v2/tasks/{task_id}/action_executions")["action_executions"]
            for action in actions:
                if action["state"] == "RUNNING":
                    action_id: str = action["id"]
                    return action_id
        time.sleep(ctx.poll)
    raise TimeoutError(f"execution {ex_id} has no RUNNING action after {ctx.timeout:.0f} s")


def _round_trip(ctx: Context, name: str, i: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    ex_id = start_execution(ctx, name)
    t_created = time.perf_counter()
    action_id = _running_action(ctx, ex_id)
    t_running = time.perf_counter()
    ctx.client.put(f"/v2/action_executions/{action_id}", {"state": "SUCCESS", "output": {"i": i}})
    t_put = time.perf_counter()
    execution = wait_execution(ctx, ex_id)
    t_done = time.perf_counter()
    return {
        "state": execution["state"],
        "create_ms": (t_created - t0) * 1000,
        "create_to_running_ms": (t_running - t0) * 1000,
        "put_ms": (t_put - t_running) * 1000,
        "put_to_success_ms": (t_done - t_running) * 1000,
    }


def scenario_c(ctx: Context, executions: int) -> Result:
    """Async round trips by ``ctx.concurrency`` clients: create, wait RUNNING, PUT, wait SUCCESS."""
    name = ctx.name("c")
    create_workflow(ctx, async_workflow(name))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(ctx.concurrency, thread_name_prefix="client") as pool:
        trips = list(pool.map(lambda i: _round_trip(ctx, name, i), range(executions)))
    seconds = time.perf_counter() - t0
    states = dict(Counter(t["state"] for t in trips))
    result: Result = {
        "size": executions,
        "executions": executions,
        "concurrency": ctx.concurrency,
        "seconds": seconds,
        "round_trips_per_s": executions / seconds,
        "ms_per_round_trip": seconds * 1000 / executions,
        "final_states": states,
        "problems": _state_problems(states, executions),
    }
    for key in ("create_ms", "create_to_running_ms", "put_ms", "put_to_success_ms"):
        values = [t[key] for t in trips]
        stem = key.removesuffix("_ms")
        result[f"{stem}_p50_ms"] = percentile(values, 50)
        result[f"{stem}_p95_ms"] = percentile(values, 95)
        result[f"{stem}_max_ms"] = max(values)
    return result


# -- d --------------------------------------------------------------------------------------
def _memory_fields(prefix: str, memory: proc.Memory | None) -> Result:
    if memory is None:
        return {}
    return {
        f"{prefix}_rss_mib": memory.rss_mib,
        f"{prefix}_pss_mib": memory.pss_mib,
        f"{prefix}_processes": memory.processes,
    }


def _parallel(ctx: Context, threads: int, work: Callable[[Any], Any], items: Any) -> None:
    with ThreadPoolExecutor(threads, thread_name_prefix="client") as pool:
        list(pool.map(work, items))


def _database(ctx: Context) -> tuple[int | None, int | None]:
    """Bytes of the database files (main + ``-wal``) and bytes of the pages in use."""
    path = ctx.server.db_path
    return proc.database_bytes(path), proc.database_used_bytes(path)


def scenario_d(ctx: Context, pending: int) -> Result:
    """Memory and database size idle vs with ``pending`` async actions waiting; then complete them all."""
    name = ctx.name("d")
    create_workflow(ctx, async_workflow(name))
    result: Result = {"size": pending, "pending_target": pending, "problems": []}
    ctx.wait_quiet()
    idle, db_idle, used_idle = ctx.memory(), *_database(ctx)
    result.update(_memory_fields("idle", idle), idle_db_bytes=db_idle, idle_db_used_bytes=used_idle)

    t0 = time.perf_counter()
    _parallel(ctx, 4, lambda _: start_execution(ctx, name), range(pending))
    result["post_seconds"] = time.perf_counter() - t0
    result["settle_seconds"] = ctx.wait_quiet()
    ids = [
        a["id"]
        for a in ctx.client.list_all(
            "/v2/action_executions",
            "action_executions",
            workflow_name=name,
            state="RUNNING",
            fields="id,state",
        )
    ]
    if len(ids) != pending:
        result["problems"].append(f"expected {pending} RUNNING action executions, found {len(ids)}")
    loaded, db_loaded, used_loaded = ctx.memory(), *_database(ctx)
    result.update(
        _memory_fields("pending", loaded), pending_db_bytes=db_loaded, pending_db_used_bytes=used_loaded
    )
    if idle is not None and loaded is not None:
        growth = loaded.rss_kib - idle.rss_kib
        result["rss_growth_mib"] = growth / 1024
        result["rss_growth_bytes_per_pending"] = growth * 1024 / pending
        result["rss_projected_100k_mib"] = idle.rss_mib + growth / 1024 * 100_000 / pending
        if idle.pss_kib is not None and loaded.pss_kib is not None:
            result["pss_growth_mib"] = (loaded.pss_kib - idle.pss_kib) / 1024
    if db_idle is not None and db_loaded is not None:
        result["db_bytes_per_pending"] = (db_loaded - db_idle) / pending
    if used_idle is not None and used_loaded is not None:
        result["db_used_bytes_per_pending"] = (used_loaded - used_idle) / pending

    t1 = time.perf_counter()
    body = {"state": "SUCCESS", "output": {"ok": True}}
    _parallel(ctx, ctx.concurrency, lambda a: ctx.client.put(f"/v2/action_executions/{a}", body), ids)
    t_put = time.perf_counter()
    t_end = wait_all_finished(ctx, name, poll=max(ctx.poll, 0.01))
    result.update(
        put_seconds=t_put - t1,
        complete_seconds=t_end - t1,
        completions_per_s=len(ids) / (t_end - t1) if ids else None,
        ms_per_completion=(t_end - t1) * 1000 / len(ids) if ids else None,
    )
    states = final_states(ctx, name)
    result["final_states"] = states
    result["problems"] += _state_problems(states, pending)
    ctx.wait_quiet()
    result.update(
        _memory_fields("after", ctx.memory()), after_db_bytes=proc.database_bytes(ctx.server.db_path)
    )
    return result


# -- e --------------------------------------------------------------------------------------
def scenario_e(ctx: Context, tasks: int) -> Result:
    """One execution of a ``tasks``-long std.noop chain: wall time and server CPU per step."""
    name = ctx.name("e")
    create_workflow(ctx, chain_workflow(name, tasks))
    cpu0 = ctx.cpu()
    t0 = time.perf_counter()
    ex_id = start_execution(ctx, name)
    execution = wait_execution(ctx, ex_id)
    seconds = time.perf_counter() - t0
    cpu1 = ctx.cpu()
    problems = (
        []
        if execution["state"] == "SUCCESS"
        else [f"the execution ended {execution['state']}: {one_line(execution.get('state_info'))}"]
    )
    return {
        "size": tasks,
        "tasks": tasks,
        "seconds": seconds,
        "ms_per_step": seconds * 1000 / tasks,
        "server_cpu_ms_per_transition": _per(cpu0, cpu1, tasks),
        "state": execution["state"],
        "problems": problems,
    }


SCENARIOS: dict[str, Callable[[Context, int], Result]] = {
    "a": scenario_a,
    "b": scenario_b,
    "c": scenario_c,
    "d": scenario_d,
    "e": scenario_e,
}
