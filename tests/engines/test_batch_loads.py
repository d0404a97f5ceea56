"""A batch of events for executions another engine started: loaded together, applied as one by one.

The engine that started an execution keeps its view in its cache; another engine (the split
deployment's engine, after the API started it) has none, and loads the tasks of every such
execution of a batch, and the actions the events name, in one statement each. What the batch
does must be what the same events applied one at a time do.
"""

from __future__ import annotations

import logging

import pytest

from mistral_core.model import ActionCompleted, Filter, Query, State
from mistral_core.services.engine import Engine
from tests.engines.support import inline_engine

WORKFLOWS = """
version: '2.0'
waits:
  tasks:
    ask:
      action: std.async_noop
      publish: {got: <% task().result %>}
      on-success: done
    done:
      action: std.echo output=<% $.got %>
      publish: {echoed: <% task().result %>}
pair:
  tasks:
    left: {action: std.async_noop}
    right: {action: std.async_noop}
"""


def _waiting(engine: Engine, wf_ex_id: str) -> list[str]:
    query = Query(filters=(Filter("workflow_execution_id", "eq", wf_ex_id), Filter("state", "eq", "RUNNING")))
    return sorted(a.id for a in engine.store.list_action_executions(query))


def test_a_batch_of_uncached_executions_ends_as_one_by_one(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    (starter, _), (other, other_runner) = inline_engine(url), inline_engine(url)
    starter.definitions.create_workflows(WORKFLOWS)
    chains = [starter.executions.start("waits").id for _ in range(4)]
    pair = starter.executions.start("pair").id
    [left, right] = _waiting(starter, pair)
    events = [
        *(ActionCompleted(_waiting(starter, wf)[0], State.SUCCESS, n, wf) for n, wf in enumerate(chains)),
        ActionCompleted(left, State.SUCCESS, "l", pair),
        ActionCompleted(right, State.ERROR, "r", pair),
        ActionCompleted(left, State.SUCCESS, "again", pair),  # the same action twice: ignored
        ActionCompleted("no-such-action", State.SUCCESS, 1, chains[0]),
    ]
    with caplog.at_level(logging.WARNING, logger="mistral_core"):
        other.results.apply_events(events)
    assert [r.getMessage() for r in caplog.records] == []  # one transaction: no retry one by one
    other_runner.drain()  # the echo tasks the batch started

    for n, wf in enumerate(chains):
        wf_ex = other.store.get_workflow_execution(wf)
        assert (wf_ex.state, wf_ex.output) == (State.SUCCESS, {"got": n, "echoed": n})
    assert other.store.get_workflow_execution(pair).state is State.ERROR
    assert other.store.get_action_execution(left).output == {"result": "l"}
    # The engine that started them sees it too: its kept views are stale and not used.
    assert starter.store.get_workflow_execution(chains[0]).state is State.SUCCESS
