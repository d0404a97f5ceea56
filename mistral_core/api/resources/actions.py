"""``/v2/actions``: the actions of the registry (system actions; no ad-hoc actions yet).

The registry is in memory, so the list's filters, order and pages are applied
here, on the rendered documents, with the same parameters as every other list.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import write_json
from mistral_core.api.resources.common import envelope
from mistral_core.errors import NotFoundError
from mistral_core.model import Filter, Query

LISTING = q.Listing(
    fields=ser.ACTION.names,
    columns={
        "id": q.text,
        "name": q.text,
        "is_system": q.boolean,
        "input": q.text,
        "description": q.text,
        "scope": q.text,
        "is_sync": q.boolean,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
    },
    default_sort=("name",),
)

_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda value, operand: value in operand,
    "nin": lambda value, operand: value not in operand,
    "has": lambda value, operand: operand in str(value),
}


def _matches(document: dict[str, Any], filters: Sequence[Filter]) -> bool:
    for flt in filters:
        value = document[flt.field]
        if value is None and flt.op not in ("eq", "neq", "in", "nin"):
            return False  # nothing is ordered against a missing value
        if not _TESTS[flt.op](value, flt.value):
            return False
    return True


def _sort_key(value: Any) -> tuple[bool, Any]:
    return (value is not None, value)  # missing values first, as SQL sorts NULLs in ascending order


def apply_query(documents: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    """Filter, sort and page rendered action documents as a store would.

    Raises:
        NotFoundError: the marker names no action.
    """
    selected = [doc for doc in documents if _matches(doc, query.filters)]
    for key, direction in reversed(query.sort):  # stable sorts, least significant key first
        selected.sort(key=lambda doc: _sort_key(doc[key]), reverse=direction == "desc")
    start = 0
    if query.marker is not None:
        ids = [doc["id"] for doc in selected]
        if query.marker not in ids:
            raise NotFoundError(f"Action not found [name={query.marker}, namespace=]")
        start = ids.index(query.marker) + 1
    end = None if query.limit is None else start + query.limit
    return selected[start:end]


class ActionCollection:
    """``GET /v2/actions``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/actions")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List actions (paged, filtered, ``fields``), sorted by name by default."""
        listed = LISTING.parse(req.params, self._url)
        page = apply_query(ser.ACTION.render_all(self._ctx.engine.list_actions()), listed.query)
        if listed.fields is not None:
            names = ser.ACTION.only(listed.fields).names
            page = [{name: doc[name] for name in names} for doc in page]
        write_json(resp, envelope("actions", page, listed))


class ActionItem:
    """``GET /v2/actions/{name}`` (and ``/v2/actions/{name}/{namespace}``, as the CLI asks)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """One action, by its exact name."""
        self.on_get_in_namespace(req, resp, name, "")

    def on_get_in_namespace(
        self, req: falcon.Request, resp: falcon.Response, name: str, namespace: str
    ) -> None:
        """One action of a namespace; system actions live in the default namespace ``""``."""
        for action in self._ctx.engine.list_actions():
            if action.name == name and not namespace:
                write_json(resp, ser.ACTION.render(action))
                return
        raise NotFoundError(f"Action not found [name={name}, namespace={namespace}]")
