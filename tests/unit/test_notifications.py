"""Notifications decided with the state changes they tell of: Mistral's events and bodies, the
publishers of the execution, of its parent and of the server; failed tries tried again by timer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from mistral_core.engine.notifications import NotifyPolicy
from mistral_core.errors import InputError
from mistral_core.model import Query, State
from mistral_core.model.notifications import DELIVERED, FAILED, RETRYING
from mistral_core.notifiers import DeliveryError, Notification, Notifier
from mistral_core.persistence.memory import MemoryStore
from mistral_core.testing import TestEngine
from tests.unit.support import ACTIONS, PureEngineGuard


class Recorder(Notifier):
    """Keeps what it is given; the next ``failing`` tries fail (``retry`` as set)."""

    got: list[Notification] = []
    failing = 0
    retry = True
    options = frozenset({"to"})

    @classmethod
    def check(cls, config: Any) -> None:
        if not isinstance(config.get("to", ""), str):
            raise ValueError("to must be a string")

    @classmethod
    def target(cls, config: Any) -> str:
        return f"recorder://{config.get('to', '')}?token=secret"

    def publish(self, notification: Notification) -> None:
        Recorder.got.append(notification)
        if Recorder.failing:
            Recorder.failing -= 1
            raise DeliveryError("the receiver is down", retry=Recorder.retry)


WORKFLOWS = """
version: '2.0'
basic:
  tasks:
    t1:
      action: std.noop
      on-success: t2
    t2:
      action: std.fail
      on-error: t3
    t3:
      action: std.echo output=3
child:
  tasks:
    c1: {action: std.noop}
parent:
  tasks:
    p1: {workflow: child}
waiting:
  tasks:
    w1: {action: std.async_noop}
failing:
  tasks:
    t1: {action: std.fail}
joined:
  tasks:
    j1: {action: std.noop, on-success: j3}
    j2: {action: std.noop, on-success: j3}
    j3: {join: all, action: std.noop}
delayed:
  tasks:
    w1: {action: std.noop, wait-before: 1}
retried:
  tasks:
    r1:
      action: std.fail
      retry: {count: 1, delay: 1}
"""


@pytest.fixture
def t() -> Iterator[TestEngine]:
    Recorder.got.clear()
    Recorder.failing = 0
    Recorder.retry = True
    engine = _engine()
    yield engine


def _engine(policy: NotifyPolicy | None = None) -> TestEngine:
    engine = TestEngine(
        ACTIONS,
        store=PureEngineGuard(MemoryStore()),  # type: ignore[arg-type]
        notifiers={"recorder": Recorder},
        notify_policy=policy or NotifyPolicy(retry_for=dt.timedelta(minutes=10), backoff=(5.0, 30.0)),
    )
    engine.engine.definitions.create_workflows(WORKFLOWS)
    return engine


def _events() -> list[tuple[str, str]]:
    return [(n.event, str(n.body["name"])) for n in Recorder.got]


RECORDER = [{"type": "recorder", "to": "a"}]


def test_each_state_change_is_one_event_in_mistral_order(t: TestEngine) -> None:
    ex = t.run("basic", params={"notify": RECORDER})

    assert ex.state is State.SUCCESS
    assert _events() == [
        ("WORKFLOW_LAUNCHED", "basic"),
        ("TASK_LAUNCHED", "t1"),
        ("TASK_SUCCEEDED", "t1"),
        ("TASK_LAUNCHED", "t2"),
        ("TASK_FAILED", "t2"),
        ("TASK_LAUNCHED", "t3"),
        ("TASK_SUCCEEDED", "t3"),
        ("WORKFLOW_SUCCEEDED", "basic"),
    ]
    assert len({n.id for n in Recorder.got}) == len(Recorder.got)  # one id per delivery
    assert t.store.count_timers() == 0  # each delivered try took its timer with it


def test_the_bodies_are_mistral_s(t: TestEngine) -> None:
    ex = t.run("basic", params={"notify": RECORDER})

    launched, failed = Recorder.got[0].body, Recorder.got[4].body
    assert list(launched) == [
        "id", "name", "workflow_name", "workflow_namespace", "workflow_id", "state", "state_info",
        "project_id", "task_execution_id", "root_execution_id", "created_at", "updated_at", "event",
    ]  # fmt: skip
    assert (
        launched["id"] == ex.id
        and launched["state"] == "RUNNING"
        and launched["event"] == "WORKFLOW_LAUNCHED"
    )
    assert launched["created_at"] == ex.created_at.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[union-attr]
    assert list(failed) == [
        "id", "name", "workflow_execution_id", "workflow_name", "workflow_namespace", "workflow_id", "state",
        "state_info", "type", "project_id", "created_at", "updated_at", "started_at", "finished_at", "event",
    ]  # fmt: skip
    assert (
        failed["state"] == "ERROR" and failed["type"] == "ACTION" and failed["workflow_execution_id"] == ex.id
    )
    assert "Fail action expected exception" in str(failed["state_info"])


def test_event_types_choose_the_events(t: TestEngine) -> None:
    t.run(
        "basic",
        params={"notify": [{"type": "recorder", "event_types": ["TASK_FAILED", "WORKFLOW_SUCCEEDED"]}]},
    )

    assert _events() == [("TASK_FAILED", "t2"), ("WORKFLOW_SUCCEEDED", "basic")]


def test_sub_workflows_tell_their_parent_s_publishers(t: TestEngine) -> None:
    ex = t.run("parent", params={"notify": RECORDER})

    assert ex.state is State.SUCCESS
    assert _events() == [
        ("WORKFLOW_LAUNCHED", "parent"),
        ("TASK_LAUNCHED", "p1"),
        ("WORKFLOW_LAUNCHED", "child"),
        ("TASK_LAUNCHED", "c1"),
        ("TASK_SUCCEEDED", "c1"),
        ("WORKFLOW_SUCCEEDED", "child"),
        ("TASK_SUCCEEDED", "p1"),
        ("WORKFLOW_SUCCEEDED", "parent"),
    ]
    child = Recorder.got[2].body
    assert child["root_execution_id"] == ex.id and child["task_execution_id"] == Recorder.got[1].body["id"]


def test_the_server_s_publishers_tell_every_execution_without_being_in_its_params() -> None:
    Recorder.got.clear()
    Recorder.failing = 0
    policy = NotifyPolicy.of(
        [{"type": "recorder", "event_types": ["WORKFLOW_SUCCEEDED"]}], dt.timedelta(hours=1)
    )
    t = _engine(policy)

    ex = t.run("parent")

    assert _events() == [("WORKFLOW_SUCCEEDED", "child"), ("WORKFLOW_SUCCEEDED", "parent")]
    assert "notify" not in ex.params


# The sequences Mistral 23 sent for these workflows (recorded from the real one with a receiver).
def test_a_join_resumes_its_waiting_task_as_mistral_says(t: TestEngine) -> None:
    t.run("joined", params={"notify": RECORDER})

    assert [e for e in _events() if e[1] == "j3"] == [("TASK_RESUMED", "j3"), ("TASK_SUCCEEDED", "j3")]


def test_a_wait_before_launches_its_task_twice_as_mistral_does(t: TestEngine) -> None:
    t.run("delayed", params={"notify": RECORDER})
    t.advance(2)

    assert _events() == [
        ("WORKFLOW_LAUNCHED", "delayed"),
        ("TASK_LAUNCHED", "w1"),
        ("TASK_LAUNCHED", "w1"),  # DELAYED in between: no event (Mistral sends "event": null)
        ("TASK_SUCCEEDED", "w1"),
        ("WORKFLOW_SUCCEEDED", "delayed"),
    ]


def test_a_retried_task_is_launched_again_and_fails_once(t: TestEngine) -> None:
    t.run("retried", params={"notify": RECORDER})
    t.advance(2)

    # Mistral fails the task between attempts (TASK_FAILED, then TASK_LAUNCHED again); here the task
    # waits DELAYED between attempts and fails once, when the retries are spent (docs/api.md).
    assert [e for e, _ in _events()] == [
        "WORKFLOW_LAUNCHED", "TASK_LAUNCHED", "TASK_LAUNCHED", "TASK_FAILED", "WORKFLOW_FAILED",
    ]  # fmt: skip


def test_skipping_and_rerunning_a_failed_task(t: TestEngine) -> None:
    skipped = t.run("failing", params={"notify": RECORDER})
    t.engine.executions.skip_task(t.tasks(skipped.id)["t1"].id)
    t.runner.drain()
    assert [e for e, _ in _events()][-3:] == ["TASK_SKIPPED", "WORKFLOW_RERUN", "WORKFLOW_SUCCEEDED"]

    Recorder.got.clear()
    rerun = t.run("failing", params={"notify": RECORDER})
    t.engine.executions.rerun_task(t.tasks(rerun.id)["t1"].id)
    t.runner.drain()
    assert [e for e, _ in _events()][-4:] == [
        "WORKFLOW_RERUN",
        "TASK_RERUN",
        "TASK_FAILED",
        "WORKFLOW_FAILED",
    ]


def test_pause_resume_cancel_are_events(t: TestEngine) -> None:
    ex = t.run("waiting", params={"notify": RECORDER})

    t.engine.executions.update(ex.id, State.PAUSED)
    t.engine.executions.update(ex.id, State.RUNNING)
    t.engine.executions.update(ex.id, State.CANCELLED)

    events = [e for e, _ in _events()]
    assert events[:2] == ["WORKFLOW_LAUNCHED", "TASK_LAUNCHED"]
    assert "WORKFLOW_PAUSED" in events and "WORKFLOW_RESUMED" in events
    assert events[-2:] == ["TASK_CANCELLED", "WORKFLOW_CANCELLED"]


def test_a_failed_try_is_tried_again_with_the_same_id_until_delivered(t: TestEngine) -> None:
    Recorder.failing = 2
    publisher = {"type": "recorder", "to": "a", "event_types": ["WORKFLOW_LAUNCHED"]}
    ex = t.run("waiting", params={"notify": [publisher]})

    (first,) = Recorder.got
    (row,) = t.store.list_notification_deliveries(_query())
    assert (row.state, row.attempts, row.event, row.entity_id) == (RETRYING, 1, "WORKFLOW_LAUNCHED", ex.id)
    assert row.last_error == "try 1: the receiver is down"
    assert row.target == "recorder://a"  # the query is never shown

    t.advance(6)  # the first backoff (5 s, stretched by up to 10%)
    assert [n.attempt for n in Recorder.got] == [1, 2]
    t.advance(34)
    assert [n.attempt for n in Recorder.got] == [1, 2, 3]
    assert {n.id for n in Recorder.got} == {first.id}
    (row,) = t.store.list_notification_deliveries(_query())
    assert (row.state, row.attempts, row.next_try_at) == (DELIVERED, 3, None)
    assert row.last_error == "try 2: the receiver is down"
    assert t.store.count_timers() == 0


def test_a_delivery_is_given_up_after_notify_retry_for(t: TestEngine) -> None:
    Recorder.failing = 100
    t.run("waiting", params={"notify": [{"type": "recorder", "event_types": ["WORKFLOW_LAUNCHED"]}]})

    for _ in range(30):
        t.advance(40)
    (row,) = t.store.list_notification_deliveries(_query())
    assert row.state == FAILED and "given up after" in str(row.last_error)
    assert t.store.count_timers() == 0
    assert len(Recorder.got) == row.attempts < 25


def test_a_publisher_that_says_do_not_retry_is_not_tried_again(t: TestEngine) -> None:
    Recorder.failing, Recorder.retry = 1, False
    t.run("waiting", params={"notify": [{"type": "recorder", "event_types": ["WORKFLOW_LAUNCHED"]}]})

    t.advance(100)
    (row,) = t.store.list_notification_deliveries(_query())
    assert (row.state, row.attempts, len(Recorder.got)) == (FAILED, 1, 1)
    assert "not tried again" in str(row.last_error)


def test_a_try_whose_outcome_never_came_is_tried_again() -> None:
    Recorder.got.clear()
    Recorder.failing = 0
    t = _engine()
    t.runner.submit = lambda commands: None  # type: ignore[method-assign]  # the process died after commit

    ex = t.engine.executions.start(
        "waiting", params={"notify": [{"type": "recorder", "event_types": ["WORKFLOW_LAUNCHED"]}]}
    )
    assert Recorder.got == [] and t.store.count_timers() == 1
    del t.runner.submit  # a new process: the timer fires there

    t.advance(61)
    assert [(n.attempt, n.body["id"]) for n in Recorder.got] == [(2, ex.id)]
    (row,) = t.store.list_notification_deliveries(_query())
    assert (row.state, row.last_error) == (DELIVERED, "try 1: no outcome within 60 s")


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ("http://x", "params.notify must be a list of publishers"),
        ({"type": "recorder"}, "params.notify must be a list of publishers"),
        (["http://x"], "params.notify[0] must be an object with a type, not a string"),
        ([{"to": "a"}], "params.notify[0].type is required"),
        ([{"type": "pigeon"}], "params.notify[0].type: unknown publisher type 'pigeon'"),
        ([{"type": "recorder", "url": "x"}], "params.notify[0]: unknown key 'url'"),
        (
            [{"type": "recorder", "event_types": ["NOPE"]}],
            "params.notify[0].event_types: unknown event 'NOPE'",
        ),
        ([{"type": "recorder", "event_types": "TASK_FAILED"}], "params.notify[0].event_types must be a list"),
        ([{"type": "recorder", "to": 3}], "params.notify[0]: to must be a string"),
        ([{"type": "recorder"}] * 11, "params.notify has 11 publishers: at most 10 are allowed"),
    ],
)
def test_a_notify_list_that_cannot_be_used_is_refused(t: TestEngine, notify: Any, message: str) -> None:
    with pytest.raises(InputError, match="^" + message.replace("[", r"\[").replace(".", r"\.")):
        t.engine.executions.start("waiting", params={"notify": notify})
    assert t.store.list_workflow_executions(_query()) == []


def _query() -> Query:
    return Query()
