"""``/v2/executions``: list, start, get, delete, and an execution's tasks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import object_field, read_json_object, string_field, write_json
from mistral_core.api.resources.common import page_document
from mistral_core.api.resources.tasks import LISTING as TASK_LISTING
from mistral_core.errors import InputError
from mistral_core.model import Filter

LISTING = q.Listing(
    fields=ser.EXECUTION.names,
    columns={
        "id": q.text,
        "workflow_id": q.text,
        "workflow_name": q.text,
        "workflow_namespace": q.text,
        "description": q.text,
        "tags": q.tag_list,
        "task_execution_id": q.text,
        "root_execution_id": q.text,
        "state": q.state,
        "state_info": q.text,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
        "project_id": q.text,
    },
    flags=frozenset({"include_output"}),
)
_LISTED_WITH_OUTPUT = ser.EXECUTION.without("published_global")
NO_WORKFLOW = "Workflow ID or workflow name must be provided. Workflow ID is recommended."


def start_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's ``start_workflow`` keyword arguments from a ``POST /v2/executions`` body.

    ``input`` and ``params`` may be objects or JSON strings of objects (the CLI sends strings).

    Raises:
        InputError: no workflow named, or a field of the wrong type (the message names it).
    """
    identifier = string_field(body, "workflow_id") or string_field(body, "workflow_name")
    if not identifier:
        raise InputError(NO_WORKFLOW)
    if body.get("source_execution_id") is not None:
        raise InputError(
            "Invalid input for field 'source_execution_id': starting from another execution is not supported"
        )
    params = object_field(body, "params")
    namespace = string_field(body, "workflow_namespace") or params.get("namespace") or ""
    if not isinstance(namespace, str):
        raise InputError("Invalid input for field 'params': its namespace must be a string")
    return {
        "workflow_identifier": identifier,
        "namespace": namespace,
        "wf_input": object_field(body, "input"),
        "params": params,
        "description": string_field(body, "description"),
        "ex_id": string_field(body, "id") or None,
    }


class ExecutionCollection:
    """``GET`` and ``POST /v2/executions``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/executions")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List executions (``include_output=true`` adds ``output``)."""
        listed = LISTING.parse(req.params, self._url)
        wf_exs = self._ctx.engine.store.list_workflow_executions(listed.query)
        default = _LISTED_WITH_OUTPUT if listed.flag("include_output") else ser.EXECUTION_LISTED
        write_json(resp, page_document("executions", wf_exs, listed, default, ser.EXECUTION))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Start an execution: 201 with it."""
        arguments = start_arguments(read_json_object(req, self._ctx.max_body_bytes))
        wf_ex = self._ctx.engine.start_workflow(**arguments)
        write_json(resp, ser.EXECUTION_CREATED.render(wf_ex), falcon.HTTP_201)


class ExecutionItem:
    """``GET`` and ``DELETE /v2/executions/{id}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """One execution."""
        write_json(resp, ser.EXECUTION.render(self._ctx.engine.store.get_workflow_execution(ex_id)))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """Delete an execution (only a finished one unless ``?force=true``): 204."""
        self._ctx.engine.delete_workflow_execution(ex_id, force=q.flag(req.params, "force"))
        resp.status = falcon.HTTP_204


class ExecutionTasks:
    """``GET /v2/executions/{id}/tasks``: the tasks of one execution (404 for an unknown one)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """List the execution's tasks (same parameters as ``/v2/tasks``)."""
        store = self._ctx.engine.store
        store.get_workflow_execution(ex_id)
        url = self._ctx.url(f"/v2/executions/{quote(ex_id, safe='')}/tasks")
        listed = TASK_LISTING.parse(req.params, url)
        query = q.scoped(listed.query, Filter("workflow_execution_id", "eq", ex_id))
        write_json(
            resp, page_document("tasks", store.list_task_executions(query), listed, ser.TASK_LISTED, ser.TASK)
        )
