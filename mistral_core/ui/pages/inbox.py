"""``/ui``: the waits the signed-in identity may answer; ``/ui/executions/{id}``: one execution.

The inbox lists the open human waits its viewer may answer (an assignee, or any operator when
the approval names none), newest deadline first (waits without a deadline last), each linking to
its page by a freshly signed URL. The page of an execution is read-only: its state, its tasks with
their states, item counts and the progress their waits reported, and its sub-workflows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import falcon

from mistral_core.approvals.service import Responder, Wait
from mistral_core.auth.identity import Identity
from mistral_core.model import Filter, Query, State, TaskExecution
from mistral_core.ui.context import UiContext
from mistral_core.ui.render import page

#: The most sub-workflows an execution's page lists.
MAX_CHILDREN = 200


class Inbox:
    """``GET /ui``: the open waits its viewer may answer."""

    def __init__(self, ctx: UiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the waits."""
        viewer = self._ctx.viewer(req)
        human = self._ctx.human
        waits = [
            w for w in human.approvals.pending() if viewer is not None and _may(viewer, w, self._ctx.auth_on)
        ]
        waits.sort(key=_newest_deadline_first)
        rows = [
            {
                "wait": w,
                "url": human.links.url(w.action_ex),
                "deadline": _shown(w.action_ex.deadline),
                "created": _shown(w.action_ex.created_at),
            }
            for w in waits
        ]
        page(resp, "inbox.html", title="Inbox", rows=rows, viewer=viewer, auth_on=self._ctx.auth_on)


def _may(viewer: Identity, wait: Wait, auth_on: bool) -> bool:
    if not auth_on:
        return True
    responder = Responder(viewer.name, viewer.via, viewer.role.name.lower(), viewer.groups, checked=True)
    answered = any(r.responder == viewer.name for r in wait.responses)
    return responder.may_answer(wait.request) and not answered


def _newest_deadline_first(wait: Wait) -> tuple[int, float, float]:
    deadline = wait.action_ex.deadline
    created = wait.action_ex.created_at
    return (
        deadline is None,
        -deadline.timestamp() if deadline is not None else 0.0,
        -created.timestamp() if created is not None else 0.0,
    )


def _shown(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(" ", "seconds") + " UTC"


class ExecutionPage:
    """``GET /ui/executions/{ex_id}``: one execution, read-only."""

    def __init__(self, ctx: UiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, ex_id: str) -> None:
        """Show the execution, its tasks and its sub-workflows."""
        store = self._ctx.engine.store
        wf_ex = store.get_workflow_execution(ex_id)
        tasks = [self._task(task) for task in store.task_executions_of(ex_id)]
        children = store.list_workflow_executions(
            Query(
                filters=(Filter("root_execution_id", "eq", wf_ex.root_execution_id or wf_ex.id),),
                limit=MAX_CHILDREN,
            )
        )
        done = sum(1 for t in tasks if t["finished"])
        page(
            resp,
            "execution.html",
            title=f"Execution of {wf_ex.workflow_name}",
            wf_ex=wf_ex,
            tasks=tasks,
            done=done,
            children=[c for c in children if c.task_execution_id is not None and c.id != wf_ex.id],
            created=_shown(wf_ex.created_at),
            updated=_shown(wf_ex.updated_at),
            viewer=self._ctx.viewer(req),
            auth_on=self._ctx.auth_on,
        )

    def _task(self, task: TaskExecution) -> dict[str, Any]:
        counters = task.runtime_context.with_items
        waits = []
        if task.state is State.RUNNING and task.type == "ACTION":
            human = self._ctx.human
            for action_ex in self._ctx.engine.store.action_executions_of(task.id):
                if action_ex.is_sync or action_ex.state is not State.RUNNING:
                    continue
                waits.append(
                    {
                        "id": action_ex.id,
                        "progress": action_ex.progress or {},
                        "url": human.links.url(action_ex)
                        if human.approvals.is_human_wait(action_ex)
                        else None,
                        "deadline": _shown(action_ex.deadline),
                    }
                )
        return {
            "task": task,
            "item_counts": (counters.done, counters.count) if counters is not None else None,
            "finished": task.state in (State.SUCCESS, State.ERROR, State.CANCELLED),
            "waits": waits,
            "started": _shown(task.started_at),
            "finished_at": _shown(task.finished_at),
        }
