"""A :class:`~mistral_core.model.Query` checked against a table: the plan every backend runs.

Semantics shared by all backends (the contract suite holds them to it):

- ``eq``/``neq`` with ``None`` mean IS NULL / IS NOT NULL; ``neq`` and ``nin``
  keep rows whose column is NULL (like ``IS DISTINCT FROM``); ``gt``/``gte``/
  ``lt``/``lte``/``has`` never match NULL.
- ``has`` is a case-sensitive substring test on text and state columns; on
  ``tags`` it means "has this tag".
- JSON columns (``input``, ``output``, ``context`` …) take only ``eq``/``neq``,
  compared on the compact JSON encoding of the value (so key order matters).
- Text sorts by code point; NULL sorts before every value ascending (after,
  descending); ``id`` is appended to the sort so the order is total.
- ``Query.project`` keeps the rows of that project, and the public ones where the table
  has a ``scope`` column (definitions): ``project_id = P OR scope = 'public'``; workflows also
  those shared with P, which accepted them (``resource_members``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from mistral_core.errors import InputError
from mistral_core.model import Query
from mistral_core.model.members import WORKFLOW
from mistral_core.model.projects import PUBLIC
from mistral_core.persistence.columns import Column, Kind, Row, TableSpec, dumps, naive_utc

_RANGE = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin")
_ALLOWED: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: (*_RANGE, "has"),
    Kind.STATE: (*_RANGE, "has"),
    Kind.BOOL: _RANGE,
    Kind.INT: _RANGE,
    Kind.DATETIME: _RANGE,
    Kind.JSON: ("eq", "neq"),
    Kind.TAGS: ("eq", "neq", "has"),
    Kind.FLAGS: (),
}

#: Tables whose records may be shared with other projects -> the ``resource_type`` they are shared as.
SHARED_TABLES = {"workflow_definitions": WORKFLOW}

#: Columns that are never NULL (the store sets them), so sorting needs no NULLS clause.
NOT_NULL = frozenset({"id", "created_at"})


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """One filter, its value already in the neutral row encoding (a tuple for in/nin)."""

    index: int
    column: Column
    op: str
    value: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Order:
    """One sort key."""

    index: int
    column: Column
    descending: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Visibility:
    """The rows one project sees: its own (``project_id`` at ``project_index``), public ones
    (``scope`` at ``scope_index``, for tables that have one), and, for a table whose records are
    shared (``shared_as``: their ``resource_type``), those shared with the project and accepted.

    SQL asks the memberships in the query itself; the in-memory store (and a marker's check)
    fills ``shared`` with the ids instead.
    """

    project: str
    project_index: int
    scope_index: int | None
    shared_as: str | None = None
    shared: frozenset[str] = frozenset()

    def admits(self, row: Row) -> bool:
        """Whether ``row`` is visible."""
        if row[self.project_index] == self.project or row[0] in self.shared:
            return True
        return self.scope_index is not None and row[self.scope_index] == PUBLIC


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """A validated query."""

    conditions: tuple[Condition, ...]
    order: tuple[Order, ...]
    limit: int | None
    marker: str | None
    visibility: Visibility | None = None
    #: The positions of the columns to read, in table order (None: every column).
    columns: tuple[int, ...] | None = None


def make_plan(table: TableSpec, query: Query) -> Plan:
    """Check ``query`` against ``table``.

    Raises:
        InputError: an unknown field, operator or direction, or a value of the wrong type.
    """
    conditions = tuple(_condition(table, f.field, f.op, f.value) for f in query.filters)
    keys = list(query.sort)
    if all(name != "id" for name, _ in keys):
        keys.append(("id", "asc"))
    order = tuple(_order(table, name, direction) for name, direction in keys)
    if query.limit is not None and query.limit < 0:
        raise InputError(f"limit must not be negative, got {query.limit}")
    visibility = _visibility(table, query.project)
    return Plan(conditions, order, query.limit, query.marker, visibility, _columns(table, query.columns))


def _columns(table: TableSpec, names: frozenset[str] | None) -> tuple[int, ...] | None:
    """The positions of ``names`` and ``id``, in table order (None: every column).

    Raises:
        InputError: an unknown field.
    """
    if names is None:
        return None
    for name in names:
        _column(table, name, "listed")
    return tuple(i for i, name in enumerate(table.names) if name in names or name == "id")


def _visibility(table: TableSpec, project: str | None) -> Visibility | None:
    if project is None:
        return None
    if table.column("project_id") is None:
        raise InputError(f"{table.label} records belong to no project")
    scope = table.index_of("scope") if table.column("scope") is not None else None
    return Visibility(project, table.index_of("project_id"), scope, SHARED_TABLES.get(table.name))


def _column(table: TableSpec, name: str, what: str) -> Column:
    column = table.column(name)
    if column is None:
        raise InputError(f"Unknown {what} field '{name}' for {table.label}")
    return column


def _order(table: TableSpec, name: str, direction: str) -> Order:
    column = _column(table, name, "sort")
    if direction not in ("asc", "desc"):
        raise InputError(f"Unknown sort direction '{direction}' for field '{name}' (asc or desc)")
    return Order(table.index_of(name), column, direction == "desc")


def _condition(table: TableSpec, name: str, op: str, value: Any) -> Condition:
    column = _column(table, name, "filter")
    if op not in _ALLOWED[column.kind]:
        raise InputError(f"Filter operator '{op}' is not supported on field '{name}'")
    if op in ("in", "nin"):
        if not isinstance(value, list | tuple | set | frozenset):
            raise InputError(f"Filter '{op}' on field '{name}' needs a list of values")
        coerced: Any = tuple(_coerce(column, op, item) for item in value)
    else:
        coerced = _coerce(column, op, value)
    return Condition(table.index_of(name), column, op, coerced)


def _coerce(column: Column, op: str, value: Any) -> Any:
    """The neutral-encoded form of a filter value."""
    if column.kind is Kind.JSON:
        return _json(column, value)
    if value is None:
        if op in ("eq", "neq", "in", "nin"):
            return None
        raise InputError(f"Filter '{op}' on field '{column.name}' needs a value")
    if column.kind is Kind.TAGS:
        return _tags(column, op, value)
    try:
        return _SCALARS[column.kind](value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Invalid value for field '{column.name}': {value!r}") from exc


def _json(column: Column, value: Any) -> str:
    try:
        return dumps(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Invalid value for field '{column.name}': {exc}") from exc


def _tags(column: Column, op: str, value: Any) -> str:
    if op == "has" and isinstance(value, str):
        return dumps(value)
    if op != "has" and isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return dumps(list(value))
    raise InputError(f"Invalid value for field '{column.name}': {value!r}")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(value)


def _state(value: Any) -> str:
    return _text(getattr(value, "value", value))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "false": False, "1": True, "0": False}
    if isinstance(value, str) and value.lower() in words:
        return words[value.lower()]
    raise ValueError(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(value)
    return int(value)


def _datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(value)
    return naive_utc(value)


_SCALARS: dict[Kind, Callable[[Any], Any]] = {
    Kind.TEXT: _text,
    Kind.STATE: _state,
    Kind.BOOL: _bool,
    Kind.INT: _int,
    Kind.DATETIME: _datetime,
}


# -- evaluation in Python (the in-memory store) -------------------------------------

_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, x: bool(v == x),
    "neq": lambda v, x: bool(v != x),
    "gt": lambda v, x: v is not None and bool(v > x),
    "gte": lambda v, x: v is not None and bool(v >= x),
    "lt": lambda v, x: v is not None and bool(v < x),
    "lte": lambda v, x: v is not None and bool(v <= x),
    "in": lambda v, x: v in x,
    "nin": lambda v, x: v not in x,
    "has": lambda v, x: v is not None and x in v,
}


def matches(plan: Plan, row: Row) -> bool:
    """Whether a neutral row passes every filter of ``plan`` (and is visible to its project)."""
    if plan.visibility is not None and not plan.visibility.admits(row):
        return False
    return all(_TESTS[c.op](row[c.index], c.value) for c in plan.conditions)


def sort_rows(plan: Plan, rows: list[Row]) -> None:
    """Sort neutral rows in place in the plan's order (NULL first ascending)."""
    for order in reversed(plan.order):
        index = order.index
        rows.sort(key=lambda row: (row[index] is not None, row[index]), reverse=order.descending)
