"""Cron triggers: validation, firing, counts, and what happens after a stop."""

from __future__ import annotations

import datetime as dt

import pytest

from mistral_core.errors import InputError, NotFoundError, WorkflowInputError
from mistral_core.model import Filter, Query
from tests.unit.support import engine_with

WF = "version: '2.0'\nping:\n  input:\n    - who: nobody\n  tasks:\n    one: {action: std.noop}\n"


def _executions(t):  # type: ignore[no-untyped-def]
    return t.store.list_workflow_executions(Query(filters=(Filter("workflow_name", "eq", "ping"),)))


def test_a_trigger_fires_once_per_occurrence_and_stops_after_its_count() -> None:
    t = engine_with(WF)
    trigger = t.engine.cron.create(
        "each-minute", "ping", pattern="* * * * *", remaining_executions=2, workflow_input={"who": "cron"}
    )
    assert trigger.next_execution_time > t.clock.now()
    t.advance(60)
    t.advance(60)
    t.advance(600)
    executions = _executions(t)
    assert len(executions) == 2
    assert all(e.input == {"who": "cron"} and "cron_trigger" in e.description for e in executions)
    with pytest.raises(NotFoundError):
        t.store.get_cron_trigger("each-minute")


def test_after_a_long_stop_a_trigger_fires_once_then_follows_its_pattern() -> None:
    t = engine_with(WF)
    t.engine.cron.create("each-minute", "ping", pattern="* * * * *")
    t.clock.advance(3600)  # the server was down for an hour: 60 occurrences missed
    assert t.advance(0) == 1
    assert len(_executions(t)) == 1
    nxt = t.store.get_cron_trigger("each-minute").next_execution_time
    assert t.clock.now() < nxt <= t.clock.now() + dt.timedelta(minutes=1)


def test_first_execution_time_alone_fires_once() -> None:
    t = engine_with(WF)
    t.engine.cron.create("once", "ping", first_execution_time=t.clock.now() + dt.timedelta(minutes=5))
    t.advance(301)
    assert len(_executions(t)) == 1
    with pytest.raises(NotFoundError):
        t.store.get_cron_trigger("once")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "61 * * * *"}, "Invalid cron pattern"),
        ({"pattern": "not a pattern"}, "Invalid cron pattern"),
        ({"pattern": "* * * * *", "remaining_executions": 0}, "at least 1"),
        ({}, "needs a pattern"),
    ],
)
def test_invalid_triggers_are_refused(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    t = engine_with(WF)
    with pytest.raises(InputError, match=message):
        t.engine.cron.create("bad", "ping", **kwargs)
    assert t.store.count_timers() == 0


def test_a_trigger_in_the_past_or_with_bad_input_is_refused() -> None:
    t = engine_with(WF)
    with pytest.raises(InputError, match="in the past"):
        t.engine.cron.create("old", "ping", first_execution_time=t.clock.now() - dt.timedelta(hours=1))
    with pytest.raises(WorkflowInputError, match="unexpected"):
        t.engine.cron.create("bad-input", "ping", pattern="* * * * *", workflow_input={"nope": 1})
    with pytest.raises(NotFoundError, match="Workflow not found"):
        t.engine.cron.create("no-wf", "ghost", pattern="* * * * *")


def test_a_workflow_started_by_a_trigger_cannot_be_deleted_until_the_trigger_is() -> None:
    from mistral_core.errors import ConflictError

    t = engine_with(WF)
    t.engine.cron.create("each-minute", "ping", pattern="* * * * *")
    with pytest.raises(ConflictError, match="each-minute"):
        t.engine.definitions.delete_workflow("ping")
    t.engine.cron.delete("each-minute")
    t.engine.definitions.delete_workflow("ping")
