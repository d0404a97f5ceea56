"""The OpenAPI 3 document of the REST API v2, served at ``GET /v2/openapi.json``.

Hand-written as data: one entry per route and method of :data:`~mistral_core.api.routes.ROUTES`
(a test keeps the two equal), with its parameters, its request body and its answers. The
query parameters of a list come from its :class:`~mistral_core.api.querying.Listing`, the
one vocabulary the list parses with. Every error is Mistral's fault document (``4XX``).
"""

from __future__ import annotations

from typing import Any

from mistral_core import __version__
from mistral_core.api.openapi_bodies import BODIES
from mistral_core.api.openapi_parts import (
    ACTION_BODY,
    NAMESPACE,
    REPORT,
    TOKEN_FORM,
    TREE,
    UPLOAD,
    VALIDATED_ACTION,
    VALIDATED_WORKBOOK,
    VALIDATED_WORKFLOW,
    WORKBOOK_BODY,
    YAML_BODY,
    json_body,
    links,
    list_parameters,
    op,
    param,
    path_params,
)
from mistral_core.api.openapi_schemas import RECORDS, Schema
from mistral_core.api.resources import (
    action_executions,
    actions,
    cron_triggers,
    dynamic_actions,
    environments,
    event_triggers,
    executions,
    notifications,
    tasks,
    waits,
    workbooks,
    workflows,
)


def _root_paths() -> dict[str, Schema]:
    token = op(
        "An API key's name and secret for an access token (OAuth 2 password grant); 404 without keys",
        200,
        "AccessToken",
        path_params("realm"),
        TOKEN_FORM,
    )
    maintenance = {
        "get": op("The maintenance mode (RUNNING, PAUSING, PAUSED)", 200, "Maintenance"),
        "put": op(
            "Ask for maintenance (PAUSED) or its end (RUNNING); the mode it led to (admin)",
            200,
            "Maintenance",
            None,
            json_body("MaintenanceChange"),
        ),
    }
    metrics = op("This process's metrics, in Prometheus' text format (docs/operations.md)", 200, None)
    metrics["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    return {
        "/": {"get": op("The API versions", 200, "Versions")},
        "/metrics": {"get": metrics},
        "/v2": {"get": op("The v2 root", 200, "V2Root")},
        "/v2/openapi.json": {"get": op("This document", 200, "OpenApi")},
        "/maintenance": maintenance,
        "/v2/maintenance": maintenance,
        "/info": {
            "get": op("What the deployment says of itself (setting info_file); 400 when off", 200, "Info")
        },
        "/realms/{realm}/protocol/openid-connect/token": {"post": token},
    }


def _member_paths() -> dict[str, Schema]:
    """Sharing a workflow with other projects (authentication on only: 400 when it is off)."""
    wf_id, member = (
        [*path_params("identifier"), NAMESPACE],
        [*path_params("identifier", "member_id"), NAMESPACE],
    )
    return {
        "/v2/workflows/{identifier}/members": {
            "get": op("The projects a workflow is shared with (a member: its own membership)",
                       200, "Members", wf_id),
            "post": links(
                op("Share a private workflow with another project (pending until it accepts)", 201, "Member",
                    wf_id, json_body("MemberCreate")),
                201,
                "/v2/workflows/{identifier}/members/{member_id}",
                "get put delete",
                identifier="$response.body#/resource_id",
                member_id="$response.body#/member_id",
            ),
        },
        "/v2/workflows/{identifier}/members/{member_id}": {
            "get": op("One membership of a workflow", 200, "Member", member),
            "put": op("The member project accepts or rejects the workflow", 200, "Member", member,
                       json_body("MemberUpdate")),
            "delete": op("Stop sharing a workflow with a project", 204, None, member),
        },
    }  # fmt: skip


def _definition_paths() -> dict[str, Schema]:
    wf_id, name, ns = path_params("identifier"), path_params("name"), path_params("name", "namespace")
    return {
        "/v2/workflows": {
            "get": op("List workflows", 200, "Workflows", list_parameters(workflows.LISTING)),
            "post": links(
                op("Create the workflows of a document", 201, "WrittenWorkflows", UPLOAD, YAML_BODY),
                201,
                "/v2/workflows/{identifier}",
                "get delete",
                identifier="$response.body#/workflows/0/id",
            ),
            "put": op("Update the workflows of a document", 200, "WrittenWorkflows", UPLOAD, YAML_BODY),
        },
        "/v2/workflows/validate": {
            "post": op("Validate a workflow document", 200, "Validation", None, VALIDATED_WORKFLOW),
        },
        "/v2/workflows/{identifier}": {
            "get": op("One workflow, by id or name", 200, "Workflow", [*wf_id, NAMESPACE]),
            "put": op(
                "Update one workflow by id (or name) from a one-workflow document, which may rename it",
                200,
                "UpdatedWorkflow",
                [*wf_id, *UPLOAD],
                YAML_BODY,
            ),
            "delete": op("Delete a workflow", 204, None, [*wf_id, NAMESPACE]),
        },
        **_member_paths(),
        "/v2/actions": {
            "get": op("List actions (system and ad-hoc)", 200, "Actions", list_parameters(actions.LISTING)),
            "post": links(
                op("Create the ad-hoc actions of a YAML document", 201, "Actions", UPLOAD, ACTION_BODY),
                201,
                "/v2/actions/{name}",
                "get put delete",
                name="$response.body#/actions/0/name",
            ),
            "put": op("Update the ad-hoc actions of a YAML document", 200, "Actions", UPLOAD, ACTION_BODY),
        },
        "/v2/actions/validate": {
            "post": op("Validate an ad-hoc action document", 200, "Validation", None, VALIDATED_ACTION),
        },
        "/v2/actions/{name}": {
            "get": op("One action", 200, "Action", [*name, NAMESPACE]),
            "put": op("Update an ad-hoc action", 200, "Actions", [*name, *UPLOAD], ACTION_BODY),
            "delete": op("Delete an ad-hoc action", 204, None, [*name, NAMESPACE]),
        },
        "/v2/actions/{name}/{namespace}": {
            "get": op("One action of a namespace", 200, "Action", ns),
            "delete": op("Delete an ad-hoc action of a namespace", 204, None, ns),
        },
        "/v2/workbooks": {
            "get": op("List workbooks", 200, "Workbooks", list_parameters(workbooks.LISTING)),
            "post": links(
                op("Create a workbook from a YAML document", 201, "Workbook", UPLOAD, WORKBOOK_BODY),
                201,
                "/v2/workbooks/{name}",
                "get delete",
                name="$response.body#/name",
            ),
            "put": op("Update a workbook from a YAML document", 200, "Workbook", UPLOAD, WORKBOOK_BODY),
        },
        "/v2/workbooks/validate": {
            "post": op("Validate a workbook document", 200, "Validation", None, VALIDATED_WORKBOOK),
        },
        "/v2/workbooks/{name}": {
            "get": op("One workbook", 200, "Workbook", [*name, NAMESPACE]),
            "delete": op("Delete a workbook, its workflows and actions", 204, None, [*name, NAMESPACE]),
        },
    }


def _execution_paths() -> dict[str, Schema]:
    ex, task = path_params("ex_id"), path_params("task_id")
    force = param("force", "query", {"type": "boolean"}, "delete a running execution")
    return {
        "/v2/executions": {
            "get": op("List executions", 200, "Executions", list_parameters(executions.LISTING)),
            "post": links(
                links(
                    op("Start an execution", 201, "Execution", None, json_body("ExecutionStart")),
                    201,
                    "/v2/executions/{ex_id}",
                    "get put delete",
                    ex_id="$response.body#/id",
                ),
                201,
                "/v2/executions/{ex_id}/tasks",
                "get",
                ex_id="$response.body#/id",
            ),
        },
        "/v2/executions/{ex_id}": {
            "get": op("One execution", 200, "Execution", ex),
            "put": op(
                "Pause, resume, stop; change description or env",
                200,
                "Execution",
                ex,
                json_body("ExecutionUpdate"),
            ),
            "delete": op("Delete an execution", 204, None, [*ex, force]),
        },
        "/v2/executions/{ex_id}/tasks": {
            "get": op("The tasks of an execution", 200, "Tasks", [*ex, *list_parameters(tasks.LISTING)]),
        },
        "/v2/executions/{ex_id}/executions": {
            "get": op("The execution and its sub-executions, depth first", 200, "Executions", [*ex, *TREE]),
        },
        "/v2/executions/{ex_id}/report": {
            "get": op(
                "Statistics and the tree of tasks, action executions and sub-workflows",
                200,
                "ExecutionReport",
                [*ex, *REPORT],
            ),
        },
        "/v2/tasks": {
            "get": links(
                op("List tasks", 200, "Tasks", list_parameters(tasks.LISTING)),
                200,
                "/v2/tasks/{task_id}",
                "get put",
                task_id="$response.body#/tasks/0/id",
            ),
        },
        "/v2/tasks/{task_id}": {
            "get": op("One task", 200, "Task", task),
            "put": op("Re-run or skip a task", 200, "Task", task, json_body("TaskUpdate")),
        },
        "/v2/tasks/{task_id}/action_executions": {
            "get": op(
                "The action executions of a task",
                200,
                "ActionExecutions",
                [*task, *list_parameters(action_executions.LISTING)],
            ),
        },
        "/v2/tasks/{task_id}/action_executions/{action_ex_id}": {
            "get": op(
                "One action execution of a task, with its output",
                200,
                "ActionExecution",
                [*task, *path_params("action_ex_id"), param("fields", "query", {"type": "string"})],
            ),
        },
        "/v2/tasks/{task_id}/workflow_executions": {
            "get": op(
                "The executions a task started",
                200,
                "Executions",
                [*task, *list_parameters(executions.LISTING)],
            ),
        },
        "/v2/tasks/{task_id}/executions": {
            "get": op("The sub-executions of a task, depth first", 200, "Executions", [*task, *TREE]),
        },
    }


def _action_execution_paths() -> dict[str, Schema]:
    action_ex = path_params("action_ex_id")
    item = {
        "get": op("One action execution, with its output", 200, "ActionExecution", action_ex),
        "delete": op(
            "Delete a finished action execution run outside any workflow (setting "
            "allow_action_execution_deletion)",
            204,
            None,
            action_ex,
        ),
        "put": op(
            "Push an action's result, or pause/resume it",
            200,
            "ActionExecution",
            action_ex,
            json_body("ActionResult"),
        ),
        "post": op(
            "Push an action's result (as PUT)", 200, "ActionExecution", action_ex, json_body("ActionResult")
        ),
    }
    heartbeat = {
        "post": op(
            "A RUNNING async action's third party is alive: progress, deadline extension",
            200,
            "ActionExecution",
            action_ex,
            json_body("Heartbeat"),
        ),
    }
    return {
        "/v2/action_executions/{action_ex_id}/heartbeat": heartbeat,
        "/v2/action-executions/{action_ex_id}/heartbeat": heartbeat,
        "/v2/action_executions": {
            "get": op(
                "List action executions", 200, "ActionExecutions", list_parameters(action_executions.LISTING)
            ),
            "post": op(
                "Run an action outside any workflow", 201, "ActionExecution", None, json_body("RunAction")
            ),
        },
        "/v2/action_executions/{action_ex_id}": item,
        "/v2/action-executions/{action_ex_id}": item,
        "/v2/action_executions/{action_ex_id}/history": {
            "get": op(
                "Every result push and state change asked of an action execution, accepted or not",
                200,
                "ActionHistory",
                action_ex,
            ),
        },
        "/v2/action_executions/{action_ex_id}/token": {
            "delete": op("Revoke the callback token of an action execution", 204, None, action_ex),
        },
        **_wait_paths(),
    }


def _wait_paths() -> dict[str, Schema]:
    number: Schema = {"type": "number", "minimum": 0}
    filters = [
        param("older_than", "query", number, "started more than this many seconds ago"),
        param("deadline_before", "query", {"type": "string"}, "a deadline before this ISO 8601 time"),
        param("stale_for", "query", number, "no heartbeat (nor start) for this many seconds"),
    ]
    return {
        "/v2/waits": {
            "get": op(
                "The waits: RUNNING async action executions, and targeted ones no executor has started",
                200,
                "Waits",
                [*list_parameters(waits.LISTING), *filters],
            ),
        },
        "/v2/waits/bulk": {
            "post": op(
                "Complete, fail, cancel or extend many waits; one status per wait",
                200,
                "WaitBulkResults",
                None,
                json_body("WaitBulk"),
            ),
        },
    }


def _settings_paths() -> dict[str, Schema]:
    trigger, env, event = path_params("identifier"), path_params("name"), path_params("trigger_id")
    return {
        "/v2/cron_triggers": {
            "get": op("List cron triggers", 200, "CronTriggers", list_parameters(cron_triggers.LISTING)),
            "post": links(
                op("Create a cron trigger", 201, "CronTrigger", None, json_body("CronTriggerCreate")),
                201,
                "/v2/cron_triggers/{identifier}",
                "get delete",
                identifier="$response.body#/name",
            ),
        },
        "/v2/cron_triggers/{identifier}": {
            "get": op("One cron trigger, by id or name", 200, "CronTrigger", trigger),
            "delete": op("Delete a cron trigger", 204, None, trigger),
        },
        "/v2/event_triggers": {
            "get": op("List event triggers", 200, "EventTriggers", list_parameters(event_triggers.LISTING)),
            "post": links(
                op("Create an event trigger", 201, "EventTrigger", None, json_body("EventTriggerCreate")),
                201,
                "/v2/event_triggers/{trigger_id}",
                "get put delete",
                trigger_id="$response.body#/id",
            ),
        },
        "/v2/event_triggers/{trigger_id}": {
            "get": op("One event trigger", 200, "EventTrigger", event),
            "put": op(
                "Change an event trigger's name, input, params or scope",
                200,
                "EventTrigger",
                event,
                json_body("EventTriggerUpdate"),
            ),
            "delete": op("Delete an event trigger", 204, None, event),
        },
        "/v2/environments": {
            "get": op("List environments", 200, "Environments", list_parameters(environments.LISTING)),
            "post": links(
                op("Create an environment", 201, "Environment", None, json_body("EnvironmentWrite")),
                201,
                "/v2/environments/{name}",
                "get delete",
                name="$response.body#/name",
            ),
            "put": op(
                "Update the environment the body names",
                200,
                "Environment",
                None,
                json_body("EnvironmentWrite"),
            ),
        },
        "/v2/environments/{name}": {
            "get": op("One environment", 200, "Environment", env),
            "delete": op("Delete an environment", 204, None, env),
        },
        "/v2/notifications": {
            "get": op(
                "Deliveries of notifications that failed at least once (retrying, delivered late, given up)",
                200,
                "Notifications",
                list_parameters(notifications.LISTING),
            ),
        },
    }


CODE_EXAMPLE = """\
class Hello:
    \"\"\"Says hello.\"\"\"

    def __init__(self, name):
        self.name = name

    def run(self, context):
        return f"Hello, {self.name}"
"""
_OFF = " (404 unless the server's dynamic_actions setting is on; admins only)"


def _dynamic_paths() -> dict[str, Schema]:
    item = [*path_params("identifier"), NAMESPACE]
    code = {
        "required": True,
        "content": {"text/plain": {"schema": {"type": "string"}, "example": CODE_EXAMPLE}},
    }
    named = [param("name", "query", {"type": "string"}, "the module's name"), *UPLOAD]
    which = [param("identifier", "query", {"type": "string"}, "the code source's id or name"), *UPLOAD]
    return {
        "/v2/code_sources": {
            "get": op(
                "List code sources" + _OFF,
                200,
                "CodeSources",
                list_parameters(dynamic_actions.SOURCE_LISTING),
            ),
            "post": links(
                op("Upload a Python module" + _OFF, 201, "CodeSource", named, code),
                201,
                "/v2/code_sources/{identifier}",
                "get delete",
                identifier="$response.body#/id",
            ),
            "put": op("Replace a module's text (its version goes up)" + _OFF, 200, "CodeSource", which, code),
        },
        "/v2/code_sources/{identifier}": {
            "get": op("One code source, by id or name" + _OFF, 200, "CodeSource", item),
            "delete": op("Delete a code source and its dynamic actions" + _OFF, 204, None, item),
        },
        "/v2/dynamic_actions": {
            "get": op(
                "List dynamic actions" + _OFF,
                200,
                "DynamicActions",
                list_parameters(dynamic_actions.ACTION_LISTING),
            ),
            "post": links(
                op(
                    "Name a class of a code source as an action" + _OFF,
                    201,
                    "DynamicAction",
                    None,
                    json_body("DynamicActionWrite"),
                ),
                201,
                "/v2/dynamic_actions/{identifier}",
                "get delete",
                identifier="$response.body#/id",
            ),
            "put": op(
                "Change a dynamic action (by id or name)" + _OFF,
                200,
                "DynamicAction",
                None,
                json_body("DynamicActionWrite"),
            ),
        },
        "/v2/dynamic_actions/{identifier}": {
            "get": op("One dynamic action, by id or name" + _OFF, 200, "DynamicAction", item),
            "delete": op("Delete a dynamic action" + _OFF, 204, None, item),
        },
    }


def document(public_url: str) -> dict[str, Any]:
    """The OpenAPI 3 document of the API served at ``public_url``."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "mistral-core REST API v2",
            "version": __version__,
            "description": "OpenStack Mistral's REST API v2, as mistral-core serves it (docs/api.md).",
        },
        "servers": [{"url": public_url}],
        "paths": {
            **_root_paths(),
            **_definition_paths(),
            **_execution_paths(),
            **_action_execution_paths(),
            **_settings_paths(),
            **_dynamic_paths(),
        },
        "components": {"schemas": {**RECORDS, **BODIES}},
    }
