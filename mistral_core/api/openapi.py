"""The OpenAPI 3 document of the REST API v2, served at ``GET /v2/openapi.json``.

Hand-written as data: one entry per route and method of :data:`~mistral_core.api.routes.ROUTES`
(a test keeps the two equal), with its parameters, its request body and its answers. The
query parameters of a list come from its :class:`~mistral_core.api.querying.Listing`, the
one vocabulary the list parses with. Every error is Mistral's fault document (``4XX``).
"""

from __future__ import annotations

import re
from typing import Any

from mistral_core import __version__
from mistral_core.api import querying as q
from mistral_core.api.media import MAX_INTEGER
from mistral_core.api.openapi_schemas import BODIES, RECORDS, SCOPE, Schema, ref
from mistral_core.api.resources import (
    action_executions,
    actions,
    cron_triggers,
    environments,
    executions,
    notifications,
    tasks,
    workbooks,
    workflows,
)

#: Examples: a run of a tool over this document creates these first, then follows the links.
WORKFLOW_EXAMPLE = """\
---
version: '2.0'
example_wait:
  input:
    - x: 1
  tasks:
    wait:
      action: std.async_noop
"""
ACTION_EXAMPLE = "---\nversion: '2.0'\nexample_action:\n  base: std.echo\n  base-input:\n    output: 1\n"
WORKBOOK_EXAMPLE = """\
---
version: '2.0'
name: example_book
workflows:
  flow:
    tasks:
      t:
        action: std.noop
"""
_FILTER_HELP = (
    "a filter: the value, or op:value with op one of eq, neq, gt, gte, lt, lte, in, nin (comma lists), has"
)


def _json_body(name: str) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": ref(name)}}}


def _yaml_body(example: str, required: bool = True) -> Schema:
    schema = {"type": "string", "description": "a YAML document"}
    return {"required": required, "content": {"text/plain": {"schema": schema, "example": example}}}


def _links(operation: Schema, status: int, target: str, methods: str, **parameters: str) -> Schema:
    """``operation`` with links from its ``status`` answer to ``methods`` of ``target``.

    Args:
        parameters: each path parameter of ``target`` and where the answer holds it
            (``$response.body#/id``).
    """
    pointer = target.replace("~", "~0").replace("/", "~1")
    links = operation["responses"][str(status)].setdefault("links", {})
    for method in methods.split():
        name = f"{method.capitalize()}{''.join(part.capitalize() for part in re.findall(r'[a-z]+', target))}"
        links[name] = {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}
    return operation


YAML_BODY = _yaml_body(WORKFLOW_EXAMPLE)
ACTION_BODY = _yaml_body(ACTION_EXAMPLE)
WORKBOOK_BODY = _yaml_body(WORKBOOK_EXAMPLE)
#: What a validate endpoint checks: no body is a document that is not valid (200, valid false).
VALIDATED_WORKFLOW, VALIDATED_ACTION, VALIDATED_WORKBOOK = (
    _yaml_body(example, required=False) for example in (WORKFLOW_EXAMPLE, ACTION_EXAMPLE, WORKBOOK_EXAMPLE)
)


def _answer(status: int, schema: str | None, description: str) -> dict[str, Any]:
    answers: dict[str, Any] = {
        str(status): {"description": description},
        "4XX": {
            "description": "refused: Mistral's fault document, one line",
            "content": {"application/json": {"schema": ref("Fault")}},
        },
    }
    if schema is not None:
        answers[str(status)]["content"] = {"application/json": {"schema": ref(schema)}}
    return answers


def _param(name: str, where: str, schema: Schema, description: str = "") -> Schema:
    parameter: Schema = {"name": name, "in": where, "schema": schema}
    if where == "path":
        parameter["required"] = True
    if description:
        parameter["description"] = description
    return parameter


def _op(
    summary: str,
    status: int,
    schema: str | None,
    parameters: list[Schema] | None = None,
    request: Schema | None = None,
) -> Schema:
    operation: Schema = {"summary": summary, "responses": _answer(status, schema, summary)}
    if parameters:
        operation["parameters"] = parameters
    if request is not None:
        operation["requestBody"] = request
    return operation


def list_parameters(listing: q.Listing) -> list[Schema]:
    """The query parameters of a list endpoint: paging, ``fields``, its flags and its filters."""
    text: Schema = {"type": "string"}
    parameters = [
        _param(
            "limit",
            "query",
            _or_empty({"type": "integer", "minimum": 1, "maximum": MAX_INTEGER}),
            "page size",
        ),
        _param("marker", "query", text, "the id of the last item of the previous page"),
        _param("sort_keys", "query", text, f"comma list of: {', '.join(listing.columns)}"),
        _param("sort_dirs", "query", text, "comma list of asc, desc"),
        _param("fields", "query", text, f"comma list of: {', '.join(listing.fields)}"),
        _param("nulls", "query", text, "comma list of columns that must be null"),
    ]
    parameters += [_param(flag, "query", {"type": "boolean"}) for flag in sorted(listing.flags)]
    parameters += [_param(column, "query", text, _FILTER_HELP) for column in listing.columns]
    return parameters


def _path(*names: str) -> list[Schema]:
    return [_param(name, "path", {"type": "string"}) for name in names]


_NAMESPACE = _param("namespace", "query", {"type": "string"})
_UPLOAD = [_NAMESPACE, _param("scope", "query", SCOPE)]


def _or_empty(schema: Schema) -> Schema:
    """A query parameter that may also be empty, which means its default (the CLI sends ``a=``)."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


_TREE_FLAG = _or_empty({"type": "boolean"})
_TREE = [
    _param("errors_only", "query", _TREE_FLAG, "follow only tasks in ERROR"),
    _param(
        "max_depth", "query", _or_empty({"type": "integer", "maximum": MAX_INTEGER, "minimum": -MAX_INTEGER})
    ),
    _param("include_output", "query", _TREE_FLAG),
]


#: The form of a token request: an API key's name and secret (python-mistralclient's keycloak-oidc).
TOKEN_FORM: Schema = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["grant_type", "username", "password"],
                "properties": {
                    "grant_type": {"type": "string", "enum": ["password"]},
                    "username": {"type": "string", "minLength": 1, "description": "the key's name"},
                    "password": {"type": "string", "minLength": 1, "description": "the key's secret"},
                    "client_id": {"type": "string", "description": "not checked"},
                    "scope": {"type": "string", "description": "not checked"},
                },
            }
        }
    },
}


def _root_paths() -> dict[str, Schema]:
    token = _op(
        "An API key's name and secret for an access token (OAuth 2 password grant); 404 without keys",
        200,
        "AccessToken",
        _path("realm"),
        TOKEN_FORM,
    )
    metrics = _op("This process's metrics, in Prometheus' text format (docs/operations.md)", 200, None)
    metrics["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    return {
        "/": {"get": _op("The API versions", 200, "Versions")},
        "/metrics": {"get": metrics},
        "/v2": {"get": _op("The v2 root", 200, "V2Root")},
        "/v2/openapi.json": {"get": _op("This document", 200, "OpenApi")},
        "/realms/{realm}/protocol/openid-connect/token": {"post": token},
    }


def _definition_paths() -> dict[str, Schema]:
    wf_id, name, ns = _path("identifier"), _path("name"), _path("name", "namespace")
    return {
        "/v2/workflows": {
            "get": _op("List workflows", 200, "Workflows", list_parameters(workflows.LISTING)),
            "post": _links(
                _op("Create the workflows of a document", 201, "WrittenWorkflows", _UPLOAD, YAML_BODY),
                201,
                "/v2/workflows/{identifier}",
                "get delete",
                identifier="$response.body#/workflows/0/id",
            ),
            "put": _op("Update the workflows of a document", 200, "WrittenWorkflows", _UPLOAD, YAML_BODY),
        },
        "/v2/workflows/validate": {
            "post": _op("Validate a workflow document", 200, "Validation", None, VALIDATED_WORKFLOW),
        },
        "/v2/workflows/{identifier}": {
            "get": _op("One workflow, by id or name", 200, "Workflow", [*wf_id, _NAMESPACE]),
            "delete": _op("Delete a workflow", 204, None, [*wf_id, _NAMESPACE]),
        },
        "/v2/actions": {
            "get": _op("List actions (system and ad-hoc)", 200, "Actions", list_parameters(actions.LISTING)),
            "post": _links(
                _op("Create the ad-hoc actions of a YAML document", 201, "Actions", _UPLOAD, ACTION_BODY),
                201,
                "/v2/actions/{name}",
                "get put delete",
                name="$response.body#/actions/0/name",
            ),
            "put": _op("Update the ad-hoc actions of a YAML document", 200, "Actions", _UPLOAD, ACTION_BODY),
        },
        "/v2/actions/validate": {
            "post": _op("Validate an ad-hoc action document", 200, "Validation", None, VALIDATED_ACTION),
        },
        "/v2/actions/{name}": {
            "get": _op("One action", 200, "Action", [*name, _NAMESPACE]),
            "put": _op("Update an ad-hoc action", 200, "Actions", [*name, *_UPLOAD], ACTION_BODY),
            "delete": _op("Delete an ad-hoc action", 204, None, [*name, _NAMESPACE]),
        },
        "/v2/actions/{name}/{namespace}": {
            "get": _op("One action of a namespace", 200, "Action", ns),
            "delete": _op("Delete an ad-hoc action of a namespace", 204, None, ns),
        },
        "/v2/workbooks": {
            "get": _op("List workbooks", 200, "Workbooks", list_parameters(workbooks.LISTING)),
            "post": _links(
                _op("Create a workbook from a YAML document", 201, "Workbook", _UPLOAD, WORKBOOK_BODY),
                201,
                "/v2/workbooks/{name}",
                "get delete",
                name="$response.body#/name",
            ),
            "put": _op("Update a workbook from a YAML document", 200, "Workbook", _UPLOAD, WORKBOOK_BODY),
        },
        "/v2/workbooks/validate": {
            "post": _op("Validate a workbook document", 200, "Validation", None, VALIDATED_WORKBOOK),
        },
        "/v2/workbooks/{name}": {
            "get": _op("One workbook", 200, "Workbook", [*name, _NAMESPACE]),
            "delete": _op("Delete a workbook, its workflows and actions", 204, None, [*name, _NAMESPACE]),
        },
    }


def _execution_paths() -> dict[str, Schema]:
    ex, task = _path("ex_id"), _path("task_id")
    force = _param("force", "query", {"type": "boolean"}, "delete a running execution")
    return {
        "/v2/executions": {
            "get": _op("List executions", 200, "Executions", list_parameters(executions.LISTING)),
            "post": _links(
                _links(
                    _op("Start an execution", 201, "Execution", None, _json_body("ExecutionStart")),
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
            "get": _op("One execution", 200, "Execution", ex),
            "put": _op(
                "Pause, resume, stop; change description or env",
                200,
                "Execution",
                ex,
                _json_body("ExecutionUpdate"),
            ),
            "delete": _op("Delete an execution", 204, None, [*ex, force]),
        },
        "/v2/executions/{ex_id}/tasks": {
            "get": _op("The tasks of an execution", 200, "Tasks", [*ex, *list_parameters(tasks.LISTING)]),
        },
        "/v2/executions/{ex_id}/executions": {
            "get": _op("The execution and its sub-executions, depth first", 200, "Executions", [*ex, *_TREE]),
        },
        "/v2/tasks": {
            "get": _links(
                _op("List tasks", 200, "Tasks", list_parameters(tasks.LISTING)),
                200,
                "/v2/tasks/{task_id}",
                "get put",
                task_id="$response.body#/tasks/0/id",
            ),
        },
        "/v2/tasks/{task_id}": {
            "get": _op("One task", 200, "Task", task),
            "put": _op("Re-run or skip a task", 200, "Task", task, _json_body("TaskUpdate")),
        },
        "/v2/tasks/{task_id}/action_executions": {
            "get": _op(
                "The action executions of a task",
                200,
                "ActionExecutions",
                [*task, *list_parameters(action_executions.LISTING)],
            ),
        },
        "/v2/tasks/{task_id}/workflow_executions": {
            "get": _op(
                "The executions a task started",
                200,
                "Executions",
                [*task, *list_parameters(executions.LISTING)],
            ),
        },
        "/v2/tasks/{task_id}/executions": {
            "get": _op("The sub-executions of a task, depth first", 200, "Executions", [*task, *_TREE]),
        },
    }


def _action_execution_paths() -> dict[str, Schema]:
    action_ex = _path("action_ex_id")
    item = {
        "get": _op("One action execution, with its output", 200, "ActionExecution", action_ex),
        "put": _op(
            "Push an action's result, or pause/resume it",
            200,
            "ActionExecution",
            action_ex,
            _json_body("ActionResult"),
        ),
        "post": _op(
            "Push an action's result (as PUT)", 200, "ActionExecution", action_ex, _json_body("ActionResult")
        ),
    }
    heartbeat = {
        "post": _op(
            "A RUNNING async action's third party is alive: progress, deadline extension",
            200,
            "ActionExecution",
            action_ex,
            _json_body("Heartbeat"),
        ),
    }
    return {
        "/v2/action_executions/{action_ex_id}/heartbeat": heartbeat,
        "/v2/action-executions/{action_ex_id}/heartbeat": heartbeat,
        "/v2/action_executions": {
            "get": _op(
                "List action executions", 200, "ActionExecutions", list_parameters(action_executions.LISTING)
            ),
            "post": _op(
                "Run an action outside any workflow", 201, "ActionExecution", None, _json_body("RunAction")
            ),
        },
        "/v2/action_executions/{action_ex_id}": item,
        "/v2/action-executions/{action_ex_id}": item,
        "/v2/action_executions/{action_ex_id}/history": {
            "get": _op(
                "Every result push and state change asked of an action execution, accepted or not",
                200,
                "ActionHistory",
                action_ex,
            ),
        },
        "/v2/action_executions/{action_ex_id}/token": {
            "delete": _op("Revoke the callback token of an action execution", 204, None, action_ex),
        },
    }


def _settings_paths() -> dict[str, Schema]:
    trigger, env = _path("identifier"), _path("name")
    return {
        "/v2/cron_triggers": {
            "get": _op("List cron triggers", 200, "CronTriggers", list_parameters(cron_triggers.LISTING)),
            "post": _links(
                _op("Create a cron trigger", 201, "CronTrigger", None, _json_body("CronTriggerCreate")),
                201,
                "/v2/cron_triggers/{identifier}",
                "get delete",
                identifier="$response.body#/name",
            ),
        },
        "/v2/cron_triggers/{identifier}": {
            "get": _op("One cron trigger, by id or name", 200, "CronTrigger", trigger),
            "delete": _op("Delete a cron trigger", 204, None, trigger),
        },
        "/v2/environments": {
            "get": _op("List environments", 200, "Environments", list_parameters(environments.LISTING)),
            "post": _links(
                _op("Create an environment", 201, "Environment", None, _json_body("EnvironmentWrite")),
                201,
                "/v2/environments/{name}",
                "get delete",
                name="$response.body#/name",
            ),
            "put": _op(
                "Update the environment the body names",
                200,
                "Environment",
                None,
                _json_body("EnvironmentWrite"),
            ),
        },
        "/v2/environments/{name}": {
            "get": _op("One environment", 200, "Environment", env),
            "delete": _op("Delete an environment", 204, None, env),
        },
        "/v2/notifications": {
            "get": _op(
                "Deliveries of notifications that failed at least once (retrying, delivered late, given up)",
                200,
                "Notifications",
                list_parameters(notifications.LISTING),
            ),
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
        },
        "components": {"schemas": {**RECORDS, **BODIES}},
    }
