"""Every route of the API, as data: ``(path, resource class, suffix)``.

:func:`~mistral_core.api.app.create_app` walks :data:`ROUTES` to mount the resources; the
methods of a route are those its resource class answers (``on_get``, ``on_put_in_namespace``
...), found by :func:`methods`; :func:`endpoints` lists every ``(path, method, resource class)``
— what the OpenAPI document describes and what a test can iterate over, route by route.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from mistral_core.api.resources import (
    action_executions,
    actions,
    cron_triggers,
    dynamic_actions,
    environments,
    event_triggers,
    executions,
    maintenance,
    members,
    metrics,
    notifications,
    openapi,
    root,
    tasks,
    tokens,
    waits,
    workbooks,
    workflows,
)

#: The HTTP methods a resource may answer, in the order they are listed.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """One route: a URI template, the class of its resource, and the responders' suffix."""

    path: str
    resource: type
    suffix: str | None = None


ROUTES: tuple[Route, ...] = (
    Route("/", root.Versions),
    Route("/info", root.Info),
    Route("/v2", root.V2Root),
    Route("/v2/openapi.json", openapi.OpenApiDocument),
    # Mistral's maintenance mode is at the root; /v2/maintenance is ours (beside the rest of v2).
    Route("/maintenance", maintenance.MaintenanceItem),
    Route("/v2/maintenance", maintenance.MaintenanceItem),
    Route("/v2/workflows", workflows.WorkflowCollection),
    Route("/v2/workflows/validate", workflows.WorkflowValidation),
    Route("/v2/workflows/{identifier}", workflows.WorkflowItem),
    Route("/v2/workflows/{identifier}/members", members.MemberCollection),
    Route("/v2/workflows/{identifier}/members/{member_id}", members.MemberItem),
    Route("/v2/executions", executions.ExecutionCollection),
    Route("/v2/executions/{ex_id}", executions.ExecutionItem),
    Route("/v2/executions/{ex_id}/tasks", executions.ExecutionTasks),
    Route("/v2/executions/{ex_id}/executions", executions.ExecutionSubExecutions),
    Route("/v2/executions/{ex_id}/report", executions.ExecutionReport),
    Route("/v2/tasks", tasks.TaskCollection),
    Route("/v2/tasks/{task_id}", tasks.TaskItem),
    Route("/v2/tasks/{task_id}/action_executions", tasks.TaskActionExecutions),
    Route("/v2/tasks/{task_id}/action_executions/{action_ex_id}", tasks.TaskActionExecutionItem),
    Route("/v2/tasks/{task_id}/workflow_executions", executions.TaskWorkflowExecutions),
    Route("/v2/tasks/{task_id}/executions", tasks.TaskSubExecutions),
    Route("/v2/action_executions", action_executions.ActionExecutionCollection),
    Route("/v2/action_executions/{action_ex_id}", action_executions.ActionExecutionItem),
    Route("/v2/action-executions/{action_ex_id}", action_executions.ActionExecutionItem),  # the seed's
    Route("/v2/action_executions/{action_ex_id}/heartbeat", action_executions.ActionExecutionHeartbeat),
    Route("/v2/action-executions/{action_ex_id}/heartbeat", action_executions.ActionExecutionHeartbeat),
    Route("/v2/action_executions/{action_ex_id}/history", action_executions.ActionExecutionHistory),
    Route("/v2/action_executions/{action_ex_id}/token", action_executions.ActionExecutionToken),
    # Not Mistral's: the inventory of waits and bulk actions on them (docs/api.md, "Waits").
    Route("/v2/waits", waits.WaitCollection),
    Route("/v2/waits/bulk", waits.WaitBulk),
    Route("/v2/actions", actions.ActionCollection),
    Route("/v2/actions/validate", actions.ActionValidation),
    Route("/v2/actions/{name}", actions.ActionItem),
    Route("/v2/actions/{name}/{namespace}", actions.ActionItem, suffix="in_namespace"),
    Route("/v2/workbooks", workbooks.WorkbookCollection),
    Route("/v2/workbooks/validate", workbooks.WorkbookValidation),
    Route("/v2/workbooks/{name}", workbooks.WorkbookItem),
    Route("/v2/cron_triggers", cron_triggers.CronTriggerCollection),
    Route("/v2/cron_triggers/{identifier}", cron_triggers.CronTriggerItem),
    Route("/v2/event_triggers", event_triggers.EventTriggerCollection),
    Route("/v2/event_triggers/{trigger_id}", event_triggers.EventTriggerItem),
    Route("/v2/environments", environments.EnvironmentCollection),
    Route("/v2/environments/{name}", environments.EnvironmentItem),
    # Off unless the setting dynamic_actions (they run uploaded Python in the executors).
    Route("/v2/code_sources", dynamic_actions.CodeSourceCollection),
    Route("/v2/code_sources/{identifier}", dynamic_actions.CodeSourceItem),
    Route("/v2/dynamic_actions", dynamic_actions.DynamicActionCollection),
    Route("/v2/dynamic_actions/{identifier}", dynamic_actions.DynamicActionItem),
    # Not Mistral's: the deliveries of notifications that failed (docs/api.md, "Notifications").
    Route("/v2/notifications", notifications.NotificationCollection),
    # Not Mistral's: the Prometheus metrics (docs/operations.md, "Metrics").
    Route("/metrics", metrics.MetricsText),
    # Not Mistral's: an API key as an OAuth 2 password grant, for mistralclient's keycloak-oidc.
    Route("/realms/{realm}/protocol/openid-connect/token", tokens.KeyToken),
)


def methods(route: Route) -> tuple[str, ...]:
    """The HTTP methods ``route`` answers: those with an ``on_<method>[_<suffix>]`` responder."""
    tail = f"_{route.suffix}" if route.suffix else ""
    return tuple(m for m in HTTP_METHODS if callable(getattr(route.resource, f"on_{m.lower()}{tail}", None)))


def endpoints() -> Iterator[tuple[str, str, type]]:
    """Every ``(path, method, resource class)`` of the API, in :data:`ROUTES` order."""
    for route in ROUTES:
        for method in methods(route):
            yield route.path, method, route.resource
