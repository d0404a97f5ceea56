"""``/v2/event_triggers``: list, create, get, update (name, input, params, scope), delete.

As Mistral 23: a trigger is found by id; ``exchange``, ``topic``, ``event`` and ``workflow_id``
are required to create one and cannot be changed (delete it and create another).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import object_field, read_json_object, string_field, write_json
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.common import page_document
from mistral_core.errors import InputError

LISTING = q.Listing(
    fields=ser.EVENT_TRIGGER.names,
    columns={
        "id": q.text,
        "name": q.text,
        "workflow_id": q.text,
        "exchange": q.text,
        "topic": q.text,
        "event": q.text,
        "scope": q.text,
        "project_id": q.text,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
    },
    flags=frozenset({q.ALL_PROJECTS}),
)
REQUIRED = ("exchange", "topic", "event", "workflow_id")
#: Fields no request sets (Mistral's read-only ones); ignored in a body, as Mistral does.
READ_ONLY = ("id", "created_at", "updated_at", "project_id")
FIXED = ("exchange", "topic", "event")


def create_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``event_triggers.create`` from a ``POST`` body.

    Raises:
        InputError: a required field missing or empty, a field of the wrong type.
    """
    if any(not body.get(name) for name in REQUIRED):
        listed = ", ".join(map(repr, REQUIRED))
        raise InputError(f"Params {{{listed}}} must be provided for creating event trigger.")
    return {
        "name": string_field(body, "name"),
        "workflow_id": string_field(body, "workflow_id"),
        "exchange": string_field(body, "exchange"),
        "topic": string_field(body, "topic"),
        "event": string_field(body, "event"),
        "workflow_input": object_field(body, "workflow_input"),
        "workflow_params": object_field(body, "workflow_params"),
    }


def update_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """The changes of a ``PUT`` body: ``name``, ``workflow_input``, ``workflow_params``, ``scope``.

    Raises:
        InputError: a field that cannot change (exchange, topic, event, workflow_id), an unknown
            field, a field of the wrong type.
    """
    known = {"name", "workflow_input", "workflow_params", "scope", "workflow_id", *READ_ONLY, *FIXED}
    unknown = sorted(set(body) - known)
    if unknown:
        raise InputError(f"Unknown attribute for argument event_trigger: {', '.join(unknown)[:200]}")
    if any(body.get(name) for name in FIXED):
        raise InputError(f"Can not update fields {list(FIXED)} of event trigger.")
    if body.get("workflow_id"):  # Mistral 23 changes it unchecked; delete and create instead
        raise InputError("Can not update field 'workflow_id' of event trigger: delete it and create another.")
    changes: dict[str, Any] = {}
    for name in ("name", "scope"):
        if body.get(name) is not None:
            changes[name] = string_field(body, name)
    if changes.get("scope") == "":
        changes["scope"] = "private"  # as everywhere: an empty scope is private
    for name in ("workflow_input", "workflow_params"):
        if name in body:
            changes[name] = object_field(body, name)
    return changes


class EventTriggerCollection:
    """``GET`` and ``POST /v2/event_triggers``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/event_triggers")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List event triggers (paged, filtered, ``fields``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        triggers = self._ctx.engine.store.list_event_triggers(listed.query)
        write_json(
            resp, page_document("event_triggers", triggers, listed, ser.EVENT_TRIGGER, ser.EVENT_TRIGGER)
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create an event trigger: 201 with it."""
        arguments = create_arguments(read_json_object(req, self._ctx.max_body_bytes))
        trigger = self._ctx.engine.event_triggers.create(**arguments, viewer=viewer_of(req))
        write_json(resp, ser.EVENT_TRIGGER.render(trigger), falcon.HTTP_201)


class EventTriggerItem:
    """``GET``, ``PUT`` and ``DELETE /v2/event_triggers/{trigger_id}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, trigger_id: str) -> None:
        """One event trigger."""
        trigger = self._ctx.engine.store.get_event_trigger(trigger_id, viewer_of(req))
        write_json(resp, ser.EVENT_TRIGGER.render(trigger))

    def on_put(self, req: falcon.Request, resp: falcon.Response, trigger_id: str) -> None:
        """Change an event trigger's name, input, params or scope: 200 with it."""
        changes = update_arguments(read_json_object(req, self._ctx.max_body_bytes))
        trigger = self._ctx.engine.event_triggers.update(trigger_id, changes, viewer_of(req))
        write_json(resp, ser.EVENT_TRIGGER.render(trigger))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, trigger_id: str) -> None:
        """Delete an event trigger: 204."""
        self._ctx.engine.event_triggers.delete(trigger_id, viewer_of(req))
        resp.status = falcon.HTTP_204
