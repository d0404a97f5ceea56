"""MemoryStore: the in-memory twin of the SQL store, for tests and small embedded uses.

Assembled like the SQL store from parts over :class:`~.memorybase.MemoryBase`:
executions and spec snapshots here, timers in :mod:`.memorytimers`, named
definitions in :mod:`.memorydefinitions`, API keys in :mod:`.memorykeys`, callback tokens
and push history in :mod:`.memorycallbacks`, approval responses in :mod:`.memoryapprovals`,
failed notification deliveries in :mod:`.memorynotifications`, the maintenance mode in
:mod:`.memorymaintenance`, the inventory of waits in :mod:`.memorywaits`. It enforces the same
references as the SQL schema (a task needs its workflow execution, an action its task) and keeps
the children of each parent in insertion order, so listing them needs no scan.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mistral_core.engine.ports import Clock, Record, Written
from mistral_core.errors import NotFoundError, StoreError
from mistral_core.model import (
    DISPATCH_QUEUED,
    DISPATCH_STARTED,
    ActionExecution,
    HistoryEntry,
    State,
    TaskExecution,
    WorkflowExecution,
)
from mistral_core.persistence.columns import (
    ACTION_EXECUTIONS,
    ALL_TABLES,
    EXECUTION_TABLES,
    TASK_EXECUTIONS,
    WORKFLOW_EXECUTIONS,
    Row,
    TableSpec,
    dumps,
    not_found,
)
from mistral_core.persistence.eventtriggers import EventTriggerMethods
from mistral_core.persistence.executions import ExecutionReads
from mistral_core.persistence.memoryactivity import MemoryActivity
from mistral_core.persistence.memoryapprovals import MemoryApprovals
from mistral_core.persistence.memorybase import ID, replaced
from mistral_core.persistence.memorycallbacks import MemoryCallbacks
from mistral_core.persistence.memorydefinitions import MemoryDefinitions
from mistral_core.persistence.memorykeys import MemoryKeys
from mistral_core.persistence.memorymaintenance import MemoryMaintenance
from mistral_core.persistence.memorymembers import MemoryMembers
from mistral_core.persistence.memorynotifications import MemoryNotifications
from mistral_core.persistence.memorytimers import MemoryTimers
from mistral_core.persistence.memorywaits import MemoryWaits

_UNFINISHED = (State.RUNNING.value, State.PAUSED.value)
_DISPATCHABLE = (*_UNFINISHED, State.IDLE.value)

_TASK_WF = TASK_EXECUTIONS.index_of("workflow_execution_id")
_ACTION_TASK = ACTION_EXECUTIONS.index_of("task_execution_id")
_ACTION_STATE = ACTION_EXECUTIONS.index_of("state")
_DISPATCH = ACTION_EXECUTIONS.index_of("dispatch")
_RUNNER = ACTION_EXECUTIONS.index_of("runner_id")
_PARENT_TASK = WORKFLOW_EXECUTIONS.index_of("task_execution_id")
_CREATED = {table.name: table.index_of("created_at") for table in ALL_TABLES}


class MemoryStore(
    MemoryWaits,
    MemoryActivity,
    MemoryCallbacks,
    MemoryNotifications,
    MemoryMembers,
    MemoryMaintenance,
    MemoryTimers,
    MemoryDefinitions,
    MemoryKeys,
    MemoryApprovals,
    ExecutionReads,
    EventTriggerMethods,
):
    """An :class:`~mistral_core.engine.ports.ExecutionStore` in memory, thread-safe.

    Args:
        clock: gives ``created_at``/``updated_at`` when a record has none.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._tasks_of: dict[str, dict[str, None]] = {}
        self._actions_of: dict[str, dict[str, None]] = {}
        self._specs: dict[str, str] = {}

    def lock_workflow_execution(self, wf_ex_id: str) -> WorkflowExecution:
        """Inside :meth:`atomic`: the workflow execution (the store lock is already held).

        Raises:
            StoreError: called outside :meth:`atomic`.
            NotFoundError: no such workflow execution.
        """
        with self._lock:
            if self._depth == 0:
                raise StoreError("lock_workflow_execution() needs an open atomic() block")
            return self.get_workflow_execution(wf_ex_id)

    def lock_action_with_execution(
        self, action_ex_id: str
    ) -> tuple[WorkflowExecution, ActionExecution] | None:
        """Inside :meth:`atomic`: an action execution and its workflow execution; None if none.

        Raises:
            StoreError: called outside :meth:`atomic`.
        """
        with self._lock:
            if self._depth == 0:
                raise StoreError("lock_action_with_execution() needs an open atomic() block")
            try:
                action_ex = self.get_action_execution(action_ex_id)
                wf_ex_id = action_ex.workflow_execution_id
                return None if wf_ex_id is None else (self.lock_workflow_execution(wf_ex_id), action_ex)
            except NotFoundError:
                return None

    def lock_workflow_executions(self, wf_ex_ids: Sequence[str]) -> list[WorkflowExecution]:
        """Inside :meth:`atomic`: those of these workflow executions that exist, in the order of
        their ids (each through :meth:`lock_workflow_execution`).

        Raises:
            StoreError: called outside :meth:`atomic`.
        """
        found = []
        for wf_ex_id in sorted(set(wf_ex_ids)):
            try:
                found.append(self.lock_workflow_execution(wf_ex_id))
            except NotFoundError:
                continue
        return found

    def lock_workflow_versions(self, wf_ex_ids: Sequence[str]) -> dict[str, int]:
        """Inside :meth:`atomic`: the version of each of these workflow executions that exists.

        Raises:
            StoreError: called outside :meth:`atomic`.
        """
        return {wf_ex.id: wf_ex.version for wf_ex in self.lock_workflow_executions(wf_ex_ids)}

    def write(self, changes: Sequence[tuple[Written, Sequence[str] | None]]) -> None:
        """Insert (fields None) or update each record, in this order (see :meth:`insert`, :meth:`update`);
        a history entry is added to its action execution's history."""
        for record, fields in changes:
            if isinstance(record, HistoryEntry):
                self.add_history_entry(record)
            elif fields is None:
                self.insert(record)
            else:
                self.update(record, fields)

    # -- spec snapshots -----------------------------------------------------------
    def save_spec(self, checksum: str, spec: dict[str, Any]) -> None:
        """Keep ``spec`` under ``checksum`` unless one is kept already (idempotent).

        Raises:
            StoreError: the spec is not JSON-able.
        """
        try:
            text = dumps(spec)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"Cannot store spec {checksum}: {exc}") from exc
        with self._lock:
            if checksum not in self._specs:
                self._put(self._specs, checksum, text)

    def get_spec(self, checksum: str) -> dict[str, Any]:
        """The spec saved under ``checksum``.

        Raises:
            NotFoundError: none saved.
        """
        with self._lock:
            text = self._specs.get(checksum)
        if text is None:
            raise NotFoundError(f"Spec not found [checksum={checksum}]")
        spec: dict[str, Any] = json.loads(text)
        return spec

    # -- event triggers (the primitives of EventTriggerMethods) ---------------------
    def _insert_event_record(self, table: TableSpec, record: Any) -> None:
        with self.atomic():
            rows = self._rows[table.name]
            if record.id in rows:
                raise StoreError(f"{table.label} with id '{record.id}' already exists")
            self._put(
                rows,
                record.id,
                (next(self._seq), self._codecs[table.name].insert_row(record, self._clock.now)),
            )

    def _delete_event_records(self, table: TableSpec, column: str, value: Any, before: bool = False) -> int:
        at = table.index_of(column)
        deleted = 0
        with self.atomic():
            rows = self._rows[table.name]
            for key, (_, row) in list(rows.items()):
                if (row[at] is not None and row[at] < value) if before else row[at] == value:
                    self._pop(rows, key)
                    deleted += 1
        return deleted

    # -- executions ---------------------------------------------------------------
    def insert(self, record: Record) -> None:
        """Insert a workflow, task or action execution (``created_at`` defaults to now).

        Raises:
            StoreError: the id exists, a referenced parent is missing, or a field is not JSON-able.
        """
        table = _table_of(record)
        row = self._codecs[table.name].insert_row(record, self._clock.now)
        with self._lock:
            rows = self._rows[table.name]
            if record.id in rows:
                raise StoreError(f"{table.label} {record.id} already exists")
            self._check_references(table, row)
            self._put(rows, record.id, (next(self._seq), row))
            self._link(table, row)

    def update(self, record: Record, fields: Sequence[str]) -> None:
        """Write ``fields`` of ``record`` (matched by id) and its ``updated_at``.

        Raises:
            NotFoundError: no record with that id.
            InputError: an unknown field name.
        """
        self._update_record(_table_of(record), record, fields)

    def _replace_row(self, table: TableSpec, seq: int, old: Row, new: Row) -> None:
        """Replace a row, keeping references and the children of each parent true."""
        self._check_references(table, new)
        self._unlink(table, old)
        self._put(self._rows[table.name], old[ID], (seq, new))
        self._link(table, new)

    def task_executions_of(self, wf_ex_id: str) -> list[TaskExecution]:
        """Every task execution of a workflow execution, oldest first (ties: insertion order)."""
        with self._lock:
            ids = list(self._tasks_of.get(wf_ex_id, ()))
            return self._oldest_first(TASK_EXECUTIONS, ids)

    def action_executions_of(self, task_ex_id: str) -> list[ActionExecution]:
        """Every action execution of a task execution, oldest first (ties: insertion order)."""
        with self._lock:
            ids = list(self._actions_of.get(task_ex_id, ()))
            return self._oldest_first(ACTION_EXECUTIONS, ids)

    def task_executions_of_many(self, wf_ex_ids: Sequence[str]) -> list[TaskExecution]:
        """Every task execution of these workflow executions, oldest first (ties: insertion order)."""
        with self._lock:
            ids = [task_id for wf_ex_id in set(wf_ex_ids) for task_id in self._tasks_of.get(wf_ex_id, ())]
            return self._oldest_first(TASK_EXECUTIONS, ids)

    def action_executions_by_id(self, action_ex_ids: Sequence[str]) -> list[ActionExecution]:
        """Those of these action executions that exist."""
        found = []
        for action_ex_id in set(action_ex_ids):
            try:
                found.append(self.get_action_execution(action_ex_id))
            except NotFoundError:
                continue
        return found

    def count_task_states(self, wf_ex_ids: Sequence[str]) -> dict[State, int]:
        """How many task executions of these workflow executions are in each state."""
        counts: dict[State, int] = {}
        for wf_ex_id in dict.fromkeys(wf_ex_ids):
            for task_ex in self.task_executions_of(wf_ex_id):
                counts[task_ex.state] = counts.get(task_ex.state, 0) + 1
        return counts

    def _oldest_first(self, table: TableSpec, ids: Sequence[str]) -> list[Any]:
        rows = self._rows[table.name]
        entries = [rows[record_id] for record_id in ids]
        created = _CREATED[table.name]
        entries.sort(key=lambda entry: (entry[1][created], entry[0]))
        codec = self._codecs[table.name]
        return [codec.record(row) for _, row in entries]

    def delete_workflow_execution(self, wf_ex_id: str) -> None:
        """Delete a workflow execution, its tasks, their action executions (and their histories),
        its failed notification deliveries, and sub-workflows.

        Raises:
            NotFoundError: no such workflow execution.
        """
        with self.atomic():
            if wf_ex_id not in self._rows[WORKFLOW_EXECUTIONS.name]:
                raise not_found(WORKFLOW_EXECUTIONS, wf_ex_id)
            doomed = self._execution_tree(wf_ex_id)
            actions = self._rows[ACTION_EXECUTIONS.name]
            doomed_actions = {row[ID] for _, row in actions.values() if row[_ACTION_TASK] in doomed}
            self._delete_history_of(doomed_actions)
            self._delete_deliveries_of(doomed)
            for action_ex_id in doomed_actions:
                self._delete(ACTION_EXECUTIONS, actions[action_ex_id][1])
            for table in (TASK_EXECUTIONS, WORKFLOW_EXECUTIONS):
                for _, row in list(self._rows[table.name].values()):
                    if row[ID] in doomed:
                        self._delete(table, row)

    def delete_action_execution(self, action_ex_id: str) -> None:
        """Delete an action execution and its history.

        Raises:
            NotFoundError: no such action execution.
        """
        with self.atomic():
            actions = self._rows[ACTION_EXECUTIONS.name]
            if action_ex_id not in actions:
                raise not_found(ACTION_EXECUTIONS, action_ex_id)
            self._delete_history_of({action_ex_id})
            self._delete(ACTION_EXECUTIONS, actions[action_ex_id][1])

    def _execution_tree(self, wf_ex_id: str) -> set[str]:
        """Ids of the workflow execution, its tasks, and recursively its sub-workflows and theirs."""
        children: dict[str, list[str]] = {}
        for _, row in self._rows[WORKFLOW_EXECUTIONS.name].values():
            if row[_PARENT_TASK] is not None:
                children.setdefault(row[_PARENT_TASK], []).append(row[ID])
        doomed: set[str] = set()
        pending = [wf_ex_id]
        while pending:
            current = pending.pop()
            doomed.add(current)
            for task_id in self._tasks_of.get(current, ()):
                doomed.add(task_id)
                pending.extend(children.get(task_id, ()))
        return doomed

    def _delete(self, table: TableSpec, row: Row) -> None:
        self._unlink(table, row)
        self._pop(self._rows[table.name], row[ID])

    def unfinished_action_executions(self) -> list[ActionExecution]:
        """Action executions still RUNNING or PAUSED, oldest first."""
        with self._lock:
            entries = self._rows[ACTION_EXECUTIONS.name]
            ids = [row[ID] for _, row in entries.values() if row[_ACTION_STATE] in _UNFINISHED]
            return self._oldest_first(ACTION_EXECUTIONS, ids)

    def raise_dispatch(self, action_ex_ids: Sequence[str], dispatch: int) -> None:
        """Raise ``dispatch`` of these unfinished action executions to ``dispatch`` (never lower it).

        ``updated_at`` is left alone; unknown ids are ignored.
        """
        with self._lock:
            actions = self._rows[ACTION_EXECUTIONS.name]
            for action_ex_id in action_ex_ids:
                entry = actions.get(action_ex_id)
                if entry is None or entry[1][_ACTION_STATE] not in _DISPATCHABLE:
                    continue
                if entry[1][_DISPATCH] < dispatch:
                    self._put(actions, action_ex_id, (entry[0], replaced(entry[1], _DISPATCH, dispatch)))

    def claim_dispatch(self, action_ex_ids: Sequence[str], runner_id: str) -> list[str]:
        """Mark these action executions STARTED by ``runner_id`` where they are still QUEUED (or
        were so marked by ``runner_id`` already); the ids marked."""
        taken: list[str] = []
        with self._lock:
            actions = self._rows[ACTION_EXECUTIONS.name]
            for action_ex_id in action_ex_ids:
                entry = actions.get(action_ex_id)
                if entry is None or entry[1][_ACTION_STATE] not in _DISPATCHABLE:
                    continue
                row = entry[1]
                if row[_DISPATCH] == DISPATCH_QUEUED or (
                    row[_DISPATCH] == DISPATCH_STARTED and row[_RUNNER] == runner_id
                ):
                    row = replaced(replaced(row, _DISPATCH, DISPATCH_STARTED), _RUNNER, runner_id)
                    self._put(actions, action_ex_id, (entry[0], row))
                    taken.append(action_ex_id)
        return taken

    # -- references ---------------------------------------------------------------
    def _check_references(self, table: TableSpec, row: Row) -> None:
        if table is TASK_EXECUTIONS:
            parent, parent_table = row[_TASK_WF], WORKFLOW_EXECUTIONS
        elif table is ACTION_EXECUTIONS:
            parent, parent_table = row[_ACTION_TASK], TASK_EXECUTIONS
        else:
            return
        if parent is not None and parent not in self._rows[parent_table.name]:
            raise StoreError(
                f"{table.label} {row[ID]} refers to a missing {parent_table.label} [id={parent}]"
            )

    def _index_of(self, table: TableSpec, row: Row) -> tuple[dict[str, dict[str, None]], str | None]:
        if table is TASK_EXECUTIONS:
            return self._tasks_of, row[_TASK_WF]
        if table is ACTION_EXECUTIONS:
            return self._actions_of, row[_ACTION_TASK]
        return {}, None

    def _link(self, table: TableSpec, row: Row) -> None:
        index, parent = self._index_of(table, row)
        if parent is not None:
            self._put(index.setdefault(parent, {}), row[ID], None)

    def _unlink(self, table: TableSpec, row: Row) -> None:
        index, parent = self._index_of(table, row)
        if parent is not None and parent in index:
            self._pop(index[parent], row[ID])


def _table_of(record: Any) -> TableSpec:
    table = EXECUTION_TABLES.get(type(record))
    if table is None:
        raise StoreError(f"Cannot store a {type(record).__name__}")
    return table
