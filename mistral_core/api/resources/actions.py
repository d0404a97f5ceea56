"""``/v2/actions``: the registry's (system) actions and the ad-hoc actions users upload in YAML.

System actions live in memory and ad-hoc actions are few, so the list's filters,
order and pages are applied here, on the rendered documents of both, with the
same parameters as every other list. Uploads are ``text/plain`` YAML documents
(``?namespace=&scope=``), as for workflows; system actions cannot be changed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import read_text, write_json
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.common import envelope, namespace_and_scope, validation_report
from mistral_core.errors import NotFoundError
from mistral_core.model import Filter, Query, Viewer
from mistral_core.services.definitions import check_owner
from mistral_core.services.engine import Engine

LISTING = q.Listing(
    fields=ser.ACTION.names,
    columns={
        "id": q.text,
        "name": q.text,
        "is_system": q.boolean,
        "input": q.text,
        "description": q.text,
        "scope": q.text,
        "project_id": q.text,
        "namespace": q.text,
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


def all_documents(engine: Engine, viewer: Viewer) -> list[dict[str, Any]]:
    """Every action ``viewer`` sees as the API shows it: the registry's, the stored ad-hoc ones, then
    the dynamic ones (when they are on)."""
    adhoc = engine.store.list_action_definitions(Query(limit=None, project=viewer.only))
    documents = ser.ACTION.render_all(engine.catalog.python_actions()) + ser.ADHOC_ACTION.render_all(adhoc)
    return documents + dynamic_documents(engine, viewer)


def dynamic_documents(engine: Engine, viewer: Viewer) -> list[dict[str, Any]]:
    """The dynamic actions ``viewer`` sees, as actions: their input read from their class."""
    if engine.dynamic is None:
        return []
    every = Query(limit=None, project=viewer.only)
    sources = {source.id: source for source in engine.store.list_code_sources(every)}
    outlines = {ident: engine.dynamic.outline(source) for ident, source in sources.items()}
    documents = []
    for d in engine.store.list_dynamic_actions(every):
        module = outlines.get(d.code_source_id)
        cls = module.classes.get(d.class_name) if module else None
        document = dict.fromkeys(ser.ACTION.names)
        document.update(
            id=d.id,
            name=d.name,
            is_system=False,
            input=cls.input_spec if cls else "",
            description=cls.description if cls else "",
            tags=[],
            scope=d.scope,
            project_id=d.project_id,
            namespace=d.namespace,
            is_sync=True,
            created_at=ser.timestamp(d.created_at),
            updated_at=ser.timestamp(d.updated_at),
        )
        documents.append(document)
    return documents


def find_document(engine: Engine, identifier: str, namespace: str, viewer: Viewer) -> dict[str, Any]:
    """One action by name (or an ad-hoc action's id); system actions live in the default namespace ``""``
    (and every project sees them).

    Raises:
        NotFoundError: no such action (that ``viewer`` sees).
    """
    if not namespace:
        for action in engine.catalog.python_actions():
            if action.name == identifier:
                return ser.ACTION.render(action)
    try:
        return ser.ADHOC_ACTION.render(engine.store.get_action_definition(identifier, namespace, viewer))
    except NotFoundError:
        for document in dynamic_documents(engine, viewer):
            if identifier in (document["name"], document["id"]) and document["namespace"] == namespace:
                return document
        raise


def _written(action_defs: Sequence[Any]) -> dict[str, Any]:
    return {"actions": ser.ADHOC_ACTION.render_all(action_defs)}


class ActionCollection:
    """``GET``, ``POST`` and ``PUT /v2/actions``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/actions")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List actions (paged, filtered, ``fields``), sorted by name by default."""
        viewer = viewer_of(req)
        listed = LISTING.parse(req.params, self._url, viewer)
        page = apply_query(all_documents(self._ctx.engine, viewer), listed.query)
        if listed.fields is not None:
            names = ser.ACTION.only(listed.fields).names
            page = [{name: doc[name] for name in names} for doc in page]
        write_json(resp, envelope("actions", page, listed))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create every ad-hoc action of a YAML document: 201 with ``{"actions": [...]}``."""
        namespace, scope = namespace_and_scope(req)
        text = read_text(req, self._ctx.max_body_bytes)
        action_defs = self._ctx.engine.definitions.create_actions(
            text, namespace=namespace, scope=scope, viewer=viewer_of(req)
        )
        write_json(resp, _written(action_defs), falcon.HTTP_201)

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Replace the ad-hoc actions of a YAML document: 200 with ``{"actions": [...]}``."""
        namespace, scope = namespace_and_scope(req)
        text = read_text(req, self._ctx.max_body_bytes)
        action_defs = self._ctx.engine.definitions.update_actions(
            text, namespace=namespace, scope=scope, viewer=viewer_of(req)
        )
        write_json(resp, _written(action_defs))


class ActionItem:
    """``GET``, ``PUT`` and ``DELETE /v2/actions/{name}``; ``GET``/``DELETE /v2/actions/{name}/{namespace}``
    (the CLI's form, ``/v2/actions/<name>/`` for the default namespace)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """One action, by its exact name (``?namespace=`` for an ad-hoc action of a namespace)."""
        self.on_get_in_namespace(req, resp, name, req.get_param("namespace") or "")

    def on_get_in_namespace(
        self, req: falcon.Request, resp: falcon.Response, name: str, namespace: str
    ) -> None:
        """One action of a namespace."""
        write_json(resp, find_document(self._ctx.engine, name, namespace, viewer_of(req)))

    def on_put(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """Update an existing ad-hoc action from a YAML document (``mistral action-update --id``): 200."""
        namespace, scope = namespace_and_scope(req)
        engine, viewer = self._ctx.engine, viewer_of(req)
        # 404 unless it exists (system actions do not); 403 if it is another project's public one.
        check_owner(viewer, engine.store.get_action_definition(name, namespace, viewer))
        text = read_text(req, self._ctx.max_body_bytes)
        action_defs = engine.definitions.update_actions(text, namespace=namespace, scope=scope, viewer=viewer)
        write_json(resp, _written(action_defs))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """Delete an ad-hoc action (``?namespace=``): 204."""
        self.on_delete_in_namespace(req, resp, name, req.get_param("namespace") or "")

    def on_delete_in_namespace(
        self, req: falcon.Request, resp: falcon.Response, name: str, namespace: str
    ) -> None:
        """Delete an ad-hoc action of a namespace: 204 (the engine refuses a system action: 400)."""
        self._ctx.engine.definitions.delete_action(name, namespace, viewer_of(req))
        resp.status = falcon.HTTP_204


class ActionValidation:
    """``POST /v2/actions/validate``: ``{"valid": true}`` or ``{"valid": false, "error": ...}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Validate an ad-hoc action document without storing it."""
        text = read_text(req, self._ctx.max_body_bytes)
        write_json(resp, validation_report(self._ctx.engine.definitions.validate_actions, text))
