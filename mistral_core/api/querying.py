"""Query strings of list endpoints -> :class:`~mistral_core.model.Query`, and ``next`` links.

Mistral's list parameters: ``limit`` (positive, clamped to ``max_limit``),
``marker`` (the id of the last item of the previous page), ``sort_keys`` and
``sort_dirs`` (comma lists; ``id`` is appended so the order is total),
``fields`` (comma list; ``id`` always shown), ``nulls`` (comma list of columns
that must be null) and filters: any column as a parameter, its value optionally
prefixed by an operator (``state=neq:ERROR``, ``state=in:RUNNING,PAUSED``).
Anything else is a 400 naming the parameter.

Every list is made for the request's :class:`~mistral_core.model.Viewer`: its project's records
and other projects' public ones, or every record for a viewer of every project. As in Mistral,
``all_projects=true`` (workflows, executions, cron triggers) asks for every project: only such a
viewer may (403 for others), and it sees them all anyway.

A :class:`Listing` describes one collection once, at app creation; parsing a
request only looks things up in it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from mistral_core.api.media import MAX_INTEGER
from mistral_core.errors import Forbidden, InputError
from mistral_core.model import EVERY_PROJECT, Filter, Query, State, Viewer
from mistral_core.model.query import OPERATORS

#: The most items one page may hold (Mistral's ``[api] max_limit``).
MAX_LIMIT = 1000

Converter = Callable[[str], Any]
Params = Mapping[str, str | list[str]]

_PAGING = frozenset({"limit", "marker", "sort_keys", "sort_dirs", "fields", "nulls"})
#: The flag of the lists where Mistral lets an admin ask for every project's records.
ALL_PROJECTS = "all_projects"
_LIST_OPS = frozenset({"in", "nin"})
_OP_PREFIXES = tuple(f"{op}:" for op in OPERATORS)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


# -- value converters ---------------------------------------------------------------------
def text(value: str) -> str:
    """A string column: the value as given."""
    return value


def state(value: str) -> State:
    """A state column: one of the state names (case-sensitive, as Mistral's)."""
    try:
        return State(value)
    except ValueError:
        names = ", ".join(s.value for s in State)
        raise ValueError(f"'{value}' is not a state; choose from {names}") from None


def boolean(value: str) -> bool:
    """A boolean column or flag: ``true``/``false`` (also 1/0, yes/no, on/off)."""
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"'{value}' is not a boolean; use true or false")


def integer(value: str) -> int:
    """An integer column (``remaining_executions``): at most :data:`~mistral_core.api.media.MAX_INTEGER`
    either way, what an integer column holds on every backend."""
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"'{value[:40]}' is not an integer") from None
    if abs(number) > MAX_INTEGER:
        raise ValueError(f"{value[:40]} is too large (at most {MAX_INTEGER})")
    return number


def tag_list(value: str) -> list[str]:
    """The ``tags`` column: a comma list of tags (``has:`` takes one tag)."""
    return _csv(value)


def timestamp(value: str) -> dt.datetime:
    """A time column: ``YYYY-MM-DD HH:MM:SS`` (or any ISO 8601 form), UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is not None:  # in UTC, year 1 at +01:00 is before year 1: OverflowError
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise ValueError(f"'{value[:40]}' is not a time; use YYYY-MM-DD HH:MM:SS (UTC)") from None
    return parsed


@dataclasses.dataclass(frozen=True, slots=True)
class Listing:
    """One list endpoint's vocabulary.

    Args:
        fields: every wire field, for ``fields=`` (in the resource's order).
        columns: the record attributes one may filter and sort by, each with the
            converter of its query-string values; ordered as the resource's fields.
        flags: boolean parameters of this endpoint (``include_output``).
        default_sort: the sort keys when none are given.
    """

    fields: tuple[str, ...]
    columns: Mapping[str, Converter]
    flags: frozenset[str] = frozenset()
    default_sort: tuple[str, ...] = ("created_at",)

    def parse(self, params: Params, base_url: str, viewer: Viewer = EVERY_PROJECT) -> ListRequest:
        """Read a request's query string; the query lists what ``viewer`` sees.

        Args:
            params: the query parameters (falcon's ``req.params``).
            base_url: the public URL of the collection, for ``next`` links.
            viewer: who asks (:func:`~mistral_core.api.projects.viewer_of`; every resource passes
                it; the default sees every project).

        Raises:
            InputError: a parameter that is unknown, repeated or has a bad value (400).
            Forbidden: ``all_projects=true`` from a viewer of one project (403).
        """
        single = {name: _single(name, value) for name, value in params.items()}
        for name in single:
            if name not in _PAGING and name not in self.flags and name not in self.columns:
                raise InputError(f'Unknown argument: "{name}"')
        sort = self._sort(single.get("sort_keys"), single.get("sort_dirs"))
        filters, link_filters = self._filters(single)
        limit = _limit(single.get("limit"))
        fields = self._fields(single.get("fields"))
        flags = {name: _flag(name, single[name]) for name in self.flags if name in single}
        if flags.get(ALL_PROJECTS) and not viewer.all_projects:
            raise Forbidden(f"{ALL_PROJECTS}=true needs an admin of the default project")
        query = Query(
            filters=tuple(filters),
            sort=sort,
            limit=limit,
            marker=single.get("marker") or None,
            project=viewer.only,
        )
        return ListRequest(query, fields, flags, base_url, tuple(link_filters))

    def _sort(self, keys_param: str | None, dirs_param: str | None) -> tuple[tuple[str, str], ...]:
        keys = _csv(keys_param) or list(self.default_sort)
        dirs = _csv(dirs_param)
        for key in keys:
            if key not in self.columns:
                raise InputError(
                    f"Invalid sort key: {key} (parameter sort_keys); choose from {', '.join(self.columns)}"
                )
        for direction in dirs:
            if direction not in ("asc", "desc"):
                raise InputError("Unknown sort direction, must be 'desc' or 'asc'. (parameter sort_dirs)")
        if len(dirs) > len(keys):
            raise InputError("There are more sort_dirs than sort_keys")
        dirs += ["asc"] * (len(keys) - len(dirs))
        pairs = list(zip(keys, dirs, strict=True))
        if "id" not in keys:
            pairs.append(("id", "asc"))
        return tuple(pairs)

    def _filters(self, params: Mapping[str, str]) -> tuple[list[Filter], list[tuple[str, str]]]:
        filters: list[Filter] = []
        link: list[tuple[str, str]] = []
        for column, convert in self.columns.items():  # the resource's order, as in Mistral's links
            raw = params.get(column)
            if raw is not None:
                op, operand = _split_operator(raw)
                filters.append(Filter(column, op, _operand(column, op, operand, convert)))
                link.append((column, f"{op}:{operand}"))
        for column in _csv(params.get("nulls")):
            if column not in self.columns:
                raise InputError(f"Unknown column in parameter nulls: {column}")
            filters.append(Filter(column, "eq", None))
        if "nulls" in params:
            link.append(("nulls", params["nulls"]))  # as given: it was checked above
        return filters, link

    def _fields(self, param: str | None) -> tuple[str, ...] | None:
        if param is None:
            return None
        asked = _csv(param)
        unknown = [name for name in asked if name not in self.fields]
        if unknown:
            raise InputError(
                f"Some fields do not exist [{', '.join(unknown)}], please choose from "
                f"[{', '.join(self.fields)}] (parameter fields)"
            )
        return ("id", *dict.fromkeys(name for name in asked if name != "id"))


@dataclasses.dataclass(frozen=True, slots=True)
class ListRequest:
    """A parsed list request.

    Attributes:
        query: what to ask the store.
        fields: the wire fields to show (``id`` first), or ``None`` for the default set.
        flags: the endpoint's boolean parameters that were given.
        base_url: the public URL of the collection.
        link_filters: the filters as the ``next`` link repeats them (``("state", "eq:SUCCESS")``).
    """

    query: Query
    fields: tuple[str, ...] | None
    flags: Mapping[str, bool]
    base_url: str
    link_filters: tuple[tuple[str, str], ...]

    def flag(self, name: str) -> bool:
        """The value of a boolean parameter (``False`` when not given)."""
        return self.flags.get(name, False)

    def next_link(self, page: Sequence[Mapping[str, Any]]) -> str | None:
        """The ``next`` link after ``page``: only when the page is full (as Mistral does)."""
        limit = self.query.limit
        if limit is None or len(page) < limit or not page:
            return None
        marker = quote(str(page[-1]["id"]), safe="")
        params = _link_params(self.query.sort, self.link_filters, self.flags)
        link = f"{self.base_url}?{params}&limit={limit}&marker={marker}"
        if self.fields is not None:
            link += "&fields=" + ",".join(self.fields)
        return link


def flag(params: Params, name: str) -> bool:
    """A boolean query parameter of a non-list endpoint (``?force=true``); absent is ``False``.

    Raises:
        InputError: repeated, or not a boolean.
    """
    value = params.get(name)
    return False if value is None else _flag(name, _single(name, value))


def scoped(query: Query, *filters: Filter) -> Query:
    """``query`` with ``filters`` added (the parent of a nested list: ``/v2/executions/<id>/tasks``)."""
    return dataclasses.replace(query, filters=(*filters, *query.filters))


# -- helpers ----------------------------------------------------------------------------
def _single(name: str, value: str | list[str]) -> str:
    if isinstance(value, list):
        raise InputError(f"Parameter {name} is given more than once")
    return value


def _csv(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _limit(value: str | None) -> int:
    """A page size: beyond :data:`MAX_LIMIT` it is clamped (as Mistral does), unless it is not even a
    count (more than :data:`~mistral_core.api.media.MAX_INTEGER`): then 400."""
    if value is None or value == "":
        return MAX_LIMIT
    try:
        limit = integer(value)
    except ValueError as exc:
        raise InputError(f"Invalid value for parameter limit: {exc}") from None
    if limit <= 0:
        raise InputError("Limit must be positive. (parameter limit)")
    return min(limit, MAX_LIMIT)


def _flag(name: str, value: str) -> bool:
    try:
        return boolean(value)
    except ValueError as exc:
        raise InputError(f"Invalid value for parameter {name}: {exc}") from None


def _split_operator(raw: str) -> tuple[str, str]:
    if raw.startswith(_OP_PREFIXES):
        op, _, operand = raw.partition(":")
        return op, operand
    return "eq", raw


def _operand(column: str, op: str, operand: str, convert: Converter) -> Any:
    try:
        if op in _LIST_OPS:
            return tuple(convert(item) for item in _csv(operand))
        if op == "has":
            return operand
        return convert(operand)
    except ValueError as exc:
        raise InputError(f"Invalid value for parameter {column}: {exc}") from None


def _link_params(
    sort: Sequence[tuple[str, str]], filters: Sequence[tuple[str, str]], flags: Mapping[str, bool]
) -> str:
    parts = [
        "sort_keys=" + ",".join(key for key, _ in sort),
        "sort_dirs=" + ",".join(direction for _, direction in sort),
    ]
    parts.extend(f"{name}={quote(value, safe=':,')}" for name, value in filters)
    parts.extend(f"{name}={'true' if value else 'false'}" for name, value in flags.items())
    return "&".join(parts)
