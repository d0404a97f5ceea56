"""Views kept between transactions are used only while current, alone or in a batch.

An engine keeps the view of an execution whose sync actions are in flight, and takes it up again
when their results come, after reading only the execution's version under its lock. A change made
meanwhile by anyone else (here: a second engine over the same database) raises that version: the
kept view must then be dropped and the execution read whole, never acted on as it was.
"""

from __future__ import annotations

import pytest

from mistral_core.model import Filter, Query, State
from mistral_core.services.engine import Engine
from mistral_core.testing import InlineRunner
from tests.engines.support import inline_engine

WORKFLOWS = """
version: '2.0'
chain:
  tasks:
    one:
      action: std.echo output=1
      on-success: two
    two:
      action: std.echo output=2
"""


def _tasks(engine: Engine, wf_ex_id: str) -> dict[str, State]:
    query = Query(filters=(Filter("workflow_execution_id", "eq", wf_ex_id),))
    return {t.name: t.state for t in engine.store.list_task_executions(query)}


@pytest.mark.parametrize("batch", [1, 3], ids=["alone", "in a batch"])
def test_a_view_changed_by_another_engine_is_read_again(url: str, batch: int) -> None:
    (engine, runner), (other, _) = inline_engine(url), inline_engine(url)
    engine.definitions.create_workflows(WORKFLOWS)
    started = [engine.executions.start("chain").id for _ in range(batch)]
    paused = started[0]
    other.executions.update(paused, state=State.PAUSED)  # the view `engine` kept is stale now

    runner.drain() if batch == 1 else _apply_together(engine, runner)

    assert engine.store.get_workflow_execution(paused).state is State.PAUSED
    assert _tasks(engine, paused) == {"one": State.SUCCESS}  # `two` waits for the resume
    for wf_ex_id in started[1:]:  # their kept views were current: used, and right
        assert engine.store.get_workflow_execution(wf_ex_id).state is State.SUCCESS
        assert _tasks(engine, wf_ex_id) == {"one": State.SUCCESS, "two": State.SUCCESS}

    engine.executions.update(paused, state=State.RUNNING)
    runner.drain()
    assert engine.store.get_workflow_execution(paused).state is State.SUCCESS


def test_a_current_view_is_taken_up_again(url: str) -> None:
    engine, runner = inline_engine(url)
    engine.definitions.create_workflows(WORKFLOWS)
    wf_ex_id = engine.executions.start("chain").id
    version = engine.store.get_workflow_execution(wf_ex_id).version
    assert runner.drain() == 2
    wf_ex = engine.store.get_workflow_execution(wf_ex_id)
    assert wf_ex.state is State.SUCCESS
    assert wf_ex.version == version + 2  # one transaction per result, each raised it once


def _apply_together(engine: Engine, runner: InlineRunner) -> None:
    """Run the queued actions, then apply all their events in one batch (one transaction)."""
    while runner.queue:
        commands = list(runner.queue)
        runner.queue.clear()
        engine.results.apply_events([runner.executor.run(cmd) for cmd in commands])
