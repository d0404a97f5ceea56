"""``/v2/cron_triggers``: list, create, get, delete (Mistral has no update)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import (
    bounded_name,
    object_field,
    optional_integer,
    optional_string,
    read_json_object,
    string_field,
    write_json,
)
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.common import page_document
from mistral_core.errors import InputError

LISTING = q.Listing(
    fields=ser.CRON_TRIGGER.names,
    columns={
        "id": q.text,
        "name": q.text,
        "workflow_name": q.text,
        "workflow_id": q.text,
        "pattern": q.text,
        "first_execution_time": q.timestamp,
        "next_execution_time": q.timestamp,
        "remaining_executions": q.integer,
        "scope": q.text,
        "project_id": q.text,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
    },
    flags=frozenset({q.ALL_PROJECTS}),
)
NO_NAME = "Invalid input for field 'name': a cron trigger needs a name"
NO_WORKFLOW = "Workflow ID or workflow name must be provided for a cron trigger."


def create_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's ``create_cron_trigger`` keyword arguments from a ``POST /v2/cron_triggers`` body.

    As ``mistral cron-trigger-create`` sends it: ``name``, ``workflow_id`` or ``workflow_name``
    (optionally ``workflow_namespace``), ``workflow_input`` and ``workflow_params`` (objects or
    JSON strings), ``pattern``, ``first_execution_time`` (``YYYY-MM-DD HH:MM``, UTC) and
    ``remaining_executions`` (each may be null).

    Raises:
        InputError: a missing name or workflow, a field of the wrong type, a time that does not parse.
    """
    name = bounded_name(string_field(body, "name"), "field 'name'")
    if not name:
        raise InputError(NO_NAME)
    workflow = string_field(body, "workflow_id") or string_field(body, "workflow_name")
    if not workflow:
        raise InputError(NO_WORKFLOW)
    return {
        "name": name,
        "workflow": workflow,
        "namespace": string_field(body, "workflow_namespace"),
        "pattern": optional_string(body, "pattern") or None,
        "workflow_input": object_field(body, "workflow_input"),
        "workflow_params": object_field(body, "workflow_params"),
        "first_execution_time": first_execution_time(optional_string(body, "first_execution_time")),
        "remaining_executions": optional_integer(body, "remaining_executions"),
    }


def first_execution_time(value: str | None) -> dt.datetime | None:
    """``YYYY-MM-DD HH:MM`` (seconds and an ISO 8601 offset allowed) as a naive UTC time; empty: ``None``.

    Raises:
        InputError: the text is not such a time.
    """
    if not value:
        return None
    try:
        return q.timestamp(value.strip())
    except ValueError:
        raise InputError(
            f"Invalid input for field 'first_execution_time': '{value}' is not a time; "
            "use YYYY-MM-DD HH:MM (UTC)"
        ) from None


class CronTriggerCollection:
    """``GET`` and ``POST /v2/cron_triggers``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/cron_triggers")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List cron triggers (paged, filtered, ``fields``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        triggers = self._ctx.engine.store.list_cron_triggers(listed.query)
        write_json(resp, page_document("cron_triggers", triggers, listed, ser.CRON_TRIGGER, ser.CRON_TRIGGER))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a cron trigger: 201 with it."""
        arguments = create_arguments(read_json_object(req, self._ctx.max_body_bytes))
        trigger = self._ctx.engine.cron.create(**arguments, viewer=viewer_of(req))
        write_json(resp, ser.CRON_TRIGGER.render(trigger), falcon.HTTP_201)


class CronTriggerItem:
    """``GET`` and ``DELETE /v2/cron_triggers/{id or name}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """One cron trigger."""
        trigger = self._ctx.engine.store.get_cron_trigger(identifier, viewer_of(req))
        write_json(resp, ser.CRON_TRIGGER.render(trigger))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """Delete a cron trigger: 204."""
        self._ctx.engine.cron.delete(identifier, viewer_of(req))
        resp.status = falcon.HTTP_204
