"""``/v2/environments``: list, create, update (the name in the body), get, delete.

``variables`` travels as Mistral's JSON-typed field: a JSON string of an object
(what ``mistral environment-create`` sends), or an object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import (
    bounded_name,
    optional_object,
    optional_string,
    read_json_object,
    string_field,
    write_json,
)
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.common import page_document, scope_value
from mistral_core.errors import InputError

LISTING = q.Listing(
    fields=ser.ENVIRONMENT.names,
    columns={
        "id": q.text,
        "name": q.text,
        "description": q.text,
        "scope": q.text,
        "project_id": q.text,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
    },
)
NO_NAME = "Invalid input for field 'name': an environment needs a name"


def _name(body: Mapping[str, Any]) -> str:
    name = string_field(body, "name")
    if not name:
        raise InputError(NO_NAME)
    return bounded_name(name, "field 'name'")


def create_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's ``create_environment`` keyword arguments from a ``POST /v2/environments`` body.

    Raises:
        InputError: no name, a wrong type, an unknown scope.
    """
    return {
        "name": _name(body),
        "variables": optional_object(body, "variables") or {},
        "description": string_field(body, "description"),
        "scope": scope_value(optional_string(body, "scope"), "field 'scope'"),
    }


def update_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's ``update_environment`` keyword arguments from a ``PUT /v2/environments`` body
    (fields left out, or null, stay as they are).

    Raises:
        InputError: no name, a wrong type, an unknown scope.
    """
    scope = optional_string(body, "scope")
    return {
        "name": _name(body),
        "variables": optional_object(body, "variables"),
        "description": optional_string(body, "description"),
        "scope": None if scope is None else scope_value(scope, "field 'scope'"),
    }


class EnvironmentCollection:
    """``GET``, ``POST`` and ``PUT /v2/environments``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/environments")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List environments (paged, filtered, ``fields``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        envs = self._ctx.engine.store.list_environments(listed.query)
        write_json(resp, page_document("environments", envs, listed, ser.ENVIRONMENT, ser.ENVIRONMENT))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create an environment: 201 with it."""
        arguments = create_arguments(read_json_object(req, self._ctx.max_body_bytes))
        env = self._ctx.engine.environments.create(**arguments, viewer=viewer_of(req))
        write_json(resp, ser.ENVIRONMENT.render(env), falcon.HTTP_201)

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Change the environment the body names: 200 with it."""
        arguments = update_arguments(read_json_object(req, self._ctx.max_body_bytes))
        env = self._ctx.engine.environments.update(**arguments, viewer=viewer_of(req))
        write_json(resp, ser.ENVIRONMENT.render(env))


class EnvironmentItem:
    """``GET`` and ``DELETE /v2/environments/{name}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """One environment."""
        write_json(resp, ser.ENVIRONMENT.render(self._ctx.engine.store.get_environment(name, viewer_of(req))))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """Delete an environment: 204."""
        self._ctx.engine.environments.delete(name, viewer_of(req))
        resp.status = falcon.HTTP_204
