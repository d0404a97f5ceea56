"""The parts the OpenAPI document is written with: parameters, bodies, answers and operations.

:mod:`~mistral_core.api.openapi` writes one entry per route with these.
"""

from __future__ import annotations

import re
from typing import Any

from mistral_core.api import querying as q
from mistral_core.api.media import MAX_INTEGER
from mistral_core.api.openapi_schemas import SCOPE, Schema, ref

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
FILTER_HELP = (
    "a filter: the value, or op:value with op one of eq, neq, gt, gte, lt, lte, in, nin (comma lists), has"
)


def json_body(name: str) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": ref(name)}}}


def yaml_body(example: str, required: bool = True) -> Schema:
    schema = {"type": "string", "description": "a YAML document"}
    return {"required": required, "content": {"text/plain": {"schema": schema, "example": example}}}


def links(operation: Schema, status: int, target: str, methods: str, **parameters: str) -> Schema:
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


YAML_BODY = yaml_body(WORKFLOW_EXAMPLE)
ACTION_BODY = yaml_body(ACTION_EXAMPLE)
WORKBOOK_BODY = yaml_body(WORKBOOK_EXAMPLE)
#: What a validate endpoint checks: no body is a document that is not valid (200, valid false).
VALIDATED_WORKFLOW, VALIDATED_ACTION, VALIDATED_WORKBOOK = (
    yaml_body(example, required=False) for example in (WORKFLOW_EXAMPLE, ACTION_EXAMPLE, WORKBOOK_EXAMPLE)
)


def answer(status: int, schema: str | None, description: str) -> dict[str, Any]:
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


def param(name: str, where: str, schema: Schema, description: str = "") -> Schema:
    parameter: Schema = {"name": name, "in": where, "schema": schema}
    if where == "path":
        parameter["required"] = True
    if description:
        parameter["description"] = description
    return parameter


def op(
    summary: str,
    status: int,
    schema: str | None,
    parameters: list[Schema] | None = None,
    request: Schema | None = None,
) -> Schema:
    operation: Schema = {"summary": summary, "responses": answer(status, schema, summary)}
    if parameters:
        operation["parameters"] = parameters
    if request is not None:
        operation["requestBody"] = request
    return operation


def list_parameters(listing: q.Listing) -> list[Schema]:
    """The query parameters of a list endpoint: paging, ``fields``, its flags and its filters."""
    text: Schema = {"type": "string"}
    parameters = [
        param(
            "limit",
            "query",
            or_empty({"type": "integer", "minimum": 1, "maximum": MAX_INTEGER}),
            "page size",
        ),
        param("marker", "query", text, "the id of the last item of the previous page"),
        param("sort_keys", "query", text, f"comma list of: {', '.join(listing.columns)}"),
        param("sort_dirs", "query", text, "comma list of asc, desc"),
        param("fields", "query", text, f"comma list of: {', '.join(listing.fields)}"),
        param("nulls", "query", text, "comma list of columns that must be null"),
    ]
    parameters += [param(flag, "query", {"type": "boolean"}) for flag in sorted(listing.flags)]
    parameters += [param(column, "query", text, FILTER_HELP) for column in listing.columns]
    return parameters


def path_params(*names: str) -> list[Schema]:
    return [param(name, "path", {"type": "string"}) for name in names]


NAMESPACE = param("namespace", "query", {"type": "string"})
UPLOAD = [NAMESPACE, param("scope", "query", SCOPE)]


def or_empty(schema: Schema) -> Schema:
    """A query parameter that may also be empty, which means its default (the CLI sends ``a=``)."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


TREE_FLAG = or_empty({"type": "boolean"})
TREE_DEPTH = param(
    "max_depth", "query", or_empty({"type": "integer", "maximum": MAX_INTEGER, "minimum": -MAX_INTEGER})
)
TREE = [
    param("errors_only", "query", TREE_FLAG, "follow only tasks in ERROR"),
    TREE_DEPTH,
    param("include_output", "query", TREE_FLAG),
]
REPORT = [
    param("errors_only", "query", TREE_FLAG, "only tasks in ERROR"),
    TREE_DEPTH,
    param("statistics_only", "query", TREE_FLAG, "the statistics without the tree"),
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
