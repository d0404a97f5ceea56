"""Two engines on one PostgreSQL: every timer and every cron firing is applied exactly once.

Each engine has its own store (its own connections), its own scheduler and its own
(inline) executor, as two ``mistral-core engine`` processes on two machines would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mistral_core.actions.registry import ActionRegistry
from mistral_core.executor import Executor
from mistral_core.model import Filter, Query, State
from mistral_core.persistence.sql import open_store
from mistral_core.scheduler import CronTab, Scheduler
from mistral_core.services.engine import Engine
from mistral_core.testing import InlineRunner, ManualClock
from tests.unit.support import ACTIONS

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

WORKFLOWS = """
version: '2.0'
waiter:
  tasks:
    ask:
      action: std.async_noop
      timeout: 5
      on-error: handled
    handled:
      action: std.noop
ping:
  tasks:
    one: {action: std.noop}
"""


class Node:
    """One engine with its own store, scheduler and executor."""

    def __init__(self, url: str, clock: ManualClock) -> None:
        self.store = open_store(url)
        self.store.upgrade()
        registry = ActionRegistry.from_classes(ACTIONS)
        self.runner = InlineRunner(Executor(registry, "http://127.0.0.1:8989"))
        self.engine = Engine(self.store, registry, self.runner, clock=clock, cron=CronTab())
        self.runner.engine = self.engine
        self.scheduler = Scheduler(self.store, self.engine.timers, clock=clock, batch=7, heartbeat_every=None)
        self.fired = 0

    def fire(self, rounds: int, start: threading.Barrier) -> None:
        start.wait()
        for _ in range(rounds):
            self.fired += self.scheduler.run_once()
            self.runner.drain()


@pytest.fixture
def nodes(pg_url: str) -> Iterator[tuple[Node, Node, ManualClock]]:
    clock = ManualClock()
    first = Node(pg_url, clock)
    second = Node(pg_url, clock)
    first.engine.definitions.create_workflows(WORKFLOWS)
    yield first, second, clock
    first.store.close()
    second.store.close()


def _race(first: Node, second: Node, rounds: int = 12) -> None:
    start = threading.Barrier(2)
    threads = [threading.Thread(target=node.fire, args=(rounds, start)) for node in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def _executions(store: Any, name: str) -> list[Any]:
    return list(store.list_workflow_executions(Query(filters=(Filter("workflow_name", "eq", name),))))


def test_each_timeout_is_applied_once_by_one_of_two_engines(nodes: tuple[Node, Node, ManualClock]) -> None:
    first, second, clock = nodes
    ids = [first.engine.executions.start("waiter").id for _ in range(40)]
    first.runner.drain()
    clock.advance(6)
    _race(first, second)
    assert first.fired + second.fired == 40
    assert first.fired and second.fired  # both took part
    for ex_id in ids:
        ex = first.store.get_workflow_execution(ex_id)
        tasks = first.store.task_executions_of(ex_id)
        assert ex.state is State.SUCCESS
        assert sorted(t.name for t in tasks) == ["ask", "handled"]  # the handler ran once
    assert first.store.count_timers() == 0


def test_each_cron_firing_starts_exactly_one_execution(nodes: tuple[Node, Node, ManualClock]) -> None:
    first, second, clock = nodes
    first.engine.cron.create("every-minute", "ping", pattern="* * * * *", remaining_executions=3)
    for _ in range(3):
        clock.advance(60)
        _race(first, second, rounds=3)
    assert len(_executions(first.store, "ping")) == 3
    assert first.store.count_timers() == 0  # the trigger is used up and deleted


SIDE_EFFECTS = """
version: '2.0'
call_out:
  tasks:
    send:
      action: test.count name=send
    wait:
      action: std.async_noop
"""


def test_an_engine_that_stops_heart_beating_has_its_actions_taken_over_once(
    nodes: tuple[Node, Node, ManualClock],
) -> None:
    from mistral_core.model import DISPATCH_STARTED
    from mistral_core.services.recovery import ENGINE_TIMEOUT

    dead, alive, clock = nodes
    dead.engine.definitions.create_workflows(SIDE_EFFECTS)
    dead.engine.recovery.heartbeat()
    alive.engine.recovery.heartbeat()
    ex = dead.engine.executions.start("call_out")  # the dead engine decided both actions, then died
    actions = {a.name: a for a in dead.store.list_action_executions(Query())}
    send, wait = actions["test.count"], actions["std.async_noop"]
    assert {send.runner_id, wait.runner_id} == {dead.engine.engine_id}
    dead.store.raise_dispatch([send.id], DISPATCH_STARTED)  # it had started the side effect
    dead.runner.queue.clear()  # ...and died before running anything more

    clock.advance(ENGINE_TIMEOUT.total_seconds() - 5)
    alive.engine.recovery.heartbeat()
    assert alive.scheduler.run_once() == 0  # not dead yet
    clock.advance(10)
    alive.engine.recovery.heartbeat()
    assert alive.scheduler.run_once() == 1  # its engine timer fell due: taken over, once
    alive.runner.drain()
    send = alive.store.get_action_execution(send.id)
    wait = alive.store.get_action_execution(wait.id)
    assert send.state is State.ERROR and "stopped while" in (send.state_info or "")  # in doubt
    assert wait.state is State.RUNNING and wait.runner_id == alive.engine.engine_id  # safe: run again
    assert alive.scheduler.run_once() == 0
    assert alive.store.get_workflow_execution(ex.id).state is State.RUNNING


def test_an_engine_stopped_cleanly_is_never_taken_over(
    nodes: tuple[Node, Node, ManualClock], caplog: pytest.LogCaptureFixture
) -> None:
    from mistral_core.services.recovery import ENGINE_TIMEOUT

    stopped, alive, clock = nodes
    stopped.engine.recovery.heartbeat()
    alive.engine.recovery.heartbeat()
    stopped.engine.recovery.stop_heartbeat()  # what a clean stop of its server does
    clock.advance(ENGINE_TIMEOUT.total_seconds() + 10)
    alive.engine.recovery.heartbeat()
    with caplog.at_level(logging.INFO):
        assert alive.scheduler.run_once() == 0
    assert "stopped heart-beating" not in caplog.text


def test_a_dead_engine_that_left_nothing_running_is_not_a_warning(
    nodes: tuple[Node, Node, ManualClock], caplog: pytest.LogCaptureFixture
) -> None:
    from mistral_core.services.recovery import ENGINE_TIMEOUT

    dead, alive, clock = nodes
    dead.engine.recovery.heartbeat()
    alive.engine.recovery.heartbeat()
    clock.advance(ENGINE_TIMEOUT.total_seconds() + 10)
    alive.engine.recovery.heartbeat()
    with caplog.at_level(logging.INFO):
        assert alive.scheduler.run_once() == 1
    said = [r for r in caplog.records if "stopped heart-beating" in r.getMessage()]
    assert [(r.levelname, r.getMessage().split(": ")[1]) for r in said] == [
        ("INFO", "took over 0 of its action execution(s)")
    ]


def test_an_ad_hoc_action_changed_through_one_engine_applies_at_once_in_the_other(
    nodes: tuple[Node, Node, ManualClock],
) -> None:
    first, second, _ = nodes
    second.engine.definitions.create_actions("version: '2.0'\nhello:\n  base: std.echo output=one\n")
    first.engine.definitions.create_workflows("version: '2.0'\ngreet:\n  tasks:\n    say: {action: hello}\n")

    def result_on(node: Node) -> Any:
        ex = node.engine.executions.start("greet")
        node.runner.drain()
        (task,) = node.store.task_executions_of(ex.id)
        return task.result

    assert result_on(first) == "one"  # the first engine's catalog now holds "hello"

    second.engine.definitions.update_actions("version: '2.0'\nhello:\n  base: std.echo output=two\n")
    assert result_on(first) == "two"  # no timer to wait for: the version told it

    second.engine.definitions.delete_action("hello")
    ex = first.engine.executions.start("greet")
    first.runner.drain()
    (task,) = first.store.task_executions_of(ex.id)
    assert task.state is State.ERROR and "hello" in (task.state_info or "")
