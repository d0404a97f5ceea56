"""``/v2/tasks``: list, get, and a task's action executions."""

from __future__ import annotations

from urllib.parse import quote

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import write_json
from mistral_core.api.resources.action_executions import LISTING as ACTION_EX_LISTING
from mistral_core.api.resources.action_executions import listed_view as action_ex_view
from mistral_core.api.resources.common import page_document
from mistral_core.model import Filter

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


class TaskCollection:
    """``GET /v2/tasks`` (filter ``workflow_execution_id=...`` for one execution's)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/tasks")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List task executions (without ``result``)."""
        listed = LISTING.parse(req.params, self._url)
        task_exs = self._ctx.engine.store.list_task_executions(listed.query)
        write_json(resp, page_document("tasks", task_exs, listed, ser.TASK_LISTED, ser.TASK))


class TaskItem:
    """``GET /v2/tasks/{id}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        """One task execution, with its ``result``."""
        write_json(resp, ser.TASK.render(self._ctx.engine.store.get_task_execution(task_id)))


class TaskActionExecutions:
    """``GET /v2/tasks/{id}/action_executions`` (404 for an unknown task)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        """List the task's action executions (same parameters as ``/v2/action_executions``)."""
        store = self._ctx.engine.store
        store.get_task_execution(task_id)
        url = self._ctx.url(f"/v2/tasks/{quote(task_id, safe='')}/action_executions")
        listed = ACTION_EX_LISTING.parse(req.params, url)
        query = q.scoped(listed.query, Filter("task_execution_id", "eq", task_id))
        action_exs = store.list_action_executions(query)
        write_json(
            resp,
            page_document(
                "action_executions", action_exs, listed, action_ex_view(listed), ser.ACTION_EXECUTION
            ),
        )
