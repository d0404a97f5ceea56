"""``/v2/code_sources`` and ``/v2/dynamic_actions``: Python modules uploaded as text, and actions
named after a class of one (Mistral 23's shapes; the CLI's ``code-source-*`` and
``dynamic-action-*``).

Off unless the server's ``dynamic_actions`` setting is on: then every route answers 404 saying so.
When on, the policy lets only admins call them (uploaded code runs in the executors). A code
source is uploaded as ``text/plain`` (``?name=&scope=&namespace=``; updated with
``?identifier=``); a dynamic action is a JSON object (``name``, ``class_name``,
``code_source_id`` or ``code_source_name``, ``scope``, ``namespace``).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import falcon

from mistral_core.api import querying as q
from mistral_core.api.context import ApiContext
from mistral_core.api.media import read_json_object, read_text, string_field, write_json
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.common import namespace_and_scope, page_document, scope_value
from mistral_core.api.serializers import View, timestamp
from mistral_core.errors import InputError, NotFoundError
from mistral_core.model import CodeSource, DynamicActionDefinition
from mistral_core.services.dynamic import DynamicActionRequest, DynamicDefinitions

#: The answer of every route while the feature is off.
OFF = (
    "Dynamic actions are off on this server: /v2/code_sources and /v2/dynamic_actions run uploaded "
    "Python in the executors, so an operator must turn them on (setting dynamic_actions)"
)

_attr = operator.attrgetter


def _ts(name: str) -> Any:
    get = _attr(name)
    return lambda record: timestamp(get(record))


CODE_SOURCE: View[CodeSource] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("namespace", _attr("namespace")),
        ("content", _attr("content")),
        ("version", _attr("version")),
        ("project_id", _attr("project_id")),
        ("scope", _attr("scope")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""A code source as Mistral 23 shows it."""

DYNAMIC_ACTION: View[DynamicActionDefinition] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("namespace", _attr("namespace")),
        ("code_source_id", _attr("code_source_id")),
        ("code_source_name", _attr("code_source_name")),
        ("class_name", _attr("class_name")),
        ("project_id", _attr("project_id")),
        ("scope", _attr("scope")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""A dynamic action as Mistral 23 shows it."""

_COMMON = {
    "id": q.text,
    "name": q.text,
    "namespace": q.text,
    "project_id": q.text,
    "scope": q.text,
    "created_at": q.timestamp,
    "updated_at": q.timestamp,
}
SOURCE_LISTING = q.Listing(
    fields=CODE_SOURCE.names,
    columns={**_COMMON, "version": q.integer},
    flags=frozenset({q.ALL_PROJECTS}),
)
ACTION_LISTING = q.Listing(
    fields=DYNAMIC_ACTION.names,
    columns={**_COMMON, "code_source_id": q.text, "code_source_name": q.text, "class_name": q.text},
    flags=frozenset({q.ALL_PROJECTS}),
)


def service(ctx: ApiContext) -> DynamicDefinitions:
    """The engine's code sources and dynamic actions.

    Raises:
        NotFoundError: the feature is off (:data:`OFF`).
    """
    dynamic = ctx.engine.dynamic
    if dynamic is None:
        raise NotFoundError(OFF)
    return dynamic


def action_request(body: Mapping[str, Any]) -> DynamicActionRequest:
    """A dynamic action's fields from a JSON body (others, such as ``project_id``, are ignored).

    Raises:
        InputError: a field of the wrong type, or an unknown scope.
    """
    scope = string_field(body, "scope")
    return DynamicActionRequest(
        name=string_field(body, "name"),
        id=string_field(body, "id"),
        class_name=string_field(body, "class_name"),
        code_source=string_field(body, "code_source_id") or string_field(body, "code_source_name"),
        namespace=string_field(body, "namespace"),
        scope=scope_value(scope) if scope else "",
    )


def _required(req: falcon.Request, name: str) -> str:
    value = req.get_param(name) or ""
    if not value:
        raise InputError(f'Missing argument: "{name}" (?{name}=...)')
    return value


class CodeSourceCollection:
    """``GET``, ``POST`` (``?name=``) and ``PUT`` (``?identifier=``) ``/v2/code_sources``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/code_sources")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List code sources (paged, filtered, ``fields``)."""
        service(self._ctx)
        listed = SOURCE_LISTING.parse(req.params, self._url, viewer_of(req))
        sources = self._ctx.engine.store.list_code_sources(listed.query)
        write_json(resp, page_document("code_sources", sources, listed, CODE_SOURCE, CODE_SOURCE))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Upload a module (the body, as text): 201 with the code source (version 1)."""
        dynamic = service(self._ctx)
        name = _required(req, "name")
        namespace, scope = namespace_and_scope(req)
        content = read_text(req, self._ctx.max_body_bytes)
        source = dynamic.create_source(name, content, namespace, scope, viewer_of(req))
        write_json(resp, CODE_SOURCE.render(source), falcon.HTTP_201)

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Replace a module's text (its version goes up): 200 with the code source."""
        dynamic = service(self._ctx)
        identifier = _required(req, "identifier")
        namespace, scope = namespace_and_scope(req)
        content = read_text(req, self._ctx.max_body_bytes)
        source = dynamic.update_source(identifier, content, namespace, scope, viewer_of(req))
        write_json(resp, CODE_SOURCE.render(source))


class CodeSourceItem:
    """``GET`` and ``DELETE /v2/code_sources/{id or name}`` (``?namespace=``)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """One code source, its text included."""
        service(self._ctx)
        namespace = req.get_param("namespace") or ""
        source = self._ctx.engine.store.get_code_source(identifier, namespace, viewer_of(req))
        write_json(resp, CODE_SOURCE.render(source))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """Delete a code source and its dynamic actions: 204."""
        dynamic = service(self._ctx)
        dynamic.delete_source(identifier, req.get_param("namespace") or "", viewer_of(req))
        resp.status = falcon.HTTP_204


class DynamicActionCollection:
    """``GET``, ``POST`` and ``PUT /v2/dynamic_actions``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/dynamic_actions")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List dynamic actions (paged, filtered, ``fields``)."""
        service(self._ctx)
        listed = ACTION_LISTING.parse(req.params, self._url, viewer_of(req))
        actions = self._ctx.engine.store.list_dynamic_actions(listed.query)
        write_json(resp, page_document("dynamic_actions", actions, listed, DYNAMIC_ACTION, DYNAMIC_ACTION))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a dynamic action: 201 with it."""
        dynamic = service(self._ctx)
        request = action_request(read_json_object(req, self._ctx.max_body_bytes))
        write_json(
            resp, DYNAMIC_ACTION.render(dynamic.create_action(request, viewer_of(req))), falcon.HTTP_201
        )

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Change a dynamic action (found by ``id`` or ``name``): 200 with it."""
        dynamic = service(self._ctx)
        request = action_request(read_json_object(req, self._ctx.max_body_bytes))
        write_json(resp, DYNAMIC_ACTION.render(dynamic.update_action(request, viewer_of(req))))


class DynamicActionItem:
    """``GET`` and ``DELETE /v2/dynamic_actions/{id or name}`` (``?namespace=``)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """One dynamic action."""
        service(self._ctx)
        namespace = req.get_param("namespace") or ""
        write_json(
            resp,
            DYNAMIC_ACTION.render(
                self._ctx.engine.store.get_dynamic_action(identifier, namespace, viewer_of(req))
            ),
        )

    def on_delete(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """Delete a dynamic action: 204."""
        dynamic = service(self._ctx)
        dynamic.delete_action(identifier, req.get_param("namespace") or "", viewer_of(req))
        resp.status = falcon.HTTP_204
