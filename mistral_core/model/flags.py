"""What the engine remembers about a task execution between transactions: a typed record.

:class:`TaskFlags` is stored (and shown by the API, as Mistral shows a task's
``runtime_context``) as a JSON object holding only the flags that differ from
their defaults, under the keys 0.1.0 wrote, so that older rows read back unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from mistral_core.model.evolve import evolve
from mistral_core.model.states import State


@dataclasses.dataclass(frozen=True, slots=True)
class Trigger:
    """The task (and the clause of it) that led to a task: ``on-success``, ``on-error``, ``requires``..."""

    task_id: str
    event: str


@dataclasses.dataclass(frozen=True, slots=True)
class ItemCounters:
    """The bookkeeping of a with-items task: constant size, whatever the number of items."""

    count: int
    started: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0
    concurrency: int = 0

    @classmethod
    def new(cls, count: int, concurrency: int) -> ItemCounters:
        """Counters of a task about to start ``count`` items, ``concurrency`` at a time (0: all)."""
        return cls(count=count, concurrency=concurrency if 0 < concurrency < count else count)

    def finished_one(self, state: State) -> ItemCounters:
        """The counters once one more item ended in ``state``."""
        return dataclasses.replace(
            self,
            done=self.done + 1,
            failed=self.failed + (state is State.ERROR),
            cancelled=self.cancelled + (state is State.CANCELLED),
        )

    @property
    def all_done(self) -> bool:
        """Whether every item has ended."""
        return self.done >= self.count


@dataclasses.dataclass(frozen=True, slots=True)
class WaitingItem:
    """An item of a with-items sub-workflow task that waits for capacity to start its child."""

    index: int
    workflow: str
    given: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class WaitAfter:
    """The end a task reaches when its ``wait-after`` delay is over."""

    state: State
    info: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TaskFlags:
    """The runtime flags of one task execution (all optional; defaults mean "not set")."""

    #: The tasks (and clauses) that led here; several for a join.
    triggered_by: tuple[Trigger, ...] = ()
    #: with-items counters (None: not a with-items task, or not started yet).
    with_items: ItemCounters | None = None
    #: with-items over a sub-workflow: items waiting for capacity, and results of ended children.
    items_waiting: tuple[WaitingItem, ...] = ()
    item_results: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: The sub-workflow execution this task runs.
    child_execution_id: str | None = None
    #: An ``on-error`` transition of this task fired: its error does not fail the workflow.
    error_handled: bool = False
    #: Published already (a ``pause`` command stopped the processing of transitions midway).
    published: bool = False
    #: The transition to go on from when a ``pause`` command's workflow is resumed.
    resume_at: int = 0
    pause_before_done: bool = False
    wait_before_done: bool = False
    wait_after: WaitAfter | None = None
    #: A timer that fell due while the workflow was paused, applied on resume.
    deferred_timer: str | None = None
    #: Attempts made again by the ``retry`` policy so far.
    retry_no: int = 0
    #: Inbound tasks that finished without leading to this join.
    not_reached_by: tuple[str, ...] = ()
    #: Cancelled because the workflow ended (it does not decide the outcome of a later re-run).
    ended_with_workflow: bool = False
    #: When the task's current ``timeout`` falls due (None: no timeout); heartbeats may move it.
    deadline: dt.datetime | None = None
    #: The attempt failed because it timed out (``timeout``, ``heartbeat-timeout``): ``on-timeout``.
    timed_out: bool = False
    #: Seconds the task's async actions may go without a heartbeat (0: no ``heartbeat-timeout``).
    heartbeat_timeout: float = 0.0
    #: The task failed because of the workflow itself (an expression, an input, its action's name,
    #: a policy), not of its action: the workflow fails at once, ``on-error`` is not followed.
    fails_workflow: bool = False

    def set(self, **changes: Any) -> TaskFlags:
        """A copy with these flags changed."""
        return evolve(self, **changes)

    # -- JSON ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The JSON object stored and shown: only the flags that are set, 0.1.0's keys."""
        data: dict[str, Any] = {}
        if self.triggered_by:
            data["triggered_by"] = [{"task_id": t.task_id, "event": t.event} for t in self.triggered_by]
        if self.with_items is not None:
            data["with_items"] = dataclasses.asdict(self.with_items)
        if self.items_waiting or self.item_results:
            data["items_waiting"] = [[w.index, w.workflow, dict(w.given)] for w in self.items_waiting]
            data["item_results"] = dict(self.item_results)
        for name in _SIMPLE:
            value = getattr(self, name)
            if value:
                data[name] = value
        if self.wait_after is not None:
            data["wait_after"] = {"state": self.wait_after.state.value, "info": self.wait_after.info}
        if self.retry_no:
            data["retry_task_policy"] = {"retry_no": self.retry_no}
        if self.not_reached_by:
            data["not_reached_by"] = list(self.not_reached_by)
        if self.deadline is not None:
            data["deadline"] = self.deadline.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TaskFlags:
        """The flags a stored JSON object holds (unknown keys are ignored)."""
        if not data:
            return EMPTY
        counters = data.get("with_items")
        wait_after = data.get("wait_after")
        return cls(
            triggered_by=tuple(Trigger(t["task_id"], t["event"]) for t in data.get("triggered_by", ())),
            with_items=ItemCounters(**counters) if counters else None,
            items_waiting=tuple(WaitingItem(i, w, g) for i, w, g in data.get("items_waiting", ())),
            item_results=data.get("item_results") or {},
            **{name: data[name] for name in _SIMPLE if name in data},
            wait_after=WaitAfter(State(wait_after["state"]), wait_after.get("info")) if wait_after else None,
            retry_no=int((data.get("retry_task_policy") or {}).get("retry_no", 0)),
            not_reached_by=tuple(data.get("not_reached_by", ())),
            deadline=dt.datetime.fromisoformat(data["deadline"]) if data.get("deadline") else None,
        )


#: Flags stored as they are (a string, a number or true).
_SIMPLE = (
    "fails_workflow",
    "child_execution_id",
    "error_handled",
    "published",
    "resume_at",
    "pause_before_done",
    "wait_before_done",
    "deferred_timer",
    "ended_with_workflow",
    "timed_out",
    "heartbeat_timeout",
)

#: No flag set.
EMPTY = TaskFlags()
