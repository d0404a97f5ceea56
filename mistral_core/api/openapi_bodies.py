"""The request bodies of the OpenAPI document (``components.schemas``, beside the records).

Each is written with :func:`~mistral_core.api.openapi_schemas.body`: its required fields, an
example, and the type of each field.
"""

from __future__ import annotations

from mistral_core.api.openapi_schemas import (
    BOOLEAN,
    COUNT,
    NULLABLE_STRING,
    OBJECT_OR_TEXT,
    SCOPE,
    STRING,
    Schema,
    body,
)
from mistral_core.model.maintenance import REQUESTABLE
from mistral_core.model.members import MEMBER_STATUSES
from mistral_core.model.states import PUTTABLE_ACTION_STATES

SETTABLE_EXECUTION_STATES = ["RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED"]

BODIES: dict[str, Schema] = {
    "MaintenanceChange": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": list(REQUESTABLE)}},
        "example": {"status": "PAUSED"},
    },
    "ExecutionStart": body(
        [],
        {"workflow_name": "example_wait", "input": {"x": 2}, "description": "an example"},
        workflow_name=STRING,
        workflow_id=STRING,
        workflow_namespace=STRING,
        description=STRING,
        id={"type": "string", "description": "the id to give the execution (optional)"},
        input=OBJECT_OR_TEXT,
        params=OBJECT_OR_TEXT,
    ),
    "ExecutionUpdate": body(
        [],
        {"state": "PAUSED"},
        state={"type": "string", "enum": SETTABLE_EXECUTION_STATES},
        state_info=STRING,
        description=STRING,
        params=OBJECT_OR_TEXT,
    ),
    "TaskUpdate": body(
        ["state"],
        {"state": "RUNNING", "reset": True},
        state={"type": "string", "enum": ["RUNNING", "SKIPPED"]},
        reset=BOOLEAN,
        env=OBJECT_OR_TEXT,
        name=STRING,
        workflow_name=STRING,
    ),
    "ActionResult": body(
        ["state"],
        {"state": "SUCCESS", "output": {"answer": 42}},
        state={"type": "string", "enum": [state.value for state in PUTTABLE_ACTION_STATES]},
        output={"description": "any JSON value; a string holding a JSON object is taken as that object"},
    ),
    "Heartbeat": body(
        [],
        {"progress": {"percent": 40, "note": "copying", "details": {"files": 12}}, "extend_by": 3600},
        progress={
            "type": "object",
            "properties": {
                "percent": {"type": "number", "minimum": 0, "maximum": 100, "nullable": True},
                "note": {"type": "string", "maxLength": 1000, "nullable": True},
                "details": {"description": "any JSON value"},
            },
        },
        extend_by={"type": "number", "exclusiveMinimum": True, "minimum": 0, "description": "seconds"},
    ),
    "WaitBulk": {
        "type": "object",
        "required": ["op"],
        "additionalProperties": False,
        "example": {
            "op": "extend",
            "filter": {"name": "std.mistral_http", "stale_for": 3600},
            "extend_by": 600,
        },
        "properties": {
            "op": {"type": "string", "enum": ["complete", "fail", "cancel", "extend"]},
            "ids": {"type": "array", "items": STRING, "minItems": 1},
            "filter": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "name": NULLABLE_STRING,
                    "workflow_name": NULLABLE_STRING,
                    "older_than": {"type": "number", "minimum": 0, "nullable": True},
                    "deadline_before": NULLABLE_STRING,
                    "stale_for": {"type": "number", "minimum": 0, "nullable": True},
                },
            },
            "output": {"description": "complete, fail: the result (any JSON value)"},
            "extend_by": {
                "type": "number",
                "exclusiveMinimum": True,
                "minimum": 0,
                "nullable": True,
                "description": "seconds",
            },
            "dry_run": BOOLEAN,
        },
    },
    "RunAction": body(
        ["name"],
        {"name": "std.echo", "input": {"output": "hello"}},
        name=STRING,
        input=OBJECT_OR_TEXT,
        params=OBJECT_OR_TEXT,
        description=STRING,
    ),
    "EnvironmentWrite": body(
        ["name"],
        {"name": "example_env", "variables": {"a": 1}},
        name=STRING,
        description=STRING,
        variables=OBJECT_OR_TEXT,
        scope=SCOPE,
    ),
    "MemberCreate": body(
        ["member_id"],
        {"member_id": "another-project"},
        member_id={"type": "string", "minLength": 1, "maxLength": 255, "description": "a project id"},
    ),
    "MemberUpdate": body(
        ["status"],
        {"status": "accepted"},
        status={"type": "string", "enum": list(MEMBER_STATUSES)},
    ),
    "CronTriggerCreate": body(
        ["name"],
        {"name": "example_cron", "workflow_name": "example_wait", "pattern": "0 * * * *"},
        name=STRING,
        workflow_name=STRING,
        workflow_id=STRING,
        workflow_namespace=STRING,
        workflow_input=OBJECT_OR_TEXT,
        workflow_params=OBJECT_OR_TEXT,
        pattern={"type": "string", "description": "5 crontab fields: minute hour day month weekday"},
        first_execution_time={"type": "string", "description": "YYYY-MM-DD HH:MM (UTC)"},
        remaining_executions={**COUNT, "nullable": True},
    ),
    "DynamicActionWrite": body(
        [],
        {"name": "example_dynamic", "class_name": "Hello", "code_source_name": "example_module"},
        name=STRING,
        id=STRING,
        class_name=STRING,
        code_source_id=STRING,
        code_source_name=STRING,
        namespace=STRING,
    ),
    "EventTriggerCreate": body(
        ["exchange", "topic", "event", "workflow_id"],
        {
            "name": "on_create",
            "exchange": "nova",
            "topic": "notifications",
            "event": "compute.instance.create.end",
            "workflow_id": "example_wait",
        },
        name=STRING,
        workflow_id=STRING,
        exchange=STRING,
        topic=STRING,
        event=STRING,
        workflow_input=OBJECT_OR_TEXT,
        workflow_params=OBJECT_OR_TEXT,
    ),
    "EventTriggerUpdate": body(
        [],
        {"workflow_input": {"a": 1}},
        name=STRING,
        workflow_input=OBJECT_OR_TEXT,
        workflow_params=OBJECT_OR_TEXT,
        scope=SCOPE,
    ),
}
