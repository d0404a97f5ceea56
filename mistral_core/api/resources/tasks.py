"""``/v2/tasks``: list, get, re-run or skip (PUT), a task's action executions and sub-executions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import (
    optional_boolean,
    optional_object,
    optional_string,
    read_json_object,
    write_json,
)
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.action_executions import LISTING as ACTION_EX_LISTING
from mistral_core.api.resources.action_executions import listed_view as action_ex_view
from mistral_core.api.resources.common import list_view, page_document, projected
from mistral_core.api.subexecutions import SubExecutionRequest, sub_executions
from mistral_core.errors import InputError, NotFoundError
from mistral_core.model import ActionExecution, Filter, State, TaskExecution

LISTING = q.Listing(
    fields=ser.TASK.names,
    columns={
        "id": q.text,
        "name": q.text,
        "type": q.text,
        "workflow_name": q.text,
        "workflow_namespace": q.text,
        "workflow_id": q.text,
        "workflow_execution_id": q.text,
        "tags": q.tag_list,
        "state": q.state,
        "state_info": q.text,
        "project_id": q.text,
        "processed": q.boolean,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
        "started_at": q.timestamp,
        "finished_at": q.timestamp,
    },
)


NO_RESET = (
    "Invalid input for field 'reset': it is required to re-run a task "
    "(true: run it anew; false: re-run only the failed items of a with-items task)"
)


@dataclasses.dataclass(frozen=True, slots=True)
class TaskUpdate:
    """A ``PUT /v2/tasks/<id>`` body: re-run (``state: RUNNING`` with ``reset``) or skip (``SKIPPED``).

    ``mistral task-rerun`` sends ``{"id", "state": "RUNNING", "reset": bool, "env": "<JSON>"}``.
    ``name`` and ``workflow_name``, when given, must be the task's.
    """

    state: State
    reset: bool = True
    env: dict[str, Any] | None = None
    name: str | None = None
    workflow_name: str | None = None

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> TaskUpdate:
        """Read a body.

        Raises:
            InputError: a state other than RUNNING/SKIPPED, a re-run without ``reset``, a wrong type.
        """
        raw_state = optional_string(body, "state")
        if raw_state not in (State.RUNNING.value, State.SKIPPED.value):
            raise InputError(
                f"Invalid task state: {raw_state or 'none given'}. "
                "A task can only be set to RUNNING (re-run) or SKIPPED (skip)."
            )
        state = State(raw_state)
        reset = optional_boolean(body, "reset")
        if state is State.RUNNING and reset is None:
            raise InputError(NO_RESET)
        return cls(
            state=state,
            reset=True if reset is None else reset,
            env=optional_object(body, "env") or None,
            name=optional_string(body, "name") or None,
            workflow_name=optional_string(body, "workflow_name") or None,
        )

    def check(self, task_ex: TaskExecution) -> None:
        """Refuse a body that names another task or workflow than ``task_ex``'s.

        Raises:
            InputError: a name that does not match.
        """
        if self.name is not None and self.name != task_ex.name:
            raise InputError(f"Task name does not match: the task is '{task_ex.name}', not '{self.name}'")
        if self.workflow_name is not None and self.workflow_name != task_ex.workflow_name:
            raise InputError(
                f"Workflow name does not match: the task belongs to '{task_ex.workflow_name}', "
                f"not '{self.workflow_name}'"
            )


class TaskCollection:
    """``GET /v2/tasks`` (filter ``workflow_execution_id=...`` for one execution's)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/tasks")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List task executions (without ``result``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        view = list_view(listed, ser.TASK_LISTED, ser.TASK)
        task_exs = self._ctx.engine.store.list_task_executions(projected(listed.query, view))
        write_json(resp, page_document("tasks", task_exs, listed, view, view))


class TaskItem:
    """``GET`` and ``PUT /v2/tasks/{id}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        """One task execution, with its ``result``."""
        write_json(resp, ser.TASK.render(self._ctx.engine.store.get_task_execution(task_id, viewer_of(req))))

    def on_put(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        """Re-run a failed task (``mistral task-rerun``) or skip it: 200 with the task."""
        update = TaskUpdate.parse(read_json_object(req, self._ctx.max_body_bytes))
        engine = self._ctx.engine
        update.check(engine.store.get_task_execution(task_id, viewer_of(req)))
        if update.state is State.SKIPPED:
            task_ex = engine.executions.skip_task(task_id)
        else:
            task_ex = engine.executions.rerun_task(task_id, reset=update.reset, env=update.env)
        write_json(resp, ser.TASK.render(task_ex))


class TaskActionExecutions:
    """``GET /v2/tasks/{id}/action_executions`` (404 for an unknown task)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        """List the task's action executions (same parameters as ``/v2/action_executions``)."""
        store, viewer = self._ctx.engine.store, viewer_of(req)
        url = self._ctx.url(f"/v2/tasks/{quote(task_id, safe='')}/action_executions")
        listed = ACTION_EX_LISTING.parse(req.params, url, viewer)
        view = list_view(listed, action_ex_view(listed), ser.ACTION_EXECUTION)
        query = projected(q.scoped(listed.query, Filter("task_execution_id", "eq", task_id)), view)
        action_exs = store.list_action_executions(query)
        if not action_exs:  # one the viewer sees proves its task exists and is seen (same project)
            store.get_task_execution(task_id, viewer)
        write_json(resp, page_document("action_executions", action_exs, listed, view, view))


class TaskActionExecutionItem:
    """``GET /v2/tasks/{id}/action_executions/{id}``: one action execution of a task (``fields=``).

    An action execution of another task is not found (Mistral 23 answers it whatever the task).
    """

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: str, action_ex_id: str) -> None:
        """The action execution, with its ``output`` (or only the ``fields`` asked for)."""
        view = item_view(req.params)
        store, viewer = self._ctx.engine.store, viewer_of(req)
        store.get_task_execution(task_id, viewer)
        action_ex = store.get_action_execution(action_ex_id, viewer)
        if action_ex.task_execution_id != task_id:
            raise NotFoundError(f"ActionExecution not found [id={action_ex_id}, task_execution_id={task_id}]")
        write_json(resp, view.render(action_ex))


def item_view(params: q.Params) -> ser.View[ActionExecution]:
    """The view of one action execution: every field, or ``fields=a,b`` (``id`` always shown).

    Raises:
        InputError: a parameter other than ``fields``, given twice, or naming an unknown field.
    """
    for name, value in params.items():
        if name != "fields":
            raise InputError(f'Unknown argument: "{name}"')
        if isinstance(value, list):
            raise InputError("Parameter fields is given more than once")
    asked = [name.strip() for name in str(params.get("fields", "")).split(",") if name.strip()]
    unknown = [name for name in asked if name not in ser.ACTION_EXECUTION.names]
    if unknown:
        raise InputError(
            f"Some fields do not exist [{', '.join(unknown)}], please choose from "
            f"[{', '.join(ser.ACTION_EXECUTION.names)}] (parameter fields)"
        )
    return ser.ACTION_EXECUTION.only({"id", *asked}) if asked else ser.ACTION_EXECUTION


class TaskSubExecutions:
    """``GET /v2/tasks/{id}/executions``: the task's sub-workflow executions and theirs, depth first.

    Same parameters as ``/v2/executions/{id}/executions`` (``mistral task-get-sub-executions``).
    """

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        """List the sub-workflow executions under the task, depth first."""
        request = SubExecutionRequest.parse(req.params)
        wf_exs = sub_executions(self._ctx.engine.store, request, viewer_of(req), task_ex_id=task_id)
        write_json(resp, {"executions": request.view().render_all(wf_exs)})
