"""The ``components`` of the OpenAPI document: what each resource looks like on the wire, and
what each request body may hold. Hand-written data, kept true to ``api/serializers.py`` by the
schema checks of the schemathesis run and by the API tests.

Records list every field they may show and require only ``id``: ``fields=`` narrows a list's
items to any subset. Fields Mistral types as JSON (``input``, ``output``, ``params`` ...) are
JSON documents encoded as *strings*, as Mistral sends them.
"""

from __future__ import annotations

from typing import Any

from mistral_core.api.media import MAX_INTEGER
from mistral_core.model import State
from mistral_core.model.maintenance import MODES
from mistral_core.model.members import MEMBER_STATUSES
from mistral_core.model.notifications import DELIVERY_STATES, EVENTS

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": "string", "nullable": True}
TIME: Schema = {"type": "string", "nullable": True, "description": "YYYY-MM-DD HH:MM:SS (UTC)"}
JSON_TEXT: Schema = {"type": "string", "description": "a JSON document, as text"}
TAGS: Schema = {"type": "array", "items": STRING, "nullable": True}
STATE: Schema = {"type": "string", "enum": [state.value for state in State]}
BOOLEAN: Schema = {"type": "boolean"}
COUNT: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_INTEGER}
#: A free JSON object, or a string holding one (what the CLI sends).
OBJECT_OR_TEXT: Schema = {
    "oneOf": [{"type": "object"}, {"type": "string", "description": "a JSON object, as text"}],
}
SCOPE: Schema = {"type": "string", "enum": ["private", "public", ""], "description": "empty: private"}


def ref(name: str) -> Schema:
    """A reference to the schema ``name`` of the components."""
    return {"$ref": f"#/components/schemas/{name}"}


def record(**properties: Schema) -> Schema:
    """A resource's document: these fields and no others, only ``id`` required."""
    return {"type": "object", "required": ["id"], "additionalProperties": False, "properties": properties}


def page(key: str, item: str) -> Schema:
    """A list: ``{key: [items]}`` and, when the page is full, ``next`` (the URL of the next page)."""
    return {
        "type": "object",
        "required": [key],
        "additionalProperties": False,
        "properties": {"next": STRING, key: {"type": "array", "items": ref(item)}},
    }


def body(required: list[str], example: Schema, **properties: Schema) -> Schema:
    """A JSON request body: an object with these fields (others are ignored), and an example.

    A field not ``required`` may be null: the API takes null as "not given".
    """
    fields = {name: schema if name in required else _nullable(schema) for name, schema in properties.items()}
    schema: Schema = {"type": "object", "properties": fields, "example": example}
    if required:
        schema["required"] = required
    return schema


_DEFINITION = {
    "namespace": STRING,
    "definition": STRING,
    "tags": TAGS,
    "scope": STRING,
    "project_id": NULLABLE_STRING,
    "created_at": TIME,
    "updated_at": TIME,
}
_WORKFLOW = {
    "id": STRING,
    "name": STRING,
    "input": {"type": "string", "description": 'the declared input, as Mistral lists it: a, b="1"'},
    "interface": JSON_TEXT,
    "checksum": STRING,
    **_DEFINITION,
}
_EXECUTION = {
    "id": STRING,
    "workflow_id": STRING,
    "workflow_name": STRING,
    "workflow_namespace": STRING,
    "description": STRING,
    "tags": TAGS,
    "params": JSON_TEXT,
    "task_execution_id": NULLABLE_STRING,
    "root_execution_id": NULLABLE_STRING,
    "state": STATE,
    "state_info": NULLABLE_STRING,
    "input": JSON_TEXT,
    "output": JSON_TEXT,
    "created_at": TIME,
    "updated_at": TIME,
    "project_id": NULLABLE_STRING,
    "published_global": JSON_TEXT,
}
_TASK = {
    "id": STRING,
    "name": STRING,
    "type": STRING,
    "workflow_name": STRING,
    "workflow_namespace": STRING,
    "workflow_id": STRING,
    "workflow_execution_id": STRING,
    "tags": TAGS,
    "state": STATE,
    "state_info": NULLABLE_STRING,
    "project_id": NULLABLE_STRING,
    "runtime_context": JSON_TEXT,
    "result": JSON_TEXT,
    "published": JSON_TEXT,
    "processed": BOOLEAN,
    "created_at": TIME,
    "updated_at": TIME,
    "started_at": TIME,
    "finished_at": TIME,
}
_ACTION_EXECUTION = {
    "id": STRING,
    "workflow_name": NULLABLE_STRING,
    "workflow_namespace": NULLABLE_STRING,
    "task_name": NULLABLE_STRING,
    "task_execution_id": NULLABLE_STRING,
    "state": STATE,
    "state_info": NULLABLE_STRING,
    "tags": TAGS,
    "name": STRING,
    "description": NULLABLE_STRING,
    "project_id": NULLABLE_STRING,
    "accepted": BOOLEAN,
    "input": JSON_TEXT,
    "output": {**JSON_TEXT, "nullable": True},
    "created_at": TIME,
    "updated_at": TIME,
    "progress": {"type": "object", "nullable": True, "description": "what the last heartbeat said"},
    "last_heartbeat_at": {"type": "string", "nullable": True, "description": "ISO 8601, UTC"},
    "deadline": {"type": "string", "nullable": True, "description": "when the task's timeout ends the wait"},
    "links": {
        "type": "object",
        "description": "a waiting approval, to operators: the signed URL of its page",
        "properties": {"respond": STRING},
    },
}
_WAIT = {
    "id": STRING,
    "name": STRING,
    "workflow_name": NULLABLE_STRING,
    "workflow_execution_id": NULLABLE_STRING,
    "task_name": NULLABLE_STRING,
    "task_execution_id": NULLABLE_STRING,
    "state": STATE,
    "is_sync": BOOLEAN,
    "target": {**NULLABLE_STRING, "description": "the executors it is sent to (null: any)"},
    "dispatch": {"type": "string", "enum": ["QUEUED", "STARTED", "HANDED_OFF"]},
    "project_id": NULLABLE_STRING,
    "created_at": TIME,
    "deadline": _ACTION_EXECUTION["deadline"],
    "progress": _ACTION_EXECUTION["progress"],
    "last_heartbeat_at": _ACTION_EXECUTION["last_heartbeat_at"],
}
_ACTION = {
    "id": STRING,
    "name": STRING,
    "is_system": BOOLEAN,
    "input": {"type": "string", "description": "the parameters, as Mistral lists them: a, b=1"},
    "description": NULLABLE_STRING,
    "is_sync": {"type": "boolean", "nullable": True},
    **{**_DEFINITION, "definition": NULLABLE_STRING},
}
_WORKBOOK = {"id": STRING, "name": STRING, **_DEFINITION}
_CRON_TRIGGER = {
    "id": STRING,
    "name": STRING,
    "workflow_name": STRING,
    "workflow_id": STRING,
    "workflow_input": JSON_TEXT,
    "workflow_params": JSON_TEXT,
    "pattern": NULLABLE_STRING,
    "first_execution_time": TIME,
    "next_execution_time": TIME,
    "remaining_executions": {"type": "integer", "nullable": True},
    "scope": STRING,
    "project_id": NULLABLE_STRING,
    "created_at": TIME,
    "updated_at": TIME,
}
_ENVIRONMENT = {
    "id": STRING,
    "name": STRING,
    "description": NULLABLE_STRING,
    "variables": JSON_TEXT,
    "scope": STRING,
    "project_id": NULLABLE_STRING,
    "created_at": TIME,
    "updated_at": TIME,
}
_CODE_SOURCE = {
    "id": STRING,
    "name": {"type": "string", "description": "the module's name"},
    "namespace": STRING,
    "content": {"type": "string", "description": "the module's Python text"},
    "version": {"type": "integer", "minimum": 1, "description": "raised by each change of the text"},
    "project_id": NULLABLE_STRING,
    "scope": STRING,
    "created_at": TIME,
    "updated_at": TIME,
}
_DYNAMIC_ACTION = {
    "id": STRING,
    "name": STRING,
    "namespace": STRING,
    "code_source_id": STRING,
    "code_source_name": STRING,
    "class_name": STRING,
    "project_id": NULLABLE_STRING,
    "scope": STRING,
    "created_at": TIME,
    "updated_at": TIME,
}

_NOTIFICATION = {
    "id": {"type": "string", "description": "the delivery's id, sent as webhook-id in every try"},
    "workflow_execution_id": STRING,
    "event": {"type": "string", "enum": list(EVENTS)},
    "entity_id": {"type": "string", "description": "the workflow or task execution the event is about"},
    "entity_name": STRING,
    "publisher": {"type": "string", "description": "the publisher's type (webhook)"},
    "target": {"type": "string", "description": "where it goes (a URL without query or credentials)"},
    "state": {"type": "string", "enum": list(DELIVERY_STATES)},
    "attempts": {"type": "integer", "minimum": 1},
    "last_error": NULLABLE_STRING,
    "next_try_at": TIME,
    "project_id": NULLABLE_STRING,
    "created_at": TIME,
    "updated_at": TIME,
}
_EVENT_TRIGGER = {
    "id": STRING,
    "name": STRING,
    "workflow_id": STRING,
    "workflow_input": JSON_TEXT,
    "workflow_params": JSON_TEXT,
    "exchange": STRING,
    "topic": STRING,
    "event": {"type": "string", "description": "the notification's event_type"},
    "scope": STRING,
    "project_id": NULLABLE_STRING,
    "created_at": TIME,
    "updated_at": TIME,
}

_REPORT_ENTRY = {
    "id": STRING,
    "name": STRING,
    "created_at": TIME,
    "updated_at": TIME,
    "state": STATE,
    "state_info": NULLABLE_STRING,
}
_TASKS_COUNTED = ("total", "running", "success", "error", "idle", "paused")


def _report_entry(required: list[str], **properties: Schema) -> Schema:
    fields = {**_REPORT_ENTRY, **properties}
    return {
        "type": "object",
        "required": ["id", *required],
        "additionalProperties": False,
        "properties": fields,
    }


_REPORTS: dict[str, Schema] = {
    "ReportStatistics": {
        "type": "object",
        "additionalProperties": False,
        "required": [*(f"{state}_tasks_count" for state in _TASKS_COUNTED), "estimated_time"],
        "properties": {
            **{f"{state}_tasks_count": {"type": "integer", "minimum": 0} for state in _TASKS_COUNTED},
            "estimated_time": {
                "type": "integer",
                "minimum": -1,
                "description": "seconds left (a guess); 0: not RUNNING; -1: no past run to guess from",
            },
        },
    },
    "ReportWorkflowExecution": _report_entry(
        [],
        task_executions={
            "type": "array",
            "items": ref("ReportTaskExecution"),
            "description": "absent below max_depth",
        },
    ),
    "ReportTaskExecution": _report_entry(
        ["action_executions", "workflow_executions"],
        retry_count={"type": "integer", "minimum": 1, "description": "runs again by the retry policy"},
        action_executions={"type": "array", "items": ref("ReportActionExecution")},
        workflow_executions={"type": "array", "items": ref("ReportWorkflowExecution")},
    ),
    "ReportActionExecution": _report_entry(["accepted"], accepted=BOOLEAN, last_heartbeat=TIME),
    "ExecutionReport": {
        "type": "object",
        "required": ["statistics"],
        "additionalProperties": False,
        "properties": {
            "statistics": ref("ReportStatistics"),
            "root_workflow_execution": {
                **ref("ReportWorkflowExecution"),
                "description": "absent with statistics_only",
            },
        },
    },
}


_MEMBER = {
    "id": STRING,
    "resource_id": {"type": "string", "description": "the shared workflow's id"},
    "resource_type": {"type": "string", "enum": ["workflow"]},
    "project_id": {"type": "string", "description": "the workflow's project, which shared it"},
    "member_id": {"type": "string", "description": "the project it is shared with"},
    "status": {"type": "string", "enum": list(MEMBER_STATUSES)},
    "created_at": TIME,
    "updated_at": TIME,
}

RECORDS: dict[str, Schema] = {
    **_REPORTS,
    "Info": {"type": "object", "description": "what the deployment's setting info_file holds"},
    "Fault": {
        "type": "object",
        "required": ["faultcode", "faultstring"],
        "properties": {
            "faultcode": {"type": "string", "enum": ["Client", "Server"]},
            "faultstring": {"type": "string", "description": "one line"},
            "debuginfo": NULLABLE_STRING,
        },
    },
    "Versions": {
        "type": "object",
        "required": ["versions"],
        "properties": {"versions": {"type": "array", "items": {"type": "object"}}},
    },
    "V2Root": {"type": "object", "required": ["uri"], "properties": {"uri": STRING}},
    "AccessToken": {
        "type": "object",
        "required": ["access_token", "token_type"],
        "properties": {"access_token": STRING, "token_type": STRING, "scope": STRING},
    },
    "OpenApi": {"type": "object", "required": ["openapi", "paths"]},
    "Validation": {
        "type": "object",
        "required": ["valid"],
        "properties": {"valid": BOOLEAN, "error": STRING},
    },
    "Workflow": record(**_WORKFLOW),
    "WrittenWorkflow": record(**{**_WORKFLOW, "interface": {"type": "object"}}),
    "UpdatedWorkflow": {
        **record(**{**_WORKFLOW, "interface": {"type": "object"}}),
        "required": ["id", "name"],
    },
    "Execution": record(**_EXECUTION),
    "Task": record(**_TASK),
    "ActionExecution": record(**_ACTION_EXECUTION),
    "Action": record(**_ACTION),
    "Workbook": record(**_WORKBOOK),
    "CronTrigger": record(**_CRON_TRIGGER),
    "Environment": record(**_ENVIRONMENT),
    "Workflows": page("workflows", "Workflow"),
    "WrittenWorkflows": page("workflows", "WrittenWorkflow"),
    "Executions": page("executions", "Execution"),
    "Tasks": page("tasks", "Task"),
    "ActionExecutions": page("action_executions", "ActionExecution"),
    "Actions": page("actions", "Action"),
    "Workbooks": page("workbooks", "Workbook"),
    "CronTriggers": page("cron_triggers", "CronTrigger"),
    "EventTrigger": record(**_EVENT_TRIGGER),
    "EventTriggers": page("event_triggers", "EventTrigger"),
    "Environments": page("environments", "Environment"),
    "CodeSource": record(**_CODE_SOURCE),
    "CodeSources": page("code_sources", "CodeSource"),
    "DynamicAction": record(**_DYNAMIC_ACTION),
    "DynamicActions": page("dynamic_actions", "DynamicAction"),
    "Wait": record(**_WAIT),
    "Waits": page("waits", "Wait"),
    "WaitBulkResults": {
        "type": "object",
        "required": ["matched", "dry_run", "results"],
        "additionalProperties": False,
        "properties": {
            "matched": {"type": "integer", "description": "the waits named that exist (and are seen)"},
            "dry_run": BOOLEAN,
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "status", "reason"],
                    "additionalProperties": False,
                    "properties": {
                        "id": STRING,
                        "status": {"type": "integer", "description": "what a single request would answer"},
                        "reason": {**NULLABLE_STRING, "description": "why not (one line)"},
                    },
                },
            },
        },
    },
    "Notification": record(**_NOTIFICATION),
    "Maintenance": {
        "type": "object",
        "required": ["status"],
        "additionalProperties": False,
        "properties": {"status": {"type": "string", "enum": list(MODES)}},
    },
    "Notifications": page("notifications", "Notification"),
    "Member": record(**_MEMBER),
    "Members": {
        "type": "object",
        "required": ["members"],
        "additionalProperties": False,
        "properties": {"members": {"type": "array", "items": ref("Member")}},
    },
    "ActionHistory": {
        "type": "object",
        "required": ["history"],
        "additionalProperties": False,
        "properties": {
            "history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["at", "outcome", "state", "by"],
                    "additionalProperties": False,
                    "properties": {
                        "at": {"type": "string", "description": "YYYY-MM-DD HH:MM:SS.mmm (UTC)"},
                        "outcome": {
                            "type": "string",
                            "enum": [
                                "accepted",
                                "repeated",
                                "rejected",
                                "notified",
                                "notice-failed",
                                "extended",
                            ],
                        },
                        "reason": {**NULLABLE_STRING, "description": "why it was rejected"},
                        "state": {**NULLABLE_STRING, "description": "the state asked for"},
                        "by": {"type": "string", "description": "a key's name, OIDC subject, callback-token"},
                        "remote_addr": NULLABLE_STRING,
                    },
                },
            }
        },
    },
}


def _nullable(schema: Schema) -> Schema:
    if "oneOf" in schema:  # OpenAPI 3.0 takes nullable only beside a type: the object may be null
        first, *others = schema["oneOf"]
        return {**schema, "oneOf": [_nullable(first), *others]}
    if "type" not in schema:
        return schema
    nullable = {**schema, "nullable": True}
    if "enum" in schema:  # an enum lists its null too
        nullable["enum"] = [*schema["enum"], None]
    return nullable
