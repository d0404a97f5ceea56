"""kill -9 the real server again and again under a mixed load (issue 3, points 5 and 6).

Client threads keep starting executions of six kinds while the test kills the server with
SIGKILL at random moments and restarts it on the same SQLite file and port:

- ``chain``: 5 to 10 tasks of std.echo / std.noop (safe to re-run): always SUCCESS;
- ``wait``: an std.async_noop whose result a pusher thread PUTs (sometimes soon, sometimes after
  a kill or two): SUCCESS with the pushed output; every push answered 200 is the stored output;
- ``timeout``: an std.async_noop with ``timeout: 2`` that nobody answers: the task ERROR by
  timeout, ``on-error`` to a handler, the workflow SUCCESS;
- ``retry``: std.http to a service that fails the first request of a key, ``retry: {count: 2,
  delay: 1}``, then a task with ``wait-before: 1`` and ``wait-after: 1``: SUCCESS;
- ``once``: std.http (not safe to re-run) with a unique key: SUCCESS with the key hit exactly once,
  or, when a kill caught the request in doubt, ERROR saying so, the key hit at most once;
- ``safe``: the same with ``safe-rerun: true`` on the task: SUCCESS, the key hit once or more.

After the last restart no new work starts, every wait still RUNNING gets its result, and once
every execution is finished each one is checked against the end it would have reached without
a crash. Executions whose creation was not answered (the server died meanwhile) are found by
their unique key and checked the same way.

Environment: ``CRASH_SEED`` (an integer, default fixed) varies the moments of the kills and the
load; ``CRASH_KILLS`` (at least 10) the number of kills.
"""

from __future__ import annotations

import dataclasses
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.crash.support import Client, SideEffectCounter, decoded
from tests.crash.workflows import CHAIN_LENGTHS, IN_DOUBT, WORKFLOWS, pushed_output
from tests.integration.support import ProcessGroup

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = int(os.environ.get("CRASH_SEED", "3005"))
KILLS = max(10, int(os.environ.get("CRASH_KILLS", "10")))
#: Seconds of load between a server answering and its kill.
LOAD_BETWEEN_KILLS = (0.3, 2.0)
#: Bound of the wait for every execution to finish after the last restart.
DRAIN_TIMEOUT = 60.0
CREATORS = 3
#: Relative frequency of each kind of execution in the load.
KINDS = {"chain": 30, "wait": 20, "timeout": 10, "retry": 12, "once": 16, "safe": 12}
TERMINAL = frozenset({"SUCCESS", "ERROR", "CANCELLED"})
WAITING = "/v2/action_executions?workflow_name=wait_push&task_name=wait&state=RUNNING"
UNFINISHED = "/v2/executions?state=nin:SUCCESS,ERROR,CANCELLED"


# -- the load ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Planned:
    """An execution the load asked for (before asking: the answer may never come)."""

    kind: str
    key: str
    workflow: str
    wf_input: dict[str, Any]
    answered_id: str | None = None


class MixedLoad:
    """Client threads that start executions of every kind, and one that pushes results of waits.

    Requests that find the server down are given up (a new execution gets a new key), so the
    threads never block on a dead server for long.

    Args:
        api: the API (same URL across restarts).
        counter_url: the side-effect counter's base URL.
        seed: the seed of every thread's random choices.
    """

    def __init__(self, api: Client, counter_url: str, seed: int) -> None:
        self.api = api
        self.counter_url = counter_url
        self.seed = seed
        self.planned: list[Planned] = []
        self.accepted: dict[str, Any] = {}
        self.refused: list[str] = []
        self.unexpected: list[str] = []
        self.unanswered: Counter[str] = Counter()
        self.thread_failures: list[str] = []
        #: Waits seen RUNNING again after a push of theirs was accepted (a lost result: never pushed again).
        self.running_again: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._guarded, args=(self._create, n), name=f"creator-{n}", daemon=True)
            for n in range(CREATORS)
        ]
        self._threads.append(
            threading.Thread(target=self._guarded, args=(self._push_some, 0), name="pusher", daemon=True)
        )

    def start(self) -> None:
        """Start the threads."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop the threads (each finishes its current request, bounded by its timeout)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(30.0)
            if thread.is_alive():
                self.thread_failures.append(f"{thread.name} did not stop")

    def push(self, action_ex_id: str) -> None:
        """Push the result of a wait seen RUNNING; record it when answered 200 (an accepted result).

        A wait whose result was accepted before is not pushed again: the same push would be
        accepted again and hide the loss.
        """
        with self._lock:
            if action_ex_id in self.accepted:
                self.running_again.add(action_ex_id)
                return
        output = pushed_output(action_ex_id)
        path = f"/v2/action_executions/{action_ex_id}"
        answer = self.api.try_call("PUT", path, {"state": "SUCCESS", "output": output})
        with self._lock:
            if answer is None:
                self.unanswered["push"] += 1
            elif answer.status == 200:
                self.accepted[action_ex_id] = output
            else:
                self.refused.append(f"PUT {path} -> {answer}")

    def push_all_waiting(self) -> None:
        """Push the result of every wait RUNNING now (after the load)."""
        for action_ex in self.api.list_all(WAITING, "action_executions"):
            self.push(action_ex["id"])

    # -- threads ----------------------------------------------------------------------------------
    def _guarded(self, body: Callable[[int], None], number: int) -> None:
        try:
            body(number)
        except Exception as exc:  # a broken thread must fail the test, not warn
            with self._lock:
                self.thread_failures.append(f"{threading.current_thread().name}: {exc!r}")

    def _create(self, number: int) -> None:
        rng = random.Random(f"{self.seed}/creator-{number}")
        kinds, weights = list(KINDS), list(KINDS.values())
        count = 0
        while not self._stop.is_set():
            kind = rng.choices(kinds, weights)[0]
            plan = self._plan(kind, f"{kind}-{number}-{count}", rng)
            count += 1
            with self._lock:
                self.planned.append(plan)
            body = {"workflow_name": plan.workflow, "input": plan.wf_input}
            answer = self.api.try_call("POST", "/v2/executions", body)
            if answer is None:
                with self._lock:
                    self.unanswered["create"] += 1
                self._stop.wait(0.1)
                continue
            if answer.status == 201:
                plan.answered_id = answer.json()["id"]
            else:
                with self._lock:
                    self.unexpected.append(f"POST /v2/executions {body} -> {answer}")
            self._stop.wait(rng.uniform(0.03, 0.2))

    def _plan(self, kind: str, key: str, rng: random.Random) -> Planned:
        if kind == "chain":
            return Planned(kind, key, f"chain_{rng.choice(CHAIN_LENGTHS)}", {"key": key})
        if kind in ("wait", "timeout"):
            return Planned(kind, key, {"wait": "wait_push", "timeout": "wait_timeout"}[kind], {"key": key})
        workflow = {"retry": "retry_wait", "once": "http_once", "safe": "http_safe"}[kind]
        return Planned(kind, key, workflow, {"key": key, "base": self.counter_url})

    def _push_some(self, number: int) -> None:
        rng = random.Random(f"{self.seed}/pusher-{number}")
        while not self._stop.wait(rng.uniform(0.1, 0.3)):
            answer = self.api.try_call("GET", WAITING)
            if answer is None:
                continue
            if answer.status != 200:
                with self._lock:
                    self.unexpected.append(f"GET {WAITING} -> {answer}")
                continue
            for action_ex in answer.json()["action_executions"]:
                if rng.random() < 0.4 and not self._stop.is_set():
                    self.push(action_ex["id"])


# -- the checks -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Execution:
    """What the API shows of one finished execution: the execution, its tasks, their action executions."""

    record: dict[str, Any]
    tasks: dict[str, list[dict[str, Any]]]
    actions: dict[str, list[dict[str, Any]]]

    @property
    def state(self) -> str:
        """The execution's state."""
        return str(self.record["state"])

    @property
    def output(self) -> Any:
        """The execution's output."""
        return decoded(self.record.get("output"))

    def task(self, name: str) -> dict[str, Any] | None:
        """The only task execution called ``name``, or None if there is none."""
        found = self.tasks.get(name, [])
        return found[0] if len(found) == 1 else None

    def actions_of(self, name: str) -> list[dict[str, Any]]:
        """The action executions of task ``name`` (oldest first)."""
        task = self.task(name)
        return [] if task is None else self.actions.get(task["id"], [])


@dataclasses.dataclass
class Verdict:
    """Problems found, and figures for the summary."""

    problems: list[str] = dataclasses.field(default_factory=list)
    kinds: Counter[str] = dataclasses.field(default_factory=Counter)
    in_doubt: int = 0
    retried: int = 0
    safe_reruns: int = 0
    timed_out: int = 0
    created_unanswered: int = 0

    def expect(self, condition: bool, what: str) -> bool:
        """Record ``what`` as a problem unless ``condition``; return ``condition``."""
        if not condition:
            self.problems.append(what)
        return condition


def _is_in_doubt(action_ex: dict[str, Any]) -> bool:
    texts = (action_ex.get("state_info") or "", str(decoded(action_ex.get("output"))))
    return action_ex["state"] == "ERROR" and any(IN_DOUBT in text for text in texts)


def gather(api: Client) -> tuple[list[dict[str, Any]], dict[str, Execution]]:
    """Every execution as listed, and each one with its tasks and action executions, by id."""
    records = api.list_all("/v2/executions?include_output=true", "executions")
    tasks = api.list_all("/v2/tasks", "tasks")
    actions = api.list_all("/v2/action_executions?include_output=true", "action_executions")
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for action_ex in sorted(actions, key=lambda a: (a["created_at"], a["id"])):
        by_task[action_ex["task_execution_id"]].append(action_ex)
    executions = {r["id"]: Execution(r, defaultdict(list), {}) for r in records}
    for task in tasks:
        execution = executions[task["workflow_execution_id"]]
        execution.tasks[task["name"]].append(task)
        execution.actions[task["id"]] = by_task.get(task["id"], [])
    return records + tasks + actions, executions


def check(api: Client, load: MixedLoad, counter: SideEffectCounter) -> Verdict:
    """Every check of issue 3 point 5 over everything the server shows now."""
    verdict = Verdict()
    everything, executions = gather(api)
    all_actions = {a["id"]: a for e in executions.values() for group in e.actions.values() for a in group}
    for action_ex_id, output in load.accepted.items():
        stored = decoded(all_actions[action_ex_id]["output"]) if action_ex_id in all_actions else None
        verdict.expect(
            stored == {"result": output}, f"accepted result lost: {action_ex_id} holds {stored}, not {output}"
        )
    verdict.expect(
        not load.running_again, f"accepted results lost, waits RUNNING again: {load.running_again}"
    )
    verdict.expect(not load.refused, f"pushes refused: {load.refused[:5]}")
    verdict.expect(not load.unexpected, f"unexpected answers: {load.unexpected[:5]}")
    verdict.expect(not load.thread_failures, f"load threads failed: {load.thread_failures}")
    for record in everything:
        verdict.expect(
            record["state"] in TERMINAL,
            f"left {record['state']}: {record.get('name') or record['workflow_name']} {record['id']}",
        )
    by_key = {decoded(e.record["input"])["key"]: e for e in executions.values()}
    planned = {plan.key: plan for plan in load.planned}
    for key in sorted(set(by_key) - set(planned)):
        verdict.problems.append(f"an execution nobody started: {key}")
    for plan in load.planned:
        execution = by_key.get(plan.key)
        if execution is None:
            verdict.expect(plan.answered_id is None, f"{plan.key}: created (201) but gone after a restart")
            sent = sum(counter.hits(path, plan.key) for path in ("/once", "/safe", "/flaky"))
            verdict.expect(sent == 0, f"{plan.key}: no execution, yet its request was sent {sent} times")
            continue
        verdict.kinds[plan.kind] += 1
        verdict.created_unanswered += plan.answered_id is None
        verdict.expect(
            plan.answered_id in (None, execution.record["id"]), f"{plan.key}: not the execution answered"
        )
        CHECKS[plan.kind](verdict, plan, execution, counter)
    return verdict


def _where(plan: Planned, execution: Execution) -> str:
    record = execution.record
    info = (record["state_info"] or "").strip().replace("\n", " ")
    return f"{plan.kind} {plan.key} ({record['id']}, {record['state']}: {info[:160]})"


def _check_chain(verdict: Verdict, plan: Planned, execution: Execution, counter: SideEffectCounter) -> None:
    length = int(plan.workflow.rsplit("_", 1)[1])
    where = _where(plan, execution)
    verdict.expect(execution.state == "SUCCESS", f"{where}: a chain must succeed")
    verdict.expect(
        execution.output == {"key": plan.key, "step": f"{plan.key}/{length}"},
        f"{where}: output {execution.output}",
    )
    states = [t["state"] for group in execution.tasks.values() for t in group]
    verdict.expect(states == ["SUCCESS"] * length, f"{where}: task states {states}")


def _check_wait(verdict: Verdict, plan: Planned, execution: Execution, counter: SideEffectCounter) -> None:
    where = _where(plan, execution)
    waits = execution.actions_of("wait")
    if not verdict.expect(len(waits) == 1, f"{where}: {len(waits)} action executions of the wait"):
        return
    pushed = pushed_output(waits[0]["id"])
    verdict.expect(execution.state == "SUCCESS", f"{where}: a pushed wait must succeed")
    verdict.expect(waits[0]["state"] == "SUCCESS", f"{where}: the wait is {waits[0]['state']}")
    verdict.expect(
        execution.output == {"res": pushed}, f"{where}: output {execution.output}, pushed {pushed}"
    )


def _check_timeout(verdict: Verdict, plan: Planned, execution: Execution, counter: SideEffectCounter) -> None:
    where = _where(plan, execution)
    wait, handler = execution.task("wait"), execution.task("handler")
    verdict.expect(execution.state == "SUCCESS", f"{where}: on-error must handle the timeout")
    verdict.expect(execution.output == {"handled": "handled"}, f"{where}: output {execution.output}")
    if verdict.expect(wait is not None and handler is not None, f"{where}: tasks {sorted(execution.tasks)}"):
        assert wait is not None and handler is not None
        timed_out = wait["state"] == "ERROR" and "timed out" in (wait["state_info"] or "")
        verdict.timed_out += timed_out
        verdict.expect(timed_out, f"{where}: the wait is {wait['state']}: {wait['state_info']}")
        verdict.expect(handler["state"] == "SUCCESS", f"{where}: the handler is {handler['state']}")
        states = [a["state"] for a in execution.actions_of("wait")]
        verdict.expect(states == ["ERROR"], f"{where}: wait action executions {states}")


def _check_retry(verdict: Verdict, plan: Planned, execution: Execution, counter: SideEffectCounter) -> None:
    where = _where(plan, execution)
    verdict.expect(execution.state == "SUCCESS", f"{where}: the retry must cure the first failure")
    verdict.expect(execution.output == {"after": plan.key}, f"{where}: output {execution.output}")
    states = [a["state"] for a in execution.actions_of("flaky")]
    verdict.expect(states in (["SUCCESS"], ["ERROR", "SUCCESS"]), f"{where}: attempts {states}")
    verdict.retried += states == ["ERROR", "SUCCESS"]
    hits = counter.hits("/flaky", plan.key)  # the first one fails: a success needs a second one
    verdict.expect(hits >= 2, f"{where}: succeeded with {hits} hit(s)")


def _check_once(verdict: Verdict, plan: Planned, execution: Execution, counter: SideEffectCounter) -> None:
    where = _where(plan, execution)
    hits = counter.hits("/once", plan.key)
    calls = execution.actions_of("call")
    verdict.expect(hits <= 1, f"{where}: an action that is not safe to re-run ran {hits} times")
    if not verdict.expect(len(calls) == 1, f"{where}: {len(calls)} action executions of the call"):
        return
    call = calls[0]
    if execution.state == "ERROR" and _is_in_doubt(call):
        verdict.in_doubt += 1
        task = execution.task("call")
        verdict.expect(
            task is not None and IN_DOUBT in (task["state_info"] or ""), f"{where}: the task does not say why"
        )
        verdict.expect(execution.task("done") is None, f"{where}: went on after the call failed")
        return
    verdict.expect(execution.state == "SUCCESS", f"{where}: the call is {call['state']}: {call['output']}")
    verdict.expect(execution.output == {"status": 200}, f"{where}: output {execution.output}")
    verdict.expect(hits == 1, f"{where}: succeeded with {hits} hits")


def _check_safe(verdict: Verdict, plan: Planned, execution: Execution, counter: SideEffectCounter) -> None:
    where = _where(plan, execution)
    hits = counter.hits("/safe", plan.key)
    verdict.expect(execution.state == "SUCCESS", f"{where}: a safe-rerun call must succeed")
    verdict.expect(execution.output == {"status": 200}, f"{where}: output {execution.output}")
    verdict.expect(hits >= 1, f"{where}: never sent")
    calls = len(execution.actions_of("call"))
    verdict.expect(calls == 1, f"{where}: {calls} action executions of the call (a re-run is the same one)")
    verdict.safe_reruns += hits > 1


CHECKS: dict[str, Callable[[Verdict, Planned, Execution, SideEffectCounter], None]] = {
    "chain": _check_chain,
    "wait": _check_wait,
    "timeout": _check_timeout,
    "retry": _check_retry,
    "once": _check_once,
    "safe": _check_safe,
}


# -- the test ---------------------------------------------------------------------------------------


def drain(api: Client, load: MixedLoad, timeout: float = DRAIN_TIMEOUT) -> bool:
    """Push every wait still RUNNING until no execution is unfinished (True), or no more can finish."""
    deadline = time.monotonic() + timeout
    while True:
        load.push_all_waiting()
        unfinished = len(api.list_all(UNFINISHED, "executions"))
        if not unfinished:
            return True
        if time.monotonic() >= deadline or unfinished <= len(load.running_again):
            return False  # (a wait whose accepted result was lost waits for ever)
        time.sleep(0.2)


def _lines(items: Iterable[str], limit: int = 30) -> str:
    items = list(items)
    shown = "\n  ".join(items[:limit])
    return f"  {shown}" + (f"\n  ... and {len(items) - limit} more" if len(items) > limit else "")


def _summary(load: MixedLoad, verdict: Verdict, loaded: float, drained_in: float, drained: bool) -> str:
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(verdict.kinds.items()))
    end = f"every execution finished {drained_in:.1f} s later" if drained else "NOT every execution finished"
    return "\n  ".join(
        [
            f"\ncrash test: seed {SEED}, {KILLS} kills in {loaded:.1f} s of load; {end}",
            f"executions: {sum(verdict.kinds.values())} ({kinds})",
            f"creations unanswered: {load.unanswered['create']} (done anyway: {verdict.created_unanswered})",
            f"in doubt (non-safe std.http failed at restart): {verdict.in_doubt}",
            f"safe-rerun keys hit more than once: {verdict.safe_reruns}",
            f"retried: {verdict.retried}; timed out: {verdict.timed_out}",
            f"accepted pushes: {len(load.accepted)}; pushes unanswered: {load.unanswered['push']}",
        ]
    )


def test_kill_9_at_random_moments_under_a_mixed_load(
    processes: ProcessGroup, counter: SideEffectCounter, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    database = tmp_path / "crash.db"
    server = processes.server(database=database)
    port = server.port
    server.api.create_workflows(WORKFLOWS)
    api = Client(server.base_url)
    began = time.monotonic()
    load = MixedLoad(api, counter.url, SEED)
    load.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(*LOAD_BETWEEN_KILLS))
            server.kill()
            server = processes.server(database=database, port=port)
    finally:
        load.stop()
    loaded = time.monotonic() - began

    drained = drain(api, load)
    verdict = check(api, load, counter)

    print(_summary(load, verdict, loaded, time.monotonic() - began - loaded, drained))
    assert not verdict.problems, (
        f"{len(verdict.problems)} problem(s) after {KILLS} kills (rerun with CRASH_SEED={SEED}):\n"
        f"{_lines(verdict.problems)}\nlast server log:\n{server.log()[-3000:]}"
    )
