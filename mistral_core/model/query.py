"""A store-neutral description of a list request: filters, order, page."""

from __future__ import annotations

import dataclasses
from typing import Any

#: Filter operators, as Mistral's query strings spell them (``state=neq:ERROR``).
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "has")


@dataclasses.dataclass(frozen=True, slots=True)
class Filter:
    """``field <op> value``; for ``in``/``nin`` the value is a list; ``has`` is a substring."""

    field: str
    op: str
    value: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """What to list.

    Args:
        filters: all must hold.
        sort: ``(field, "asc"|"desc")`` pairs, most significant first; the store
            appends ``id`` if it is missing so the order is total.
        limit: at most this many records (``None``: all).
        marker: the id of the last record of the previous page; the page starts
            after it in the given order.
        project: only the records this project sees: its own, and other projects' public
            ones where the kind has a ``scope`` (:mod:`~mistral_core.model.projects`);
            ``None``: every project's.
        columns: the only fields the caller reads of each record (``id`` always comes too): a
            store may give records of just those fields, where reading another raises (a list of
            1,000 executions asked for ``fields=id,state`` need not decode their contexts); the
            in-memory store gives whole records. ``None``: every field.
    """

    filters: tuple[Filter, ...] = ()
    sort: tuple[tuple[str, str], ...] = (("created_at", "asc"), ("id", "asc"))
    limit: int | None = None
    marker: str | None = None
    project: str | None = None
    columns: frozenset[str] | None = None
