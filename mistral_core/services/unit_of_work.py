"""The unit of work: one engine transaction, from the first lock to the effects after commit.

Every service runs its decisions through :meth:`Transactions.run`: a body gets a
:class:`Work`, through which it locks and loads the workflow executions it needs
(each once), asks the conductor to decide, and returns. The work then applies the
intents the conductor left for other executions (through an
:class:`IntentHandler`, which the services provide: the unit of work knows no
service), writes what changed, and commits; only then are actions handed to the
runner, the scheduler told of new timers and the hooks called (an outbox).

A transaction is run again from the start, with nothing of the failed attempt
kept, when the database refused it for now (a deadlock between engines) or when
the conductor asked for data it was not given (:class:`~mistral_core.errors.NeedsData`):
the next attempt loads that data too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from mistral_core.auth.callbacks import DEFAULT_MAX_AGE, mint
from mistral_core.engine.catalog import Catalog
from mistral_core.engine.conductor import Conductor
from mistral_core.engine.intents import Intent
from mistral_core.engine.limits import Limits
from mistral_core.engine.notifications import NotifyPolicy, plan
from mistral_core.engine.ports import (
    ActionRunner,
    Clock,
    ExecutionStore,
    HookRelay,
    Meter,
    NoMeter,
    NoNotifiers,
    NotifierCatalog,
)
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import CommitInDoubt, NeedsData, NotFoundError, StoreError, TransientStoreError
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.model import (
    DISPATCH_QUEUED,
    ActionExecution,
    CancelAction,
    Command,
    Filter,
    HistoryEntry,
    Notify,
    Query,
    RunAction,
    State,
    TaskExecution,
    WorkflowExecution,
)
from mistral_core.services.cache import StateCache
from mistral_core.services.definitions import Definitions

LOG = logging.getLogger(__name__)
R = TypeVar("R")
T = TypeVar("T")

#: How many times a transaction the database refused for now (deadlock) is tried.
TRANSIENT_ATTEMPTS = 4
#: How many times a transaction is run again to load data the conductor asked for.
DATA_ATTEMPTS = 8


@dataclasses.dataclass
class Parts:
    """What every service shares: built once by the :class:`~mistral_core.services.engine.Engine`."""

    store: ExecutionStore
    conductor: Conductor
    catalog: Catalog
    definitions: Definitions
    clock: Clock
    hooks: HookRelay
    new_id: Callable[[], str]
    engine_id: str
    limits: Limits = dataclasses.field(default_factory=Limits)
    cache: StateCache = dataclasses.field(default_factory=StateCache)
    runner: ActionRunner | None = None
    timer_listener: Callable[[dt.datetime], None] | None = None
    #: How long the callback token of an asynchronous action execution is accepted.
    callback_token_max_age: dt.timedelta = DEFAULT_MAX_AGE
    #: How long a cancel notice that fails is tried again.
    notice_retry_for: dt.timedelta = dt.timedelta(days=1)
    #: How long this engine's heartbeat holds: if it stops beating, others take over after this.
    engine_lease: dt.timedelta = dt.timedelta(seconds=120)
    #: The kinds of publisher (checks ``notify`` lists).
    notifiers: NotifierCatalog = dataclasses.field(default_factory=NoNotifiers)
    #: The server's publishers and how long a failing notification is tried again.
    notify_policy: NotifyPolicy = dataclasses.field(default_factory=NotifyPolicy)
    #: Measures transactions and pushes (the metrics endpoint's).
    meter: Meter = dataclasses.field(default_factory=NoMeter)


@dataclasses.dataclass
class Preload:
    """Data the next attempt of a transaction loads beside each execution (asked for by the conductor)."""

    actions_of: set[str] = dataclasses.field(default_factory=set)
    executions: set[str] = dataclasses.field(default_factory=set)
    catalog: bool = False

    def add(self, need: NeedsData) -> bool:
        """Remember what was asked for; False if nothing of it is new (asked again: a bug)."""
        new = bool(need.actions_of - self.actions_of or need.executions - self.executions)
        new = new or (need.catalog and not self.catalog)
        self.actions_of |= need.actions_of
        self.executions |= need.executions
        self.catalog = self.catalog or need.catalog
        return new


class IntentHandler(Protocol):
    """Applies an intent one execution left for another (provided by the services)."""

    def apply(self, work: Work, st: ExecutionState, intent: Intent) -> list[ExecutionState]:
        """Apply ``intent`` (left by ``st``); return the executions it changed."""
        ...


class Work:
    """The executions one transaction touched (locked once each), in the order it touched them."""

    def __init__(
        self, parts: Parts, preload: Preload, intents: IntentHandler, after_doubt: bool = False
    ) -> None:
        self._parts = parts
        self._preload = preload
        self._intents = intents
        self.states: dict[str, ExecutionState] = {}
        #: Commands of no execution's view (a cancel notice tried again), sent after commit too.
        self.commands: list[Command] = []
        #: Entries of action executions' histories, written with the records (one round trip).
        self.history: list[HistoryEntry] = []
        self.catalog_checked = False
        #: An earlier attempt's commit may have been kept: work that is not idempotent checks first.
        self.after_doubt = after_doubt

    @property
    def now(self) -> dt.datetime:
        """The time."""
        return self._parts.clock.now()

    @property
    def store(self) -> ExecutionStore:
        """The store (inside this transaction)."""
        return self._parts.store

    # -- loading ------------------------------------------------------------------
    def state(self, wf_ex_id: str) -> ExecutionState:
        """The view of an execution, locking and loading it the first time.

        Raises:
            NotFoundError: no such execution.
        """
        st = self.states.get(wf_ex_id)
        if st is not None:
            return st
        store = self._parts.store
        if self._parts.cache.holds(wf_ex_id):  # its version is all that is needed to use the view
            version = store.lock_workflow_versions([wf_ex_id]).get(wf_ex_id)
            kept = None if version is None else self._take_up(wf_ex_id, version)
            if kept is not None:
                return kept
        return self._adopt(store.lock_workflow_execution(wf_ex_id))

    def lock_action(self, action_ex_id: str) -> tuple[ExecutionState, ActionExecution] | None:
        """An action execution and the view of the execution it belongs to, both locked (and the
        view loaded the first time) in one statement; None if it has none."""
        found = self._parts.store.lock_action_with_execution(action_ex_id)
        if found is None:
            return None
        wf_ex, action_ex = found
        st = self._adopt(wf_ex)
        st.actions[action_ex_id] = action_ex  # read under the lock: fresher than a kept view's
        return st, action_ex

    def lock(self, wf_ex_ids: Iterable[str | None]) -> None:
        """Lock and load these executions at once (one statement, in the order of their ids), as
        a batch about to touch each of them does; those that do not exist are left out (asking
        for one of them by :meth:`state` raises as always). The tasks of those that no cache
        holds are read in one more statement, not one per execution."""
        todo = sorted({wf_ex_id for wf_ex_id in wf_ex_ids if wf_ex_id and wf_ex_id not in self.states})
        if len(todo) < 2:
            return  # one is locked when it is asked for: the same single statement
        store = self._parts.store
        if any(self._parts.cache.holds(wf_ex_id) for wf_ex_id in todo):
            # Lock them all (in order) reading only their versions; read whole only those whose
            # kept view is not current (they are locked already).
            versions = store.lock_workflow_versions(todo)
            stale = [i for i, version in versions.items() if not self._take_up(i, version)]
            fresh = store.lock_workflow_executions(stale) if stale else []
        else:
            fresh = store.lock_workflow_executions(todo)
        uncached: list[WorkflowExecution] = []
        for wf_ex in fresh:
            st = self._cached(wf_ex)
            if st is None:
                uncached.append(wf_ex)
                continue
            self.states[wf_ex.id] = st
            self._ready(st)
        if not uncached:
            return
        tasks: dict[str, dict[str, TaskExecution]] = {wf_ex.id: {} for wf_ex in uncached}
        for task in self._parts.store.task_executions_of_many(list(tasks)):
            tasks[task.workflow_execution_id or ""][task.id] = task
        for wf_ex in uncached:
            st = self.states[wf_ex.id] = self._view_of(wf_ex, tasks[wf_ex.id])
            self._ready(st)

    def prefetch_actions(self, wanted: Iterable[tuple[str | None, str]]) -> None:
        """Read, in one statement, the action executions of these ``(workflow execution, action
        execution)`` pairs that the views of this work (locked already) lack, as a batch about to
        ask for each by :meth:`action` does."""
        states = self.states
        todo = {
            action_ex_id
            for wf_ex_id, action_ex_id in wanted
            if wf_ex_id in states and action_ex_id not in states[wf_ex_id].actions
        }
        if len(todo) < 2:
            return  # one is read when it is asked for: the same single statement
        for action_ex in self._parts.store.action_executions_by_id(list(todo)):
            st = states.get(action_ex.workflow_execution_id or "")
            if st is not None and action_ex.id not in st.actions:
                st.actions[action_ex.id] = action_ex

    def _adopt(self, wf_ex: WorkflowExecution) -> ExecutionState:
        """The view of ``wf_ex``, just locked: the one this work holds already, else loaded (with
        what earlier attempts asked for)."""
        st = self.states.get(wf_ex.id)
        if st is None:
            st = self.states[wf_ex.id] = self._load(wf_ex)
            self._ready(st)
        return st

    def add(self, st: ExecutionState) -> None:
        """A new execution created in this transaction."""
        self.states[st.wf_ex.id] = st
        self._ready(st)

    def view(self, wf_ex: WorkflowExecution, spec: WorkflowSpec) -> ExecutionState:
        """A fresh view of a new execution (no tasks yet)."""
        return ExecutionState(wf_ex, spec, {}, self._parts.clock.now(), self._parts.new_id)

    def owner_of_task(self, task_ex_id: str) -> ExecutionState:
        """The view of the execution a task belongs to."""
        for st in self.states.values():
            if task_ex_id in st.tasks:
                return st
        task = self._parts.store.get_task_execution(task_ex_id)
        return self.state(task.workflow_execution_id)

    def actions_of(self, st: ExecutionState, task_ex_id: str) -> list[ActionExecution]:
        """The action executions of a task of ``st``, loaded into the view first if need be."""
        if task_ex_id not in st.complete_actions_of:
            st.load_actions(task_ex_id, self._parts.store.action_executions_of(task_ex_id))
        return st.actions_of(task_ex_id)

    def action(self, st: ExecutionState, action_ex_id: str) -> ActionExecution:
        """An action execution of ``st`` as it is now: from the view, else read under the lock."""
        action_ex = st.actions.get(action_ex_id)
        if action_ex is None:
            action_ex = st.actions[action_ex_id] = self._parts.store.get_action_execution(action_ex_id)
        return action_ex

    def _load(self, wf_ex: WorkflowExecution) -> ExecutionState:
        cached = self._cached(wf_ex)
        if cached is not None:
            return cached
        return self._view_of(wf_ex, {t.id: t for t in self._parts.store.task_executions_of(wf_ex.id)})

    def _cached(self, wf_ex: WorkflowExecution) -> ExecutionState | None:
        """The view of ``wf_ex`` that the cache kept, if it is still current (with ``wf_ex``)."""
        cached = self._kept(wf_ex.id, wf_ex.version)
        if cached is not None:
            cached.wf_ex = wf_ex
        return cached

    def _take_up(self, wf_ex_id: str, version: int) -> ExecutionState | None:
        """The kept view of an execution locked at ``version``, made this work's, if it is current."""
        kept = self._kept(wf_ex_id, version)
        if kept is not None:
            self.states[wf_ex_id] = kept
            self._ready(kept)
        return kept

    def _kept(self, wf_ex_id: str, version: int) -> ExecutionState | None:
        """The view the cache kept of an execution locked at ``version``, if it is that version's.

        Its record of the execution is the one this process wrote at that version: every write of
        an execution's records goes through :meth:`_flush`, which raises the version.
        """
        parts = self._parts
        cached = parts.cache.take(wf_ex_id, version)
        if cached is not None:
            cached.begin(parts.clock.now())
        return cached

    def _view_of(self, wf_ex: WorkflowExecution, tasks: dict[str, TaskExecution]) -> ExecutionState:
        """A view of ``wf_ex`` read from the store, with these tasks."""
        parts = self._parts
        spec = parts.definitions.spec(wf_ex.spec_checksum)
        return ExecutionState(wf_ex, spec, tasks, parts.clock.now(), parts.new_id)

    def _ready(self, st: ExecutionState) -> None:
        """Load what earlier attempts were asked for, and check the catalog if the spec needs it."""
        for task_ex_id in self._preload.actions_of & st.tasks.keys():
            self.actions_of(st, task_ex_id)
        for root in self._preload.executions:
            self._load_tree(st, root)
        if self._preload.catalog or self._parts.catalog.needs_check(st.spec):
            self.check_catalog()
        st.catalog_checked = self.catalog_checked

    def _load_tree(self, st: ExecutionState, root: str) -> None:
        """The tasks of ``root`` and of its sub-workflows, recursively (for ``tasks()``)."""
        store = self._parts.store
        todo = [root]
        while todo:
            wf_ex_id = todo.pop()
            tasks = list(st.tasks.values()) if wf_ex_id == st.wf_ex.id else None
            if tasks is None:
                tasks = st.related_tasks[wf_ex_id] = store.task_executions_of(wf_ex_id)
            for task in tasks:
                if task.type == "WORKFLOW" and task.id not in st.children:
                    children = store.list_workflow_executions(_children_of(task))
                    st.children[task.id] = [child.id for child in children]
                    todo.extend(st.children[task.id])

    def check_catalog(self) -> None:
        """Bring the catalog's snapshot of ad-hoc actions up to the store's version (once)."""
        if self.catalog_checked:
            return
        refresh_catalog(self._parts.store, self._parts.catalog)
        self.catalog_checked = True
        for st in self.states.values():
            st.catalog_checked = True

    # -- finishing ----------------------------------------------------------------
    def finish(self) -> None:
        """Apply intents between executions until none is left, then write every execution."""
        todo = deque(self.states.values())
        while todo:
            st = todo.popleft()
            intents, st.intents = st.intents, []
            for intent in intents:
                todo.extend(self._intents.apply(self, st, intent))
        changes: list[tuple[Any, Any]] = []
        for st in self.states.values():
            changes.extend(self._flush(st))
        changes.extend((entry, None) for entry in self.history)
        if changes:
            self._parts.store.write(changes)  # on PostgreSQL: one round trip for the whole batch

    def _flush(self, st: ExecutionState) -> list[tuple[Any, Any]]:
        """Write the timers of ``st``; its records to insert or update, in order."""
        self.commands.extend(plan(st, self._parts.notify_policy))  # their timers go in with st's
        self._cancel_pending_actions(st)
        self._own_dispatched(st)
        self._keep_notices(st)
        store = self._parts.store
        for target_id, kind in st.timer_cancels:
            store.delete_timers(target_id, kind)
        for timer in st.timers:
            store.insert_timer(timer)
        if not st.pending:
            return []
        st.change(st.wf_ex, version=st.wf_ex.version + 1)
        return [(record, None if fields is None else tuple(fields)) for record, fields in st.pending.values()]

    def _keep_notices(self, st: ExecutionState) -> None:
        """Each cancel notice goes out after commit; a durable timer, written with the decision, tries
        it again until a try is delivered (see :mod:`mistral_core.services.notices`)."""
        give_up_at = (st.now + self._parts.notice_retry_for).isoformat()
        for command in st.commands:
            if isinstance(command, CancelAction):
                st.add_timer(
                    NOTICE,
                    command.action_execution_id,
                    notice_backoff(command.attempt),
                    reason=command.reason,
                    attempt=command.attempt + 1,
                    give_up_at=give_up_at,
                )

    def _cancel_pending_actions(self, st: ExecutionState) -> None:
        """The unfinished action executions of cancelled tasks: CANCELLED, async ones told."""
        for task_id, reason, notice in st.cancel_actions_of:
            for action_ex in self.actions_of(st, task_id):
                if action_ex.state in (State.RUNNING, State.PAUSED, State.IDLE):
                    st.change(action_ex, state=State.CANCELLED, state_info=reason)
                    if not action_ex.is_sync and action_ex.state is not State.IDLE:
                        st.commands.append(CancelAction.of(action_ex, notice))

    def _own_dispatched(self, st: ExecutionState) -> None:
        """This engine runs what it dispatches: if it dies, another engine knows what to take over.

        An asynchronous action gets a new callback token: its secret goes in the command (to the
        executor, after commit), its hash and expiry in the action execution, written in this
        transaction with the decision that sends it.
        """
        parts = self._parts
        for position, command in enumerate(st.commands):
            if not isinstance(command, RunAction):
                continue
            dispatched = st.actions.get(command.action_execution_id)
            if dispatched is None:
                continue
            changes: dict[str, Any] = {}
            if dispatched.runner_id != parts.engine_id:
                changes["runner_id"] = parts.engine_id
            if not command.is_sync:
                token = mint(st.now, parts.callback_token_max_age)
                st.commands[position] = dataclasses.replace(command, callback_token=token.secret)
                changes.update(callback_token_hash=token.hash, callback_token_expires_at=token.expires_at)
            if changes:
                st.change(dispatched, **changes)

    def after_commit(self) -> None:
        """Keep the views worth keeping, hand actions to the runner, announce timers, call hooks."""
        parts = self._parts
        commands: list[Any] = list(self.commands)
        earliest: dt.datetime | None = None
        for st in self.states.values():
            parts.cache.keep(st)
            commands.extend(st.commands)
            for timer in st.timers:
                earliest = timer.due_at if earliest is None else min(earliest, timer.due_at)
            for hook, key, record in st.notifications:
                parts.hooks.notify(hook, **{key: record})
        if commands and parts.runner is not None:
            parts.runner.submit(commands)
        if earliest is not None and parts.timer_listener is not None:
            parts.timer_listener(earliest)


class Transactions:
    """Runs bodies of work as transactions: retried when refused for now or short of data.

    Args:
        parts: the shared parts.
        intents: applies intents between executions.
    """

    def __init__(self, parts: Parts, intents: IntentHandler) -> None:
        self._parts = parts
        self._intents = intents

    def run(self, body: Callable[[Work], R]) -> R:
        """Run ``body`` in a transaction (again if need be), commit, then the effects; its result.

        Raises:
            TransientStoreError: the database kept refusing the transaction.
            MistralError: whatever ``body`` raised (nothing of it was written).
        """
        began = time.perf_counter()
        preload = Preload()
        refused = 0
        doubtful: list[Work] = []
        for _ in range(TRANSIENT_ATTEMPTS + DATA_ATTEMPTS):
            work = Work(self._parts, preload, self._intents, after_doubt=bool(doubtful))
            try:
                with self._parts.store.atomic():
                    result = body(work)
                    work.finish()
            except NeedsData as need:
                if not preload.add(need):
                    raise RuntimeError(f"the engine asked twice for the same data ({need})") from None
                continue
            except TransientStoreError as exc:
                if isinstance(exc, CommitInDoubt):
                    doubtful.append(work)
                refused += 1
                if refused >= TRANSIENT_ATTEMPTS:
                    self._settle_doubts(doubtful)
                    raise
                LOG.info("transaction refused for now (attempt %d: %s); running it again", refused, exc)
                time.sleep(random.uniform(0.002, 0.02) * refused)
                continue
            work.after_commit()
            self._settle_doubts(doubtful)
            self._parts.meter.transaction_done(time.perf_counter() - began)
            return result
        raise RuntimeError("the engine kept asking for more data in one transaction")

    def _settle_doubts(self, doubtful: list[Work]) -> None:
        """Commits whose outcome was unknown: the actions they started that the database kept are
        sent now (else nothing would ever run them); cancel notices are sent again (harmless)."""
        runner, store = self._parts.runner, self._parts.store
        for work in doubtful:
            commands = [c for st in work.states.values() for c in st.commands]
            kept: list[Any] = []
            try:
                for command in commands:
                    if isinstance(command, Notify):
                        continue  # never in an execution's commands: its timer covers a lost commit
                    action_ex = store.get_action_execution(command.action_execution_id)
                    started = action_ex.state is State.RUNNING and action_ex.dispatch == DISPATCH_QUEUED
                    if started or not isinstance(command, RunAction):
                        kept.append(command)
            except NotFoundError:
                continue  # not kept: the retry did the work afresh
            except StoreError as exc:
                LOG.error(
                    "a commit in doubt could not be checked (%s): %d action(s) may wait", exc, len(commands)
                )
                continue
            if kept and runner is not None:
                LOG.warning("a commit in doubt was kept: %d command(s) sent now", len(kept))
                runner.submit(kept)

    def in_batches(
        self,
        items: Sequence[T],
        apply: Callable[[Work, T], None],
        on_failure: Callable[[T], None],
        execution_of: Callable[[T], str | None] | None = None,
        action_of: Callable[[T], str] | None = None,
    ) -> None:
        """Apply many items in one transaction; if that fails, each alone (one bad item loses no other).

        With ``execution_of`` (the workflow execution an item touches, if known), the executions
        of the whole batch are locked and loaded first, in one statement; with ``action_of`` too
        (the action execution it touches), those actions that the views lack are read in one more.

        Raises:
            TransientStoreError: the database refused or could not be reached, also when tried
                again: nothing is lost or failed; the caller applies the items again later.
        """
        try:
            self.run(lambda work: _each(work, items, apply, execution_of, action_of))
        except TransientStoreError:
            raise  # a fault of the store, not of an item: splitting the batch would not help
        except Exception:
            if len(items) == 1:
                LOG.exception("could not apply %s", items[0])
                on_failure(items[0])
                return
            LOG.warning("a batch of %d failed; applying them one by one", len(items), exc_info=True)
            for item in items:
                self.in_batches([item], apply, on_failure, execution_of, action_of)


#: The kind of the timers that try a cancel notice again.
NOTICE = "notice"
#: Seconds before the next try of a cancel notice, by the number of tries made (then the last).
NOTICE_BACKOFF = (5.0, 15.0, 60.0, 300.0)


def notice_backoff(tries: int) -> float:
    """Seconds to wait before trying a cancel notice again after ``tries`` tries."""
    return NOTICE_BACKOFF[min(tries, len(NOTICE_BACKOFF)) - 1]


def refresh_catalog(store: ExecutionStore, catalog: Catalog) -> None:
    """Bring the catalog's snapshot of ad-hoc (and dynamic) actions up to the store's version of them."""
    version = store.catalog_version()
    if version != catalog.version:
        adhoc = store.list_action_definitions(Query())
        if not catalog.dynamic_on:
            catalog.refresh(version, adhoc)
            return
        every = Query(limit=None)
        catalog.refresh(version, adhoc, store.list_dynamic_actions(every), store.list_code_sources(every))


def _each(
    work: Work,
    items: Sequence[T],
    apply: Callable[[Work, T], None],
    execution_of: Callable[[T], str | None] | None,
    action_of: Callable[[T], str] | None,
) -> None:
    if execution_of is not None:
        work.lock(execution_of(item) for item in items)
        if action_of is not None:
            work.prefetch_actions((execution_of(item), action_of(item)) for item in items)
    for item in items:
        apply(work, item)


def _children_of(task: TaskExecution) -> Query:
    return Query(filters=(Filter("task_execution_id", "eq", task.id),), sort=(("created_at", "asc"),))
