"""The working view of one workflow execution inside one engine transaction.

The conductor reads and changes an :class:`ExecutionState` and nothing else: it
holds the workflow execution, its spec, its task executions, the action
executions the transaction loaded or created, and whatever else the unit of work
loaded for it (the tasks of other executions that ``tasks()`` reads). Asking it
for something it was not given raises :class:`~mistral_core.errors.NeedsData`
(the unit of work loads it and runs the transaction again); it never reads a
store. What the transaction changed is left in ``pending`` (written back in
order) with the timers to add and cancel, the commands to send and the intents
for other executions.

Every state change goes through the transition table of its kind of record
(:mod:`mistral_core.model.states`): an illegal one raises
:class:`~mistral_core.model.states.IllegalTransition`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from mistral_core.engine.intents import Intent
from mistral_core.engine.ports import Record
from mistral_core.errors import NeedsData
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.model import ActionExecution, Command, State, TaskExecution, Timer, WorkflowExecution
from mistral_core.model.evolve import evolve
from mistral_core.model.states import ACTION, TASK, TASK_ACTIVE, WORKFLOW, IllegalTransition, Machine

R = TypeVar("R", WorkflowExecution, TaskExecution, ActionExecution)

#: Task states in which a task is still going somewhere (derived from the task table).
ACTIVE = TASK_ACTIVE

_MACHINES: dict[type[Any], Machine] = {
    WorkflowExecution: WORKFLOW,
    TaskExecution: TASK,
    ActionExecution: ACTION,
}


@dataclasses.dataclass
class ExecutionState:
    """One workflow execution, its spec and tasks, and what the transaction changed.

    Args:
        wf_ex: the workflow execution (latest version).
        spec: the spec it runs.
        tasks: its task executions by id, oldest first.
        now: the time of this transaction.
        new_id: makes ids for new records.
    """

    wf_ex: WorkflowExecution
    spec: WorkflowSpec
    tasks: dict[str, TaskExecution]
    now: dt.datetime
    new_id: Callable[[], str]
    #: Action executions this transaction knows (loaded or created), by id.
    actions: dict[str, ActionExecution] = dataclasses.field(default_factory=dict)
    #: Tasks whose action executions are all in ``actions`` (loaded, or created in this view).
    complete_actions_of: set[str] = dataclasses.field(default_factory=set)
    #: Read-only data of other executions for ``tasks()``: their tasks, and the child execution
    #: ids of tasks (of this execution too), as loaded by the unit of work.
    related_tasks: dict[str, list[TaskExecution]] = dataclasses.field(default_factory=dict)
    children: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    pending: dict[str, tuple[Record, set[str] | None]] = dataclasses.field(default_factory=dict)
    commands: list[Command] = dataclasses.field(default_factory=list)
    notifications: list[tuple[str, str, Any]] = dataclasses.field(default_factory=list)
    #: The state changes of the workflow execution and its tasks in this transaction, in order:
    #: (the record as the change left it, the state it left; None: created). Notifications are
    #: made of them (:mod:`mistral_core.engine.notifications`).
    transitions: list[tuple[WorkflowExecution | TaskExecution, State | None]] = dataclasses.field(
        default_factory=list
    )
    timers: list[Timer] = dataclasses.field(default_factory=list)
    #: (target id, kind or None for all kinds): timers to delete.
    timer_cancels: list[tuple[str, str | None]] = dataclasses.field(default_factory=list)
    #: (task id, state_info, notice reason): the unit of work cancels the unfinished action
    #: executions of these tasks (async ones are told why: ``CancelAction.reason``).
    cancel_actions_of: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    #: What must happen to other executions in the same transaction.
    intents: list[Intent] = dataclasses.field(default_factory=list)
    #: Whether the ad-hoc actions were checked against the store in this transaction.
    catalog_checked: bool = False
    #: The state each record changed in this transaction had before its first change.
    _before: dict[str, State] = dataclasses.field(default_factory=dict)

    def begin(self, now: dt.datetime) -> None:
        """Start a new transaction on this (cached) view: forget the last one's outputs."""
        self.now = now
        self.pending = {}
        self.commands = []
        self.notifications = []
        self.transitions = []
        self.timers = []
        self.timer_cancels = []
        self.cancel_actions_of = []
        self.intents = []
        self.catalog_checked = False
        self._before = {}

    # -- writing --------------------------------------------------------------------
    def insert(self, record: Record) -> None:
        """Record a new row."""
        self.pending[record.id] = (record, None)
        if isinstance(record, TaskExecution):
            self.complete_actions_of.add(record.id)  # a new task has no action but those made here
        if not isinstance(record, ActionExecution):
            self.transitions.append((record, None))
        self._remember(record)

    def change(self, record: R, *, reopen: bool = False, amend: bool = False, **fields: Any) -> R:
        """Replace fields of a record (and its ``updated_at``); return the new version.

        A change of ``state`` must be allowed by the record's transition table (``reopen``:
        by its re-opening moves: re-run, skip). ``amend`` corrects a state this same
        transaction set (a task whose publishing failed is in ERROR after all): the move is
        judged from where the record stood before the transaction.

        Raises:
            IllegalTransition: the table does not allow the state change (a bug).
        """
        new_state = fields.get("state")
        moved = False
        if new_state is not None and new_state is not record.state:
            self._check_move(record, new_state, reopen, amend)
            moved = True
        new = evolve(record, updated_at=self.now, **fields)
        if moved and not isinstance(new, ActionExecution):
            self._moved(new, record.state, amend)
        old = self.pending.get(record.id)
        if old is not None and old[1] is None:
            self.pending[record.id] = (new, None)
        else:
            changed = set(fields) | (old[1] if old and old[1] else set())
            self.pending[record.id] = (new, changed)
        self._remember(new)
        return new

    def _check_move(self, record: Record, new_state: State, reopen: bool, amend: bool) -> None:
        machine = _MACHINES[type(record)]
        if not amend:
            machine.check(record.state, new_state, reopen)
        elif record.id in self._before:
            machine.check(self._before[record.id], new_state, reopen=True)
        elif self.pending.get(record.id, (None, set()))[1] is not None:
            raise IllegalTransition(f"{record.id}: only a state set in this transaction can be amended")
        self._before.setdefault(record.id, record.state)

    def _moved(self, new: WorkflowExecution | TaskExecution, left: State | None, amend: bool) -> None:
        """Remember a state change; an amended one replaces the change it corrects."""
        if amend:
            for position in range(len(self.transitions) - 1, -1, -1):
                if self.transitions[position][0].id == new.id:
                    _, left = self.transitions.pop(position)
                    break
        self.transitions.append((new, left))

    def flag(self, task: TaskExecution, **flags: Any) -> TaskExecution:
        """Set runtime flags of a task (see :class:`~mistral_core.model.TaskFlags`)."""
        return self.change(task, runtime_context=task.runtime_context.set(**flags))

    def _remember(self, record: Record) -> None:
        if isinstance(record, TaskExecution):
            self.tasks[record.id] = record
        elif isinstance(record, WorkflowExecution):
            self.wf_ex = record
        else:
            self.actions[record.id] = record

    def notify(self, hook: str, key: str, record: Any) -> None:
        """Queue a hook call for after commit."""
        self.notifications.append((hook, key, record))

    def add_timer(self, kind: str, target_id: str, seconds: float, **payload: Any) -> None:
        """Schedule a durable timer ``seconds`` from now."""
        self.add_timer_at(kind, target_id, self.now + dt.timedelta(seconds=seconds), **payload)

    def add_timer_at(self, kind: str, target_id: str, due_at: dt.datetime, **payload: Any) -> None:
        """Schedule a durable timer due at ``due_at``."""
        self.timers.append(
            Timer(
                id=self.new_id(),
                due_at=due_at,
                kind=kind,
                target_id=target_id,
                workflow_execution_id=self.wf_ex.id,
                payload=payload,
                created_at=self.now,
            )
        )

    def cancel_timers(self, target_id: str, kind: str | None = None) -> None:
        """Delete the timers of a target (those scheduled in this same transaction too)."""
        self.timers = [t for t in self.timers if not (t.target_id == target_id and kind in (None, t.kind))]
        self.timer_cancels.append((target_id, kind))

    # -- reading --------------------------------------------------------------------
    def latest_task(self, name: str) -> TaskExecution | None:
        """The newest task execution of that name."""
        found = None
        for task in self.tasks.values():
            if task.name == name:
                found = task
        return found

    def active_tasks(self) -> Iterable[TaskExecution]:
        """Task executions not finished yet."""
        return (t for t in self.tasks.values() if t.state in ACTIVE)

    def actions_of(self, task_ex_id: str) -> list[ActionExecution]:
        """The action executions of a task, as this transaction sees them, oldest first.

        Raises:
            NeedsData: they were not loaded.
        """
        if task_ex_id not in self.complete_actions_of:
            raise NeedsData(actions_of=frozenset({task_ex_id}))
        return [a for a in self.actions.values() if a.task_execution_id == task_ex_id]

    def load_actions(self, task_ex_id: str, stored: Iterable[ActionExecution]) -> None:
        """Give the view every action execution of a task, oldest first (those it knows already win)."""
        for action_ex in stored:
            self.actions[action_ex.id] = self.actions.pop(action_ex.id, action_ex)
        self.complete_actions_of.add(task_ex_id)

    def state_of(self, record_id: str) -> State | None:
        """The state of a task or action execution this view knows, or None."""
        known = self.tasks.get(record_id) or self.actions.get(record_id)
        return None if known is None else known.state
