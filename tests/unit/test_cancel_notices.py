"""Cancel notices: the third party is told why its work is no longer wanted, until it is told."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mistral_core.model import State
from mistral_core.model.history import CALLBACK_TOKEN, NOTICE_FAILED, NOTIFIED, PushOrigin
from mistral_core.persistence.memory import MemoryStore
from mistral_core.testing import TestEngine
from tests.unit.support import ACTIONS, PureEngineGuard


class Told:
    """An async action whose third party is told; the next ``failing`` tries fail."""

    tries: list[tuple[str, str | None]] = []
    failing = 0

    def run(self, context: Any) -> None:
        return None

    def is_sync(self) -> bool:
        return False

    def cancel(self, context: Any) -> None:
        Told.tries.append((context.execution.action_execution_id, context.cancel_reason))
        if Told.failing:
            Told.failing -= 1
            raise ConnectionRefusedError("the third party is down")


class Untold:
    """An async action with no ``cancel()``: there is nobody to tell."""

    def run(self, context: Any) -> None:
        return None

    def is_sync(self) -> bool:
        return False


WORKFLOWS = """
version: '2.0'
wait:
  tasks:
    ask: {action: test.told}
timed:
  tasks:
    ask: {action: test.told, timeout: 100}
silent:
  tasks:
    ask: {action: test.told, heartbeat-timeout: 30}
ended:
  tasks:
    ask: {action: test.told}
    decide:
      action: std.noop
      on-success: [fail]
untold:
  tasks:
    ask: {action: test.untold}
"""


@pytest.fixture
def t() -> TestEngine:
    Told.tries.clear()
    Told.failing = 0
    actions = {**ACTIONS, "test.told": Told, "test.untold": Untold}
    engine = TestEngine(
        actions,
        store=PureEngineGuard(MemoryStore()),  # type: ignore[arg-type]
        notice_retry_for=dt.timedelta(minutes=10),
    )
    engine.engine.definitions.create_workflows(WORKFLOWS)
    return engine


def _waiting(t: TestEngine, workflow: str = "wait") -> tuple[str, str]:
    ex = t.run(workflow)
    return ex.id, t.running_action(ex.id, "ask")


def _notices(t: TestEngine, action_id: str) -> list[tuple[str, str | None]]:
    _, entries = t.engine.history.of(action_id)
    return [(e.outcome, e.reason) for e in entries if e.outcome in (NOTIFIED, NOTICE_FAILED)]


def _timers(t: TestEngine) -> int:
    return t.store.count_timers()


def test_cancelling_the_execution_tells_the_third_party_once(t: TestEngine) -> None:
    ex_id, action_id = _waiting(t)

    t.engine.executions.update(ex_id, State.CANCELLED)
    t.runner.drain()

    assert Told.tries == [(action_id, "cancelled")]
    assert _notices(t, action_id) == [(NOTIFIED, "try 1: cancelled")]
    assert t.advance(3600) == 0  # delivered: no try is left to make
    assert Told.tries == [(action_id, "cancelled")]


@pytest.mark.parametrize(
    ("workflow", "seconds", "reason"),
    [("timed", 101, "timeout"), ("silent", 31, "heartbeat-timeout")],
)
def test_a_timeout_tells_the_third_party_why(
    t: TestEngine, workflow: str, seconds: float, reason: str
) -> None:
    _, action_id = _waiting(t, workflow)

    t.advance(seconds)

    assert t.store.get_action_execution(action_id).state is State.ERROR
    assert Told.tries == [(action_id, reason)]
    assert _notices(t, action_id) == [(NOTIFIED, f"try 1: {reason}")]


def test_the_workflow_ending_without_the_result_tells_the_third_party(t: TestEngine) -> None:
    ex = t.run("ended")

    assert t.execution(ex.id).state is State.ERROR
    (action,) = [a for a in t.store.action_executions_of(t.tasks(ex.id)["ask"].id)]
    assert action.state is State.CANCELLED
    assert Told.tries == [(action.id, "workflow-ended")]


def test_an_operator_pushing_cancelled_tells_the_third_party(t: TestEngine) -> None:
    _, action_id = _waiting(t)

    t.engine.results.complete(action_id, State.CANCELLED, None, PushOrigin("ops-key", "10.0.0.9"))
    t.runner.drain()

    assert Told.tries == [(action_id, "cancelled")]


def test_the_third_party_cancelling_with_its_own_token_is_not_told_back(t: TestEngine) -> None:
    _, action_id = _waiting(t)

    t.engine.results.complete(action_id, State.CANCELLED, None, PushOrigin(CALLBACK_TOKEN, "10.0.0.7"))
    t.runner.drain()

    assert Told.tries == []
    assert _timers(t) == 0


def test_a_failing_notice_is_tried_again_with_backoff_until_delivered(t: TestEngine) -> None:
    ex_id, action_id = _waiting(t)
    Told.failing = 3

    t.engine.executions.update(ex_id, State.CANCELLED)
    t.runner.drain()
    assert len(Told.tries) == 1
    t.advance(4)
    assert len(Told.tries) == 1  # the second try is 5 s after the first
    t.advance(1)
    assert len(Told.tries) == 2
    t.advance(15)
    assert len(Told.tries) == 3
    t.advance(59)
    assert len(Told.tries) == 3  # then 60 s
    t.advance(1)

    assert Told.tries == [(action_id, "cancelled")] * 4
    failed = "cancelled: cancel() failed: the third party is down"
    assert _notices(t, action_id) == [
        (NOTICE_FAILED, f"try 1: {failed}"),
        (NOTICE_FAILED, f"try 2: {failed}"),
        (NOTICE_FAILED, f"try 3: {failed}"),
        (NOTIFIED, "try 4: cancelled"),
    ]
    assert _timers(t) == 0
    assert t.execution(ex_id).state is State.CANCELLED  # the notice never changes the outcome


def test_a_notice_is_given_up_after_notice_retry_for(t: TestEngine) -> None:
    ex_id, _ = _waiting(t)
    Told.failing = 1000

    t.engine.executions.update(ex_id, State.CANCELLED)
    t.runner.drain()
    for _ in range(40):  # tries at 0, 5, 20, 80 and 380 s; the next would be past 10 minutes
        t.advance(60)

    assert len(Told.tries) == 5
    assert _timers(t) == 0
    assert t.advance(86400) == 0


def test_an_action_without_cancel_leaves_no_notice_behind(t: TestEngine) -> None:
    ex_id, action_id = _waiting(t, "untold")

    t.engine.executions.update(ex_id, State.CANCELLED)
    t.runner.drain()

    assert t.store.get_action_execution(action_id).state is State.CANCELLED
    assert _timers(t) == 0
    assert _notices(t, action_id) == []


def test_the_retry_is_durable_a_new_engine_on_the_same_store_tries_again(t: TestEngine) -> None:
    ex_id, action_id = _waiting(t)
    Told.failing = 1
    t.engine.executions.update(ex_id, State.CANCELLED)
    t.runner.drain()

    restarted = TestEngine({**ACTIONS, "test.told": Told}, store=t.store)
    restarted.clock.time = t.clock.now()
    restarted.advance(6)

    assert Told.tries == [(action_id, "cancelled")] * 2
    assert [o for o, _ in _notices(restarted, action_id)] == [NOTICE_FAILED, NOTIFIED]
