"""``GET /v2/executions/<id>/report``: the query string in, Mistral 23's report document out.

The document (what ``mistral execution-get-report`` prints)::

    {"statistics": {"total_tasks_count", "running_tasks_count", "success_tasks_count",
                    "error_tasks_count", "idle_tasks_count", "paused_tasks_count", "estimated_time"},
     "root_workflow_execution": {"id", "name", "created_at", "updated_at", "state", "state_info",
        "task_executions": [{"id", "name", ..., ["retry_count",]
            "action_executions": [{"id", "name", ..., "accepted", "last_heartbeat"}],
            "workflow_executions": [<as root_workflow_execution>]}]}}

``root_workflow_execution`` is left out with ``statistics_only``; ``task_executions`` is left
out of a sub-workflow below ``max_depth``; ``retry_count`` is there for a task the ``retry``
policy ran again. Rendering is a loop, not recursion.
"""

from __future__ import annotations

from typing import Any

from mistral_core.api import querying as q
from mistral_core.api.serializers import timestamp
from mistral_core.api.subexecutions import depth_parameter, flag_parameter
from mistral_core.errors import InputError
from mistral_core.model import ActionExecution, TaskExecution, WorkflowExecution
from mistral_core.services.reports import Report, ReportRequest, Statistics, TaskNode, WorkflowNode

_PARAMETERS = frozenset({"errors_only", "max_depth", "statistics_only"})


def parse_request(params: q.Params) -> ReportRequest:
    """``errors_only``, ``max_depth`` and ``statistics_only``; an empty value is the default.

    Raises:
        InputError: an unknown parameter, one given twice, or a bad value (the message names it).
    """
    for name in params:
        if name not in _PARAMETERS:
            raise InputError(f'Unknown argument: "{name}"')
    return ReportRequest(
        errors_only=flag_parameter(params, "errors_only"),
        max_depth=depth_parameter(params),
        statistics_only=flag_parameter(params, "statistics_only"),
    )


def render(report: Report) -> dict[str, Any]:
    """The wire document of ``report``."""
    document: dict[str, Any] = {"statistics": _statistics(report.statistics)}
    if report.root is not None:
        document["root_workflow_execution"] = _render_tree(report.root)
    return document


def _statistics(statistics: Statistics) -> dict[str, int]:
    return {
        "total_tasks_count": statistics.total,
        **statistics.counts,
        "estimated_time": statistics.estimated_time,
    }


def _render_tree(root: WorkflowNode) -> dict[str, Any]:
    """The tree as nested documents, built with a stack of (node, the list its document joins)."""
    top: list[dict[str, Any]] = []
    pending: list[tuple[WorkflowNode, list[dict[str, Any]]]] = [(root, top)]
    while pending:
        node, into = pending.pop()
        document = _workflow(node.wf_ex)
        into.append(document)
        if node.tasks is None:
            continue
        document["task_executions"] = tasks = []
        for task_node in node.tasks:
            task_document = _task(task_node)
            tasks.append(task_document)
            for child in reversed(task_node.workflows):
                pending.append((child, task_document["workflow_executions"]))
    return top[0]


def _entry(record: WorkflowExecution | TaskExecution | ActionExecution, name: str) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": name,
        "created_at": timestamp(record.created_at),
        "updated_at": timestamp(record.updated_at),
        "state": record.state.value,
        "state_info": record.state_info,
    }


def _workflow(wf_ex: WorkflowExecution) -> dict[str, Any]:
    return _entry(wf_ex, wf_ex.workflow_name)


def _task(node: TaskNode) -> dict[str, Any]:
    task_ex = node.task_ex
    document = _entry(task_ex, task_ex.name)
    if task_ex.runtime_context.retry_no:
        document["retry_count"] = task_ex.runtime_context.retry_no
    document["action_executions"] = [_action(action_ex) for action_ex in node.action_exs]
    document["workflow_executions"] = []
    return document


def _action(action_ex: ActionExecution) -> dict[str, Any]:
    document = _entry(action_ex, action_ex.name)
    document["accepted"] = action_ex.accepted
    document["last_heartbeat"] = timestamp(action_ex.last_heartbeat_at)
    return document
