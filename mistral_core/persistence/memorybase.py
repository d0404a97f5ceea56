"""MemoryBase: what every part of the in-memory store stands on.

It keeps the same neutral rows as the SQL stores (JSON fields as text), so a
record read back is a fresh copy, never an alias of what was written. One
re-entrant lock guards everything; :meth:`MemoryBase.atomic` holds it for the
whole block and undoes the block's writes if it raises (every write goes
through :meth:`MemoryBase._put` or :meth:`MemoryBase._pop`, which remember
what they replaced while a block is open).

The store's parts (:mod:`.memorytimers`, :mod:`.memorydefinitions`,
:mod:`.memory`) are subclasses, as on the SQL side.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mistral_core.engine.ports import Clock, SystemClock
from mistral_core.model import Query
from mistral_core.persistence.columns import ALL_TABLES, Codec, Row, TableSpec, not_found
from mistral_core.persistence.querying import Plan, make_plan, matches, sort_rows

_MISSING: Any = object()

Entry = tuple[int, Row]  # (insertion sequence, row)
ID = 0  # every table's first column is ``id``


class MemoryBase:
    """Rows, the lock, transactions and generic record operations of the in-memory store.

    Args:
        clock: gives ``created_at``/``updated_at`` when a record has none.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._lock = threading.RLock()
        self._clock: Clock = clock or SystemClock()
        self._codecs = {table.name: Codec(table) for table in ALL_TABLES}
        self._rows: dict[str, dict[str, Entry]] = {table.name: {} for table in ALL_TABLES}
        self._counters: dict[str, Any] = {}
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

    # -- generic record operations --------------------------------------------------
    def _get(self, table: TableSpec, record_id: str) -> Any:
        with self._lock:
            entry = self._rows[table.name].get(record_id)
        if entry is None:
            raise not_found(table, record_id)
        return self._codecs[table.name].record(entry[1])

    def _update_record(self, table: TableSpec, record: Any, fields: Sequence[str]) -> None:
        """Write ``fields`` of ``record`` (matched by id) and its ``updated_at``.

        Raises:
            NotFoundError: no record with that id.
            InputError: an unknown field name.
        """
        names, values = self._codecs[table.name].update_values(record, fields, self._clock.now)
        with self._lock:
            entry = self._rows[table.name].get(record.id)
            if entry is None:
                raise not_found(table, record.id)
            self._write(table, entry, names, values)

    def _write(self, table: TableSpec, entry: Entry, names: Sequence[str], values: Sequence[Any]) -> None:
        """Replace the row of ``entry`` by one whose columns ``names`` hold ``values``."""
        seq, old = entry
        new = list(old)
        for name, value in zip(names, values, strict=True):
            new[table.index_of(name)] = value
        self._replace_row(table, seq, old, tuple(new))

    def _replace_row(self, table: TableSpec, seq: int, old: Row, new: Row) -> None:
        """Store ``new`` in place of ``old`` (the executions part also checks references here)."""
        self._put(self._rows[table.name], old[ID], (seq, new))

    def _plan(self, table: TableSpec, query: Query) -> Plan:
        """``query`` checked against ``table`` (the members part adds what is shared)."""
        return make_plan(table, query)

    def _list(self, table: TableSpec, query: Query, admits: Callable[[Row], bool] | None = None) -> list[Any]:
        """The records of ``table`` matching ``query`` (and ``admits``, a test of the row)."""
        plan = self._plan(table, query)
        with self._lock:
            entries = self._rows[table.name]
            rows = [
                row for _, row in entries.values() if matches(plan, row) and (admits is None or admits(row))
            ]
            if plan.marker is not None:
                marker = entries.get(plan.marker)
                if marker is None or (plan.visibility is not None and not plan.visibility.admits(marker[1])):
                    raise not_found(table, plan.marker)
                if not matches(plan, marker[1]) or (admits is not None and not admits(marker[1])):
                    rows.append(marker[1])  # only to find where the page starts
        sort_rows(plan, rows)
        if plan.marker is not None:
            position = next(i for i, row in enumerate(rows) if row[ID] == plan.marker)
            rows = rows[position + 1 :]
        if plan.limit is not None:
            rows = rows[: plan.limit]
        codec = self._codecs[table.name]
        return [codec.record(row) for row in rows]


def replaced(row: Row, index: int, value: Any) -> Row:
    """``row`` with column ``index`` set to ``value``."""
    return (*row[:index], value, *row[index + 1 :])
