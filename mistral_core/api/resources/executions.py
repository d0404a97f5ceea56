"""``/v2/executions``: list, start, get, control (PUT), delete; an execution's tasks and sub-executions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import falcon

from mistral_core.api import querying as q
from mistral_core.api import reports
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import (
    bounded_name,
    object_field,
    optional_object,
    optional_string,
    read_json_object,
    string_field,
    write_json,
)
from mistral_core.api.projects import check_visible, viewer_of
from mistral_core.api.resources.common import list_view, page_document, projected
from mistral_core.api.resources.tasks import LISTING as TASK_LISTING
from mistral_core.api.subexecutions import SubExecutionRequest, sub_executions
from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import InputError
from mistral_core.model import Filter, Query, State

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
    flags=frozenset({"include_output", q.ALL_PROJECTS}),
)
_LISTED_WITH_OUTPUT = ser.EXECUTION.without("published_global")
NO_WORKFLOW = "Workflow ID or workflow name must be provided. Workflow ID is recommended."
#: The states ``PUT /v2/executions/<id>`` may ask for, in Mistral's order.
SETTABLE_STATES = (State.RUNNING, State.PAUSED, State.SUCCESS, State.ERROR, State.CANCELLED)
_SETTABLE = {state.value: state for state in SETTABLE_STATES}


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
        "ex_id": bounded_name(string_field(body, "id"), "field 'id'") or None,
    }


def update_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's ``update_execution`` keyword arguments from a ``PUT /v2/executions/<id>`` body.

    As Mistral: at least one of ``state``, ``description``, ``params.env``; ``description``
    alone; ``params.env`` alone or with ``state: RUNNING`` (a resume that merges env).
    ``params`` and its ``env`` may be objects or JSON strings of objects.

    Raises:
        InputError: nothing to change, a forbidden combination, an unknown state, a wrong type.
    """
    state = _settable_state(optional_string(body, "state"))
    description = optional_string(body, "description")
    env = optional_object(object_field(body, "params"), "env")
    if state is None and description is None and env is None:
        raise InputError("The property state, description, or env is not provided for update.")
    if description is not None and (state is not None or env is not None):
        raise InputError("The property description must be updated separately from state and env.")
    if env is not None and state not in (None, State.RUNNING):
        raise InputError(
            "The property env can only be updated when the execution is not running or on resume from pause."
        )
    return {
        "state": state,
        "state_info": optional_string(body, "state_info"),
        "description": description,
        "env": env,
    }


def executions_page(store: ExecutionStore, query: Query, listed: q.ListRequest) -> dict[str, Any]:
    """A page of the executions ``query`` finds: without ``output`` unless ``include_output=true``
    or ``fields`` ask for it; only the fields shown are read."""
    default = _LISTED_WITH_OUTPUT if listed.flag("include_output") else ser.EXECUTION_LISTED
    view = list_view(listed, default, ser.EXECUTION)
    wf_exs = store.list_workflow_executions(projected(query, view))
    return page_document("executions", wf_exs, listed, view, view)


def _settable_state(value: str | None) -> State | None:
    if value is None:
        return None
    state = _SETTABLE.get(value)
    if state is None:
        allowed = ", ".join(s.value for s in SETTABLE_STATES)
        raise InputError(f"Cannot change state to {value}. Allowed states are: {allowed}")
    return state


class ExecutionCollection:
    """``GET`` and ``POST /v2/executions``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/executions")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List executions (``include_output=true`` adds ``output``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        write_json(resp, executions_page(self._ctx.engine.store, listed.query, listed))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Start an execution: 201 with it."""
        arguments = start_arguments(read_json_object(req, self._ctx.max_body_bytes))
        wf_ex = self._ctx.engine.executions.start(**arguments, viewer=viewer_of(req))
        write_json(resp, ser.EXECUTION_CREATED.render(wf_ex), falcon.HTTP_201)


class ExecutionItem:
    """``GET``, ``PUT`` and ``DELETE /v2/executions/{id}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """One execution."""
        wf_ex = self._ctx.engine.store.get_workflow_execution(ex_id, viewer_of(req))
        write_json(resp, ser.EXECUTION.render(wf_ex))

    def on_put(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """Pause, resume, stop; change the description or env (``mistral execution-update``): 200."""
        arguments = update_arguments(read_json_object(req, self._ctx.max_body_bytes))
        engine = self._ctx.engine
        check_visible(viewer_of(req), engine.store.get_workflow_execution, ex_id)
        write_json(resp, ser.EXECUTION.render(engine.executions.update(ex_id, **arguments)))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """Delete an execution (only a finished one unless ``?force=true``): 204."""
        engine = self._ctx.engine
        check_visible(viewer_of(req), engine.store.get_workflow_execution, ex_id)
        engine.executions.delete(ex_id, force=q.flag(req.params, "force"))
        resp.status = falcon.HTTP_204


class ExecutionTasks:
    """``GET /v2/executions/{id}/tasks``: the tasks of one execution (404 for an unknown one)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """List the execution's tasks (same parameters as ``/v2/tasks``)."""
        store, viewer = self._ctx.engine.store, viewer_of(req)
        url = self._ctx.url(f"/v2/executions/{quote(ex_id, safe='')}/tasks")
        listed = TASK_LISTING.parse(req.params, url, viewer)
        view = list_view(listed, ser.TASK_LISTED, ser.TASK)
        query = projected(q.scoped(listed.query, Filter("workflow_execution_id", "eq", ex_id)), view)
        tasks = store.list_task_executions(query)
        if not tasks:  # a task the viewer sees proves its execution exists and is seen (same project)
            store.get_workflow_execution(ex_id, viewer)
        write_json(resp, page_document("tasks", tasks, listed, view, view))


class ExecutionSubExecutions:
    """``GET /v2/executions/{id}/executions``: the execution and its sub-workflow executions, depth first.

    Parameters ``errors_only``, ``max_depth``, ``include_output`` (``mistral execution-get-sub-executions``).
    """

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """List the execution tree under ``ex_id`` (the execution first)."""
        request = SubExecutionRequest.parse(req.params)
        wf_exs = sub_executions(self._ctx.engine.store, request, viewer_of(req), wf_ex_id=ex_id)
        write_json(resp, {"executions": request.view().render_all(wf_exs)})


class TaskWorkflowExecutions:
    """``GET /v2/tasks/{id}/workflow_executions``: the executions a task started (404 for an unknown task)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        """List the task's sub-workflow executions (same parameters as ``/v2/executions``)."""
        store, viewer = self._ctx.engine.store, viewer_of(req)
        store.get_task_execution(task_id, viewer)
        url = self._ctx.url(f"/v2/tasks/{quote(task_id, safe='')}/workflow_executions")
        listed = LISTING.parse(req.params, url, viewer)
        query = q.scoped(listed.query, Filter("task_execution_id", "eq", task_id))
        write_json(resp, executions_page(store, query, listed))


class ExecutionReport:
    """``GET /v2/executions/{id}/report``: statistics and the tree of tasks, action executions and
    sub-workflows (``mistral execution-get-report``); ``errors_only``, ``max_depth``, ``statistics_only``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """The report (400 past the setting ``report_max_entries``)."""
        request = reports.parse_request(req.params)
        limit = self._ctx.options.report_max_entries
        report = self._ctx.engine.reports.report(ex_id, request, viewer_of(req), limit)
        write_json(resp, reports.render(report))
