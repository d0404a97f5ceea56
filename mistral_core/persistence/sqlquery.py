"""SQL text for a :class:`~mistral_core.persistence.querying.Plan` (``?`` placeholders).

The semantics are those written down in :mod:`mistral_core.persistence.querying`;
the in-memory store evaluates the same plan in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mistral_core.model.members import ACCEPTED
from mistral_core.model.projects import PUBLIC
from mistral_core.persistence.columns import Column, Row, TableSpec
from mistral_core.persistence.querying import NOT_NULL, Condition, Order, Plan, Visibility

Sql = tuple[str, list[Any]]
Encode = Callable[[Column, Any], Any]

_SYMBOLS = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def quote(name: str) -> str:
    """A quoted identifier."""
    return f'"{name}"'


def select_list(table: TableSpec, positions: tuple[int, ...] | None = None) -> str:
    """The column list of a record, in field order (only those at ``positions`` if given)."""
    names = table.names if positions is None else [table.names[i] for i in positions]
    return ", ".join(quote(name) for name in names)


def select_page(
    table: TableSpec,
    plan: Plan,
    marker: Row | None,
    encode: Encode,
    contains: str,
    extra: Sql | None = None,
) -> Sql:
    """The SELECT of one page.

    Args:
        table: the table.
        plan: the validated query.
        marker: the stored row of the marker record, if the page starts after one.
        encode: turns a neutral filter value into this backend's parameter.
        contains: the substring test, a template with ``{col}`` and one ``?``.
        extra: a condition of the caller's own, first in the WHERE clause (the predicate of a
            partial index, spelled as the index spells it).
    """
    parts: list[str] = [extra[0]] if extra is not None else []
    params: list[Any] = list(extra[1]) if extra is not None else []
    if plan.visibility is not None:
        sql, values = _visible(plan.visibility)
        parts.append(sql)
        params.extend(values)
    for condition in plan.conditions:
        sql, values = _condition(condition, encode, contains)
        parts.append(sql)
        params.extend(values)
    if marker is not None:
        sql, values = _after_marker(plan.order, marker)
        parts.append(sql)
        params.extend(values)
    text = f"SELECT {select_list(table, plan.columns)} FROM {quote(table.name)}"
    if parts:
        text += " WHERE " + " AND ".join(parts)
    text += " ORDER BY " + ", ".join(_ordering(order) for order in plan.order)
    if plan.limit is not None:
        text += f" LIMIT {int(plan.limit)}"
    return text, params


def _visible(visibility: Visibility) -> Sql:
    """The rows of one project, the public ones where the table has a scope, and the shared ones
    (accepted) where its records are shared."""
    if visibility.scope_index is None:
        return '"project_id" = ?', [visibility.project]
    if visibility.shared_as is None:
        return f'("project_id" = ? OR "scope" = \'{PUBLIC}\')', [visibility.project]
    shared = (
        'SELECT "resource_id" FROM "resource_members" '
        f'WHERE "member_id" = ? AND "status" = \'{ACCEPTED}\' AND "resource_type" = ?'
    )
    return (
        f'("project_id" = ? OR "scope" = \'{PUBLIC}\' OR "id" IN ({shared}))',
        [visibility.project, visibility.project, visibility.shared_as],
    )


def _condition(condition: Condition, encode: Encode, contains: str) -> Sql:
    col, op, value = quote(condition.column.name), condition.op, condition.value
    if op in ("in", "nin"):
        present = [encode(condition.column, item) for item in value if item is not None]
        return _membership(col, op == "nin", present, None in value)
    if op == "has":
        return contains.format(col=col), [value]
    if value is None:
        return (f"{col} IS NULL" if op == "eq" else f"{col} IS NOT NULL"), []
    param = encode(condition.column, value)
    if op == "neq":
        return f"({col} IS NULL OR {col} <> ?)", [param]
    return f"{col} {_SYMBOLS[op]} ?", [param]


def _membership(col: str, negated: bool, values: list[Any], with_null: bool) -> Sql:
    marks = ", ".join("?" for _ in values)
    if not negated:
        parts = [f"{col} IN ({marks})"] if values else []
        if with_null:
            parts.append(f"{col} IS NULL")
        return ("(" + " OR ".join(parts) + ")" if parts else "1 = 0"), values
    if not values:
        return (f"{col} IS NOT NULL" if with_null else "1 = 1"), []
    if with_null:
        return f"({col} IS NOT NULL AND {col} NOT IN ({marks}))", values
    return f"({col} IS NULL OR {col} NOT IN ({marks}))", values


def _ordering(order: Order) -> str:
    direction = "DESC" if order.descending else "ASC"
    if order.column.name in NOT_NULL:
        return f"{quote(order.column.name)} {direction}"
    return f"{quote(order.column.name)} {direction} NULLS {'LAST' if order.descending else 'FIRST'}"


def _after_marker(orders: tuple[Order, ...], marker: Row) -> Sql:
    """Rows strictly after the marker row in the given order (keyset pagination).

    The alternatives (``a > x OR (a = x AND b > y)``) are led by a bound on the first key alone
    (``a >= x``) where it holds: a database walks an index of ``a`` from there instead of from
    its start (an OR hides the range from SQLite's and PostgreSQL's planners).
    """
    alternatives: list[str] = []
    params: list[Any] = []
    bound = _bound(orders[0], marker[orders[0].index])
    equal_sql: list[str] = []
    equal_params: list[Any] = []
    for order in orders:
        value = marker[order.index]
        after = _after(order, value)
        if after is not None:
            alternatives.append("(" + " AND ".join([*equal_sql, after[0]]) + ")")
            params.extend([*equal_params, *after[1]])
        col = quote(order.column.name)
        equal_sql.append(f"{col} IS NULL" if value is None else f"{col} = ?")
        equal_params.extend([] if value is None else [value])
    if not alternatives:
        return "1 = 0", []
    text = "(" + " OR ".join(alternatives) + ")"
    if bound is None:
        return text, params
    return f"{bound[0]} AND {text}", [*bound[1], *params]


def _bound(order: Order, value: Any) -> Sql | None:
    """A bound on the first sort key that every row after the marker meets, or None: ascending,
    NULL sorts first, so later rows are ``>=`` a value; descending, NULL sorts last, so only a
    column that is never NULL has a ``<=`` bound."""
    col = quote(order.column.name)
    if value is None:
        return None
    if not order.descending:
        return f"{col} >= ?", [value]
    if order.column.name in NOT_NULL:
        return f"{col} <= ?", [value]
    return None


def _after(order: Order, value: Any) -> Sql | None:
    """Rows after ``value`` on one column; NULL sorts first ascending, last descending."""
    col = quote(order.column.name)
    if not order.descending:
        return (f"{col} IS NOT NULL", []) if value is None else (f"{col} > ?", [value])
    if value is None:
        return None
    if order.column.name in NOT_NULL:
        return f"{col} < ?", [value]
    return f"({col} < ? OR {col} IS NULL)", [value]
