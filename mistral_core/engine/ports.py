"""The engine's ports: what it needs from the outside, as Protocols.

The engine imports no database, HTTP or plugin library. It is given an
:class:`ExecutionStore`, an :class:`ActionCatalog`, an :class:`ActionRunner`, a
:class:`Clock` and a :class:`HookRelay` in its constructor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from mistral_core.engine.store_parts import (
    CallbackStore,
    DynamicCodeStore,
    EventTriggerStore,
    MaintenanceStore,
    NotificationStore,
    SharingStore,
)
from mistral_core.errors import InputError
from mistral_core.model import (
    EVERY_PROJECT,
    ActionDefinition,
    ActionExecution,
    CronTrigger,
    Environment,
    HistoryEntry,
    Query,
    RunAction,
    State,
    TaskExecution,
    Timer,
    Viewer,
    Workbook,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.model.activity import Activity

Record = WorkflowExecution | TaskExecution | ActionExecution
#: What :meth:`ExecutionStore.write` takes: records, and entries of action executions' histories.
Written = Record | HistoryEntry


class ExecutionStore(
    DynamicCodeStore,
    CallbackStore,
    NotificationStore,
    SharingStore,
    MaintenanceStore,
    EventTriggerStore,
    Protocol,
):
    """Durable storage of definitions and executions.

    Every method may raise :class:`~mistral_core.errors.StoreError` when the
    database fails. Lookups of a missing id raise
    :class:`~mistral_core.errors.NotFoundError` with Mistral's message
    (``WorkflowExecution not found [id=...]``).

    Reads take a :class:`~mistral_core.model.Viewer` (lists: ``Query.project``): a record of a
    project it does not see is missing, with the same message. The default sees every project
    (the engine's own reads, and every request when authentication is off).

    The parts of one feature each are in :mod:`~mistral_core.engine.store_parts`.
    """

    # -- transactions -------------------------------------------------------------
    def atomic(self) -> AbstractContextManager[None]:
        """A transaction: committed when the block ends, rolled back if it raises.

        Nested calls join the outermost transaction. On SQLite the transaction
        takes the write lock at its start (``BEGIN IMMEDIATE``).
        """
        ...

    def lock_workflow_execution(self, wf_ex_id: str) -> WorkflowExecution:
        """Inside :meth:`atomic` (StoreError outside): lock one workflow execution until commit
        and return it fresh.

        Two transactions never hold the same workflow execution at once
        (``SELECT ... FOR UPDATE`` on PostgreSQL; the database lock on SQLite).
        """
        ...

    def lock_action_with_execution(
        self, action_ex_id: str
    ) -> tuple[WorkflowExecution, ActionExecution] | None:
        """Inside :meth:`atomic` (StoreError outside): lock an action execution and the workflow
        execution it belongs to until commit (that one first, as every transaction locks them)
        and return both fresh, in one statement (a pushed result's first round trip); None if
        there is no such action execution or it belongs to none."""
        ...

    def lock_workflow_executions(self, wf_ex_ids: Sequence[str]) -> list[WorkflowExecution]:
        """Inside :meth:`atomic` (StoreError outside): lock these workflow executions until
        commit, in the order of their ids (one statement on PostgreSQL: a batch of events
        locks its executions in one round trip); those that exist, fresh, in that order."""
        ...

    def lock_workflow_versions(self, wf_ex_ids: Sequence[str]) -> dict[str, int]:
        """As :meth:`lock_workflow_executions` (the same locks, in the same order), but only the
        ``version`` of each that exists: enough to tell whether a view kept in memory is current
        (every write of an execution's records raises its version), without reading the rest."""
        ...

    # -- workflow definitions -----------------------------------------------------
    def create_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Store a new definition; :class:`DuplicateError` if (name, namespace) exists in its project."""
        ...

    def update_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Replace the definition with the same (name, namespace, project); NotFoundError if none."""
        ...

    def get_workflow_definition(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> WorkflowDefinition:
        """The definition whose id, or else name (in ``namespace``), is ``identifier``, as ``viewer``
        sees it: a name means its own project's definition, else a public one (or one shared with
        its project, accepted)."""
        ...

    def delete_workflow_definition(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """Delete by id or name; NotFoundError if none."""
        ...

    def list_workflow_definitions(self, query: Query) -> list[WorkflowDefinition]:
        """Definitions matching ``query``."""
        ...

    # -- spec snapshots -----------------------------------------------------------
    def save_spec(self, checksum: str, spec: dict[str, Any]) -> None:
        """Keep the parsed spec an execution runs with, once per checksum (idempotent)."""
        ...

    def get_spec(self, checksum: str) -> dict[str, Any]:
        """The spec saved under ``checksum``; NotFoundError if none."""
        ...

    # -- executions ---------------------------------------------------------------
    def insert(self, record: Record) -> None:
        """Insert a workflow, task or action execution."""
        ...

    def update(self, record: Record, fields: Sequence[str]) -> None:
        """Write ``fields`` of ``record`` (matched by id) and its ``updated_at``."""
        ...

    def write(self, changes: Sequence[tuple[Written, Sequence[str] | None]]) -> None:
        """Inside :meth:`atomic`: :meth:`insert` (fields None) or :meth:`update` each record, in
        this order; on PostgreSQL in one round trip. A :class:`HistoryEntry` (fields None) is
        added to its action execution's history (:meth:`add_history_entry`). An update of a
        record that is not there need not be reported (the caller holds the lock of its
        workflow execution)."""
        ...

    def get_workflow_execution(self, wf_ex_id: str, viewer: Viewer = EVERY_PROJECT) -> WorkflowExecution:
        """One workflow execution (one of another project than ``viewer``'s is not found)."""
        ...

    def get_task_execution(self, task_ex_id: str, viewer: Viewer = EVERY_PROJECT) -> TaskExecution:
        """One task execution."""
        ...

    def get_action_execution(self, action_ex_id: str, viewer: Viewer = EVERY_PROJECT) -> ActionExecution:
        """One action execution."""
        ...

    def task_executions_of(self, wf_ex_id: str) -> list[TaskExecution]:
        """Every task execution of a workflow execution, oldest first."""
        ...

    def task_executions_of_many(self, wf_ex_ids: Sequence[str]) -> list[TaskExecution]:
        """Every task execution of these workflow executions, oldest first (on a database, one
        statement: a batch loads the executions it found in no cache in one round trip)."""
        ...

    def action_executions_by_id(self, action_ex_ids: Sequence[str]) -> list[ActionExecution]:
        """Those of these action executions that exist, in any order (one statement)."""
        ...

    def action_executions_of(self, task_ex_id: str) -> list[ActionExecution]:
        """Every action execution of a task execution, oldest first."""
        ...

    def count_task_states(self, wf_ex_ids: Sequence[str]) -> dict[State, int]:
        """How many task executions of these workflow executions are in each state (states with
        none left out), counted by the database without reading the tasks."""
        ...

    def list_workflow_executions(self, query: Query) -> list[WorkflowExecution]:
        """Workflow executions matching ``query``."""
        ...

    def list_task_executions(self, query: Query) -> list[TaskExecution]:
        """Task executions matching ``query``."""
        ...

    def list_waits(self, query: Query, stale_before: dt.datetime | None = None) -> list[ActionExecution]:
        """The waits (RUNNING action executions that are asynchronous, or targeted and not yet
        started by an executor) matching ``query``, whose last heartbeat (else their start) is before
        ``stale_before`` if given."""
        ...

    def list_action_executions(self, query: Query) -> list[ActionExecution]:
        """Action executions matching ``query``."""
        ...

    def delete_workflow_execution(self, wf_ex_id: str) -> None:
        """Delete a workflow execution with its tasks and action executions."""
        ...

    def delete_action_execution(self, action_ex_id: str) -> None:
        """Delete an action execution and its history (NotFoundError if there is none)."""
        ...

    def unfinished_action_executions(self) -> list[ActionExecution]:
        """Action executions still RUNNING or PAUSED (for recovery at start-up)."""
        ...

    def raise_dispatch(self, action_ex_ids: Sequence[str], dispatch: int) -> None:
        """Set ``dispatch`` of these action executions to ``dispatch`` where it is lower and the
        action is unfinished (RUNNING, PAUSED, IDLE). Joins an open ``atomic()``, else commits at
        once: durable when it returns. Does not touch ``updated_at`` or the workflow's version
        (how far an executor got is not a change of the execution's state)."""
        ...

    def claim_dispatch(self, action_ex_ids: Sequence[str], runner_id: str) -> list[str]:
        """An executor (``runner_id``) takes these action executions before it runs them: set
        ``dispatch`` STARTED and ``runner_id`` where the action is unfinished and still QUEUED, or
        already STARTED by this same runner (its first answer was lost). The ids taken. Joins an
        open ``atomic()``, else commits at once."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    # -- timers (durable delayed calls) -----------------------------------------------
    def insert_timer(self, timer: Timer) -> None:
        """Add a timer (inside the transaction of the decision that needs it)."""
        ...

    def delete_timer(self, timer_id: str) -> bool:
        """Delete one timer; False if it was gone already (another engine fired it)."""
        ...

    def delete_timers(self, target_id: str, kind: str | None = None) -> int:
        """Delete the timers of a target (all kinds, or one); how many were deleted."""
        ...

    def claim_due_timers(
        self, now: dt.datetime, owner: str, lease_until: dt.datetime, limit: int
    ) -> list[Timer]:
        """In its own transaction: claim up to ``limit`` timers due at ``now`` that are not
        claimed (or whose claim expired), oldest due first; each is claimed by one caller only
        (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Uses the due-time index, never a scan."""
        ...

    def next_timer_due(self) -> dt.datetime | None:
        """The earliest ``due_at`` of all timers, or None."""
        ...

    def count_timers(self) -> int:
        """How many timers are pending."""
        ...

    def activity(self, now: dt.datetime) -> Activity:
        """The unfinished records by state, the waits and the timers due at ``now``, in one
        statement that walks indexes only (its cost follows the work in progress, not the
        number of finished records)."""
        ...

    # -- cron triggers --------------------------------------------------------------------
    def create_cron_trigger(self, trigger: CronTrigger) -> None:
        """Store a new trigger; DuplicateError if the name exists in its project."""
        ...

    def get_cron_trigger(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> CronTrigger:
        """By id or name; NotFoundError ``CronTrigger not found [identifier=...]``."""
        ...

    def update_cron_trigger(self, trigger: CronTrigger, fields: Sequence[str]) -> None:
        """Write these fields of the trigger (matched by id)."""
        ...

    def delete_cron_trigger(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> None:
        """By id or name; NotFoundError if none."""
        ...

    def list_cron_triggers(self, query: Query) -> list[CronTrigger]:
        """Triggers matching ``query``."""
        ...

    # -- environments, workbooks, ad-hoc actions ---------------------------------------------
    def create_environment(self, env: Environment) -> None:
        """DuplicateError if the name exists in its project."""
        ...

    def update_environment(self, env: Environment) -> None:
        """Replace the environment with that name (in its project); NotFoundError if none."""
        ...

    def get_environment(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> Environment:
        """By id or name; NotFoundError ``Environment not found [name=...]``."""
        ...

    def delete_environment(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> None:
        """By id or name."""
        ...

    def list_environments(self, query: Query) -> list[Environment]:
        """Environments matching ``query``."""
        ...

    def create_workbook(self, workbook: Workbook) -> None:
        """DuplicateError if (name, namespace) exists in its project."""
        ...

    def update_workbook(self, workbook: Workbook) -> None:
        """Replace by (name, namespace, project)."""
        ...

    def get_workbook(self, name: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT) -> Workbook:
        """NotFoundError ``Workbook not found [name=...]``."""
        ...

    def delete_workbook(self, name: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT) -> None:
        """Delete the workbook row (the engine deletes its workflows and actions)."""
        ...

    def list_workbooks(self, query: Query) -> list[Workbook]:
        """Workbooks matching ``query``."""
        ...

    def create_action_definition(self, action_def: ActionDefinition) -> None:
        """DuplicateError if (name, namespace) exists in its project."""
        ...

    def update_action_definition(self, action_def: ActionDefinition) -> None:
        """Replace by (name, namespace, project)."""
        ...

    def get_action_definition(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> ActionDefinition:
        """By id or name; NotFoundError ``Action not found [name=...]``."""
        ...

    def delete_action_definition(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """By id or name."""
        ...

    def list_action_definitions(self, query: Query) -> list[ActionDefinition]:
        """Ad-hoc actions matching ``query``."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class PreparedAction:
    """What the catalog says about one call of an action.

    ``safe_rerun``: the action class declares that running it twice is harmless
    (no side effects, like ``std.noop``), so after a crash it is simply run again.
    """

    name: str
    is_sync: bool
    safe_rerun: bool = False
    #: For an ad-hoc action: the action that really runs, its input, and the ``output``
    #: transformations to apply to its result (innermost first).
    run_as: str | None = None
    run_input: dict[str, Any] | None = None
    transforms: tuple[Any, ...] = ()
    #: For a dynamic action: the code source and class it runs (kept in the action execution's
    #: ``params``; the executor is sent the module's text with the command).
    dynamic: dict[str, Any] | None = None


class ActionCatalog(Protocol):
    """Which actions exist, and whether a call of one is valid."""

    def prepare(self, name: str, action_input: dict[str, Any]) -> PreparedAction:
        """Resolve ``name`` (exact, else ``std.<name>``) and check ``action_input``.

        Raises:
            ActionError: unknown action, missing or unexpected input.
        """
        ...

    def output_schema(self, name: str) -> Mapping[str, Any] | None:
        """The JSON Schema the action's class says its results match (``output_schema``), or None."""
        ...


class ActionRunner(Protocol):
    """Hands actions to executors. Called only after the deciding transaction committed."""

    def submit(self, commands: Sequence[Any]) -> None:
        """Start these actions (RunAction) or tell them they are cancelled (CancelAction); must not
        block on their work."""
        ...

    def run_now(self, command: RunAction) -> Any:
        """Run one action in the calling thread and return its event (``POST /v2/action_executions``)."""
        ...


class NotifierCatalog(Protocol):
    """Which kinds of publisher exist, and whether a ``notify`` list is usable (the notifiers)."""

    def check(self, publishers: Any, place: str = "params.notify") -> list[dict[str, Any]]:
        """``publishers`` if usable (``None``: an empty list).

        Raises:
            InputError: one line naming the problem and ``place``.
        """
        ...

    def target(self, publisher: Mapping[str, Any]) -> str:
        """Where ``publisher`` sends, as it may be shown to its project (no secret)."""
        ...


class NoNotifiers:
    """A catalog with no kind of publisher: every non-empty ``notify`` list is refused."""

    def check(self, publishers: Any, place: str = "params.notify") -> list[dict[str, Any]]:
        """An empty list for ``None`` or ``[]``.

        Raises:
            InputError: anything else.
        """
        if publishers is None or publishers == []:
            return []
        raise InputError(f"{place}: this server has no notifiers")

    def target(self, publisher: Mapping[str, Any]) -> str:
        """Nothing: there is no kind of publisher."""
        return ""


class CronSchedule(Protocol):
    """Crontab arithmetic (croniter behind it)."""

    def validate(self, pattern: str) -> None:
        """Raise InputError naming the problem if ``pattern`` is not a valid 5-field crontab."""
        ...

    def next_after(self, pattern: str, after: dt.datetime) -> dt.datetime:
        """The first time strictly after ``after`` that ``pattern`` matches (UTC)."""
        ...


class Clock(Protocol):
    """The time, injected so tests can control it."""

    def now(self) -> dt.datetime:
        """Now, timezone-naive UTC."""
        ...


class HookRelay(Protocol):
    """Tells lifecycle observers what happened, after commit; never raises."""

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of ``hook_name``; log and swallow their failures."""
        ...


class Meter(Protocol):
    """Measures what the services do, for the metrics endpoint; never raises, costs microseconds."""

    def transaction_done(self, seconds: float) -> None:
        """A transaction of the engine committed and handed on its effects, in ``seconds``."""
        ...

    def result_pushed(self, outcome: str) -> None:
        """A result was pushed: ``accepted``, ``repeated``, ``rejected`` or ``unknown``."""
        ...


class NoMeter:
    """Measures nothing."""

    def transaction_done(self, seconds: float) -> None:
        """Nothing."""

    def result_pushed(self, outcome: str) -> None:
        """Nothing."""


class SystemClock:
    """The wall clock (UTC)."""

    def now(self) -> dt.datetime:
        """Now, timezone-naive UTC, to the microsecond."""
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class NoHooks:
    """A relay with no observers."""

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Do nothing."""
