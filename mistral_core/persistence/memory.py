"""MemoryStore: the in-memory twin of the SQL store, for tests and small embedded uses.

It keeps the same neutral rows as the SQL stores (JSON fields as text), so a
record read back is a fresh copy, never an alias of what was written, and it
enforces the same references (a task needs its workflow execution, an action
its task). One re-entrant lock guards everything; :meth:`MemoryStore.atomic`
holds it for the whole block and undoes the block's writes if it raises.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from mistral_core.engine.ports import Clock, Record, SystemClock
from mistral_core.errors import DuplicateError, NotFoundError, StoreError
from mistral_core.model import (
    ActionExecution,
    Query,
    State,
    TaskExecution,
    Timer,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.persistence.columns import (
    ACTION_EXECUTIONS,
    ALL_TABLES,
    EXECUTION_TABLES,
    TASK_EXECUTIONS,
    TIMERS,
    WORKFLOW_DEFINITIONS,
    WORKFLOW_EXECUTIONS,
    Codec,
    Row,
    TableSpec,
    dumps,
)
from mistral_core.persistence.querying import make_plan, matches, sort_rows

_MISSING: Any = object()
_UNFINISHED = (State.RUNNING.value, State.PAUSED.value)
_DISPATCHABLE = (*_UNFINISHED, State.IDLE.value)

Entry = tuple[int, Row]  # (insertion sequence, row)
_ID = 0  # every table's first column is ``id``


def _at(table: TableSpec, name: str) -> int:
    return table.index_of(name)


_WF_NAME, _WF_NAMESPACE = _at(WORKFLOW_DEFINITIONS, "name"), _at(WORKFLOW_DEFINITIONS, "namespace")
_TASK_WF = _at(TASK_EXECUTIONS, "workflow_execution_id")
_ACTION_TASK = _at(ACTION_EXECUTIONS, "task_execution_id")
_ACTION_STATE = _at(ACTION_EXECUTIONS, "state")
_PARENT_TASK = _at(WORKFLOW_EXECUTIONS, "task_execution_id")
_DISPATCH = _at(ACTION_EXECUTIONS, "dispatch")
_TIMER_DUE, _TIMER_KIND = _at(TIMERS, "due_at"), _at(TIMERS, "kind")
_TIMER_TARGET, _TIMER_OWNER = _at(TIMERS, "target_id"), _at(TIMERS, "claimed_by")
_TIMER_UNTIL = _at(TIMERS, "claimed_until")
_CREATED = {table.name: _at(table, "created_at") for table in ALL_TABLES}


class MemoryStore:
    """An :class:`~mistral_core.engine.ports.ExecutionStore` in memory, thread-safe.

    Args:
        clock: gives ``created_at``/``updated_at`` when a record has none.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._lock = threading.RLock()
        self._clock: Clock = clock or SystemClock()
        self._codecs = {table.name: Codec(table) for table in ALL_TABLES}
        self._rows: dict[str, dict[str, Entry]] = {table.name: {} for table in ALL_TABLES}
        self._tasks_of: dict[str, dict[str, None]] = {}
        self._actions_of: dict[str, dict[str, None]] = {}
        self._specs: dict[str, str] = {}
        self._seq = itertools.count()
        self._depth = 0
        self._undo: list[tuple[dict[str, Any], str, Any]] = []

    def close(self) -> None:
        """Nothing to release (here for symmetry with :meth:`SqlStore.close`)."""

    # -- transactions -------------------------------------------------------------
    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """Hold the store's lock for the block; undo the block's writes if it raises.

        Nested blocks join the outermost one.
        """
        with self._lock:
            outer = self._depth == 0
            self._depth += 1
            try:
                yield
            except BaseException:
                if outer:
                    self._roll_back()
                raise
            finally:
                self._depth -= 1
                if outer:
                    self._undo.clear()

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

    def _roll_back(self) -> None:
        for container, key, previous in reversed(self._undo):
            if previous is _MISSING:
                container.pop(key, None)
            else:
                container[key] = previous

    def _put(self, container: dict[str, Any], key: str, value: Any) -> None:
        if self._depth:
            self._undo.append((container, key, container.get(key, _MISSING)))
        container[key] = value

    def _pop(self, container: dict[str, Any], key: str) -> None:
        if key not in container:
            return
        if self._depth:
            self._undo.append((container, key, container[key]))
        del container[key]

    # -- workflow definitions -----------------------------------------------------
    def create_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Store a new definition.

        Raises:
            DuplicateError: a definition with that (name, namespace), or that id, exists.
        """
        codec = self._codecs[WORKFLOW_DEFINITIONS.name]
        row = codec.insert_row(wf_def, self._clock.now)
        with self._lock:
            if self._find_definition(wf_def.name, wf_def.namespace) is not None:
                raise DuplicateError(
                    f"Workflow '{wf_def.name}' already exists in namespace '{wf_def.namespace}'"
                )
            table = self._rows[WORKFLOW_DEFINITIONS.name]
            if wf_def.id in table:
                raise DuplicateError(f"Workflow with id '{wf_def.id}' already exists")
            self._put(table, wf_def.id, (next(self._seq), row))

    def update_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Replace the definition with the same (name, namespace); its id and created_at stay.

        Raises:
            NotFoundError: no such definition.
        """
        codec = self._codecs[WORKFLOW_DEFINITIONS.name]
        fields = [n for n in codec.names if n not in ("id", "name", "namespace", "created_at")]
        names, values = codec.update_values(wf_def, fields, self._clock.now)
        with self._lock:
            entry = self._find_definition(wf_def.name, wf_def.namespace)
            if entry is None:
                raise _definition_not_found(wf_def.name, wf_def.namespace)
            self._write(WORKFLOW_DEFINITIONS, entry, names, values)

    def get_workflow_definition(self, identifier: str, namespace: str = "") -> WorkflowDefinition:
        """The definition whose id, or else name (in ``namespace``), is ``identifier``.

        Raises:
            NotFoundError: no such definition.
        """
        with self._lock:
            entry = self._resolve_definition(identifier, namespace)
            record: WorkflowDefinition = self._codecs[WORKFLOW_DEFINITIONS.name].record(entry[1])
            return record

    def delete_workflow_definition(self, identifier: str, namespace: str = "") -> None:
        """Delete by id or name.

        Raises:
            NotFoundError: no such definition.
        """
        with self._lock:
            entry = self._resolve_definition(identifier, namespace)
            self._pop(self._rows[WORKFLOW_DEFINITIONS.name], entry[1][_ID])

    def list_workflow_definitions(self, query: Query) -> list[WorkflowDefinition]:
        """Definitions matching ``query``."""
        return self._list(WORKFLOW_DEFINITIONS, query)

    def _find_definition(self, name: str, namespace: str) -> Entry | None:
        for entry in self._rows[WORKFLOW_DEFINITIONS.name].values():
            row = entry[1]
            if row[_WF_NAME] == name and row[_WF_NAMESPACE] == namespace:
                return entry
        return None

    def _resolve_definition(self, identifier: str, namespace: str) -> Entry:
        entry = self._rows[WORKFLOW_DEFINITIONS.name].get(identifier)
        if entry is None:
            entry = self._find_definition(identifier, namespace)
        if entry is None:
            raise _definition_not_found(identifier, namespace)
        return entry

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
        table = _table_of(record)
        names, values = self._codecs[table.name].update_values(record, fields, self._clock.now)
        with self._lock:
            entry = self._rows[table.name].get(record.id)
            if entry is None:
                raise _not_found(table, record.id)
            self._write(table, entry, names, values)

    def _write(self, table: TableSpec, entry: Entry, names: Sequence[str], values: Sequence[Any]) -> None:
        seq, old = entry
        new = list(old)
        for name, value in zip(names, values, strict=True):
            new[table.index_of(name)] = value
        row = tuple(new)
        self._check_references(table, row)
        self._unlink(table, old)
        self._put(self._rows[table.name], old[_ID], (seq, row))
        self._link(table, row)

    def get_workflow_execution(self, wf_ex_id: str) -> WorkflowExecution:
        """One workflow execution; NotFoundError if none."""
        record: WorkflowExecution = self._get(WORKFLOW_EXECUTIONS, wf_ex_id)
        return record

    def get_task_execution(self, task_ex_id: str) -> TaskExecution:
        """One task execution; NotFoundError if none."""
        record: TaskExecution = self._get(TASK_EXECUTIONS, task_ex_id)
        return record

    def get_action_execution(self, action_ex_id: str) -> ActionExecution:
        """One action execution; NotFoundError if none."""
        record: ActionExecution = self._get(ACTION_EXECUTIONS, action_ex_id)
        return record

    def _get(self, table: TableSpec, record_id: str) -> Any:
        with self._lock:
            entry = self._rows[table.name].get(record_id)
        if entry is None:
            raise _not_found(table, record_id)
        return self._codecs[table.name].record(entry[1])

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

    def _oldest_first(self, table: TableSpec, ids: Sequence[str]) -> list[Any]:
        rows = self._rows[table.name]
        entries = [rows[record_id] for record_id in ids]
        created = _CREATED[table.name]
        entries.sort(key=lambda entry: (entry[1][created], entry[0]))
        codec = self._codecs[table.name]
        return [codec.record(row) for _, row in entries]

    def list_workflow_executions(self, query: Query) -> list[WorkflowExecution]:
        """Workflow executions matching ``query``."""
        return self._list(WORKFLOW_EXECUTIONS, query)

    def list_task_executions(self, query: Query) -> list[TaskExecution]:
        """Task executions matching ``query``."""
        return self._list(TASK_EXECUTIONS, query)

    def list_action_executions(self, query: Query) -> list[ActionExecution]:
        """Action executions matching ``query``."""
        return self._list(ACTION_EXECUTIONS, query)

    def _list(self, table: TableSpec, query: Query) -> list[Any]:
        plan = make_plan(table, query)
        with self._lock:
            entries = self._rows[table.name]
            rows = [row for _, row in entries.values() if matches(plan, row)]
            if plan.marker is not None:
                marker = entries.get(plan.marker)
                if marker is None:
                    raise _not_found(table, plan.marker)
                if not matches(plan, marker[1]):
                    rows.append(marker[1])
        sort_rows(plan, rows)
        if plan.marker is not None:
            position = next(i for i, row in enumerate(rows) if row[_ID] == plan.marker)
            rows = rows[position + 1 :]
        if plan.limit is not None:
            rows = rows[: plan.limit]
        codec = self._codecs[table.name]
        return [codec.record(row) for row in rows]

    def delete_workflow_execution(self, wf_ex_id: str) -> None:
        """Delete a workflow execution, its tasks, their action executions and sub-workflows.

        Raises:
            NotFoundError: no such workflow execution.
        """
        with self.atomic():
            if wf_ex_id not in self._rows[WORKFLOW_EXECUTIONS.name]:
                raise _not_found(WORKFLOW_EXECUTIONS, wf_ex_id)
            doomed = self._execution_tree(wf_ex_id)
            actions = self._rows[ACTION_EXECUTIONS.name]
            for _, row in list(actions.values()):
                if row[_ACTION_TASK] in doomed:
                    self._delete(ACTION_EXECUTIONS, row)
            for table in (TASK_EXECUTIONS, WORKFLOW_EXECUTIONS):
                for _, row in list(self._rows[table.name].values()):
                    if row[_ID] in doomed:
                        self._delete(table, row)

    def _execution_tree(self, wf_ex_id: str) -> set[str]:
        """Ids of the workflow execution, its tasks, and recursively its sub-workflows and theirs."""
        children: dict[str, list[str]] = {}
        for _, row in self._rows[WORKFLOW_EXECUTIONS.name].values():
            if row[_PARENT_TASK] is not None:
                children.setdefault(row[_PARENT_TASK], []).append(row[_ID])
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
        self._pop(self._rows[table.name], row[_ID])

    def unfinished_action_executions(self) -> list[ActionExecution]:
        """Action executions still RUNNING or PAUSED, oldest first."""
        with self._lock:
            entries = self._rows[ACTION_EXECUTIONS.name]
            ids = [row[_ID] for _, row in entries.values() if row[_ACTION_STATE] in _UNFINISHED]
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
                    self._put(actions, action_ex_id, (entry[0], _replaced(entry[1], _DISPATCH, dispatch)))

    # -- timers -------------------------------------------------------------------
    def insert_timer(self, timer: Timer) -> None:
        """Add a timer (``created_at`` defaults to now).

        Raises:
            StoreError: a timer with that id exists, or the payload is not JSON-able.
        """
        row = self._codecs[TIMERS.name].insert_row(timer, self._clock.now)
        with self._lock:
            timers = self._rows[TIMERS.name]
            if timer.id in timers:
                raise StoreError(f"Timer {timer.id} already exists")
            self._put(timers, timer.id, (next(self._seq), row))

    def delete_timer(self, timer_id: str) -> bool:
        """Delete one timer, claimed or not; False if it was gone already."""
        with self._lock:
            timers = self._rows[TIMERS.name]
            if timer_id not in timers:
                return False
            self._pop(timers, timer_id)
            return True

    def delete_timers(self, target_id: str, kind: str | None = None) -> int:
        """Delete the timers of ``target_id`` (of every kind, or of ``kind``); how many."""
        with self._lock:
            timers = self._rows[TIMERS.name]
            doomed = [
                row[_ID]
                for _, row in timers.values()
                if row[_TIMER_TARGET] == target_id and kind in (None, row[_TIMER_KIND])
            ]
            for timer_id in doomed:
                self._pop(timers, timer_id)
            return len(doomed)

    def claim_due_timers(
        self, now: dt.datetime, owner: str, lease_until: dt.datetime, limit: int
    ) -> list[Timer]:
        """Claim up to ``limit`` due timers for ``owner`` until ``lease_until``, oldest due first.

        A scan of every timer under the store lock: the in-memory store is for tests and
        small embedded uses; the SQL stores walk an index.
        """
        codec = self._codecs[TIMERS.name]
        with self._lock:
            timers = self._rows[TIMERS.name]
            due = [entry for entry in timers.values() if _claimable(entry[1], now)]
            due.sort(key=lambda entry: (entry[1][_TIMER_DUE], entry[0]))
            claimed = []
            for seq, row in due[: max(limit, 0)]:
                row = _replaced(_replaced(row, _TIMER_OWNER, owner), _TIMER_UNTIL, lease_until)
                self._put(timers, row[_ID], (seq, row))
                claimed.append(codec.record(row))
            return claimed

    def next_timer_due(self) -> dt.datetime | None:
        """The earliest ``due_at`` of all timers (claimed ones included), or None."""
        with self._lock:
            return min((row[_TIMER_DUE] for _, row in self._rows[TIMERS.name].values()), default=None)

    def count_timers(self) -> int:
        """How many timers are pending (claimed ones included)."""
        with self._lock:
            return len(self._rows[TIMERS.name])

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
                f"{table.label} {row[_ID]} refers to a missing {parent_table.label} [id={parent}]"
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
            self._put(index.setdefault(parent, {}), row[_ID], None)

    def _unlink(self, table: TableSpec, row: Row) -> None:
        index, parent = self._index_of(table, row)
        if parent is not None and parent in index:
            self._pop(index[parent], row[_ID])


def _replaced(row: Row, index: int, value: Any) -> Row:
    return (*row[:index], value, *row[index + 1 :])


def _claimable(row: Row, now: dt.datetime) -> bool:
    """Due at ``now`` and not claimed, or claimed by a lease that has expired."""
    until = row[_TIMER_UNTIL]
    return bool(row[_TIMER_DUE] <= now and (until is None or until < now))


def _table_of(record: Any) -> TableSpec:
    table = EXECUTION_TABLES.get(type(record))
    if table is None:
        raise StoreError(f"Cannot store a {type(record).__name__}")
    return table


def _not_found(table: TableSpec, record_id: str) -> NotFoundError:
    return NotFoundError(f"{table.label} not found [id={record_id}]")


def _definition_not_found(identifier: str, namespace: str) -> NotFoundError:
    return NotFoundError(f"Workflow not found [workflow_identifier={identifier}, namespace={namespace}]")
