"""Step 1: the schema of mistral-core 0.1.0, spelled out (0.1.0's databases have it already).

Every record table has ``seq`` (an auto-increment key that orders rows created in the same
instant), ``id`` (unique), the record's columns, and ``created_at`` (never null). Columns
are text unless marked ``:time``, ``:int`` or ``:bool``. Frozen: see the package docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import Index, MigrationContext

VERSION = 1
DESCRIPTION = "the tables and indexes of mistral-core 0.1.0"

_TABLES = {
    "workflow_definitions": "name definition spec checksum namespace tags scope project_id "
    "created_at updated_at:time",
    "workflow_executions": "workflow_id workflow_name spec_checksum state workflow_namespace description "
    "tags params input output context state_info task_execution_id root_execution_id project_id "
    "created_at updated_at:time version:int",
    "task_executions": "workflow_execution_id name state workflow_name workflow_id workflow_namespace "
    "type state_info in_context published result runtime_context processed:bool tags project_id "
    "created_at updated_at:time started_at:time finished_at:time",
    "action_executions": "name state task_execution_id workflow_execution_id workflow_name "
    "workflow_namespace task_name is_sync:bool accepted:bool input output state_info description "
    "tags params dispatch:int project_id created_at updated_at:time runner_id",
    "timers": "due_at:time kind target_id workflow_execution_id payload claimed_by claimed_until:time "
    "created_at",
    "cron_triggers": "name workflow_name workflow_id pattern next_execution_time:time workflow_input "
    "workflow_params first_execution_time:time remaining_executions:int scope project_id "
    "created_at updated_at:time",
    "environments": "name variables description scope project_id created_at updated_at:time",
    "workbooks": "name definition namespace tags scope project_id created_at updated_at:time",
    "action_definitions": "name definition spec namespace input description tags workbook_name scope "
    "project_id created_at updated_at:time",
}

_REFERENCES = {
    ("task_executions", "workflow_execution_id"): "workflow_executions",
    ("action_executions", "task_execution_id"): "task_executions",
}

_NAMED: tuple[Index, ...] = ((("name", "namespace"), True), (("created_at", "id"), False))
_INDEXES: dict[str, tuple[Index, ...]] = {
    "workflow_definitions": _NAMED,
    "workflow_executions": (
        (("created_at", "id"), False),
        (("workflow_name",), False),
        (("state",), False),
        (("task_execution_id",), False),
    ),
    "task_executions": ((("workflow_execution_id",), False), (("created_at", "id"), False)),
    "action_executions": ((("task_execution_id",), False), (("created_at", "id"), False)),
    "timers": ((("due_at", "seq"), False), (("target_id",), False)),
    "cron_triggers": ((("name",), True), (("created_at", "id"), False)),
    "environments": ((("name",), True), (("created_at", "id"), False)),
    "workbooks": _NAMED,
    "action_definitions": _NAMED,
}

#: Unfinished action executions only: the index stays tiny however many actions finished.
_UNFINISHED = ("action_executions_unfinished", "state", "\"state\" IN ('RUNNING', 'PAUSED')")


def _field(ctx: MigrationContext, table: str, spec: str) -> tuple[str, peewee.Field]:
    name, _, kind = spec.partition(":")
    if name == "created_at":
        return name, peewee.DateTimeField()
    if kind == "time":
        return name, peewee.DateTimeField(null=True)
    if kind == "int":
        return name, peewee.IntegerField(null=True)
    if kind == "bool":
        return name, peewee.BooleanField(null=True)
    target = _REFERENCES.get((table, name))
    constraints = [peewee.SQL(f'REFERENCES "{target}" ("id")')] if target else None
    return name, ctx.text(null=True, constraints=constraints)


def apply(ctx: MigrationContext) -> None:
    """Create the tables of 0.1.0, referenced tables first."""
    ctx.create_table("schema_version", {"version": peewee.IntegerField(primary_key=True)})
    ctx.create_table("specs", {"checksum": ctx.text(primary_key=True), "spec": peewee.TextField()})
    for table, columns in _TABLES.items():
        fields: dict[str, peewee.Field] = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True)}
        fields.update(_field(ctx, table, spec) for spec in columns.split())
        partial = (_UNFINISHED,) if table == "action_executions" else ()
        ctx.create_table(table, fields, _INDEXES[table], partial)
