"""The schema this code expects, as peewee models built from the column specs.

Databases get their schema from the numbered steps of :mod:`.migrations`, never from these
models: they are the statement of what the steps must have made by the latest one, compared
with it by ``tests/contract/test_migrations.py`` (so a record field without its step fails
there). Every record table has ``seq``, an auto-increment key that orders rows created
in the same instant (or timers due in the same instant) by insertion; ``id`` is unique.
Queries are raw SQL; this module also holds the index predicates they must spell alike.
"""

from __future__ import annotations

from typing import Any

import peewee

from mistral_core.persistence.columns import (
    ACTION_DEFINITIONS,
    ACTION_EXECUTIONS,
    ACTION_HISTORY,
    ALL_TABLES,
    API_KEYS,
    APPROVAL_RESPONSES,
    CODE_SOURCES,
    CRON_TRIGGERS,
    DYNAMIC_ACTIONS,
    ENVIRONMENTS,
    EVENT_MESSAGES,
    EVENT_TRIGGERS,
    MAINTENANCE,
    MAINTENANCE_PAUSES,
    NOTIFICATION_DELIVERIES,
    RESOURCE_MEMBERS,
    SERVER_SECRETS,
    TASK_EXECUTIONS,
    TIMERS,
    WORKBOOKS,
    WORKFLOW_DEFINITIONS,
    WORKFLOW_EXECUTIONS,
    Column,
    Kind,
    TableSpec,
)

#: Secondary indexes: the default list order, the common filters, the child lookups.
INDEXES: dict[str, tuple[tuple[tuple[str, ...], bool], ...]] = {
    WORKFLOW_DEFINITIONS.name: ((("name", "namespace", "project_id"), True), (("created_at", "id"), False)),
    WORKFLOW_EXECUTIONS.name: (
        (("created_at", "id"), False),
        (("workflow_name",), False),
        (("state",), False),
        (("task_execution_id",), False),
    ),
    # No index on a task's state or workflow_name: a task changes state several times, and
    # each index costs every one of those writes; tasks are listed by execution.
    TASK_EXECUTIONS.name: (
        (("workflow_execution_id",), False),
        (("created_at", "id"), False),
    ),
    ACTION_EXECUTIONS.name: (
        (("task_execution_id",), False),
        (("created_at", "id"), False),
    ),
    # The scheduler reads only the due end of (due_at, seq): claiming and the next due time
    # cost a few index pages whatever the number of pending timers. seq breaks ties in
    # insertion order, in the index itself, so the claim needs no sort step.
    TIMERS.name: (
        (("due_at", "seq"), False),
        (("target_id",), False),
    ),
    # Definitions: the unique name (per project, as in Mistral), and the default list order.
    CRON_TRIGGERS.name: ((("name", "project_id"), True), (("created_at", "id"), False)),
    ENVIRONMENTS.name: ((("name", "project_id"), True), (("created_at", "id"), False)),
    WORKBOOKS.name: ((("name", "namespace", "project_id"), True), (("created_at", "id"), False)),
    ACTION_DEFINITIONS.name: ((("name", "namespace", "project_id"), True), (("created_at", "id"), False)),
    # A key is found by the hash of the secret a request presents (unique: one secret, one key).
    API_KEYS.name: ((("name",), True), (("secret_hash",), True), (("created_at", "id"), False)),
    # Failed notification deliveries are listed by execution (and deleted with it), newest last.
    NOTIFICATION_DELIVERIES.name: ((("workflow_execution_id",), False), (("created_at", "id"), False)),
    # One trigger per (exchange, topic, event, workflow) in a project, as Mistral's unique constraint.
    EVENT_TRIGGERS.name: (
        (("exchange", "topic", "event", "workflow_id", "project_id"), True),
        (("created_at", "id"), False),
    ),
    # A trigger's messages are deleted with it.
    EVENT_MESSAGES.name: ((("trigger_id",), False),),
    # An action execution's history is read (and counted) by its action execution, in order.
    ACTION_HISTORY.name: ((("action_execution_id", "seq"), False),),
    # One answer per responder and wait; the answers of a wait are read together.
    APPROVAL_RESPONSES.name: ((("action_execution_id", "responder"), True),),
    SERVER_SECRETS.name: (),
    # One membership per workflow and project; a workflow's members are listed together; what a
    # project was shared and accepted is read by its id (every lookup of a workflow it does not own).
    RESOURCE_MEMBERS.name: (
        (("resource_id", "resource_type", "member_id"), True),
        (("member_id", "status"), False),
    ),
    # The mode is one row; the paused executions are read in the order they were paused.
    MAINTENANCE.name: (),
    MAINTENANCE_PAUSES.name: (((("created_at", "id"), False),)),
    # Code sources and dynamic actions: the unique name per project (as in Mistral), the list order;
    # a code source's dynamic actions are found by its id (deleted with it).
    CODE_SOURCES.name: ((("name", "namespace", "project_id"), True), (("created_at", "id"), False)),
    DYNAMIC_ACTIONS.name: (
        (("name", "namespace", "project_id"), True),
        (("created_at", "id"), False),
        (("code_source_id",), False),
    ),
}

#: The predicate of the partial index of unfinished action executions. A query uses
#: that index only if it spells the same literals (bound parameters would not do).
UNFINISHED_ACTIONS = "\"state\" IN ('RUNNING', 'PAUSED')"

#: The predicate of the partial indexes of waits (``GET /v2/waits``): RUNNING action executions
#: that are asynchronous, or targeted and not started by an executor yet. Spelled as literals.
WAITS = '"state" = \'RUNNING\' AND ("is_sync" = FALSE OR ("dispatch" = 0 AND "target" IS NOT NULL))'

#: The partial indexes of waits: ``(name, columns)``; the inventory's order and filters.
WAIT_INDEXES = (
    ("waits", ("created_at", "id")),
    ("waits_name", ("name", "created_at", "id")),
    ("waits_workflow", ("workflow_name", "created_at", "id")),
    ("waits_deadline", ("deadline", "id")),
)

#: Action executions whose ``dispatch`` may still rise (spelled as literals, like the above).
DISPATCHABLE = "\"state\" IN ('RUNNING', 'PAUSED', 'IDLE')"

#: The predicate of the partial index of callback token hashes: synchronous actions (no token)
#: stay out of it. A lookup by hash (``= ?``) implies it, so it uses the index.
HAS_CALLBACK_TOKEN = '"callback_token_hash" IS NOT NULL'

#: Columns that point at the row of another table.
REFERENCES = {
    (TASK_EXECUTIONS.name, "workflow_execution_id"): WORKFLOW_EXECUTIONS.name,
    (ACTION_EXECUTIONS.name, "task_execution_id"): TASK_EXECUTIONS.name,
}

_TEXT_KINDS = (Kind.TEXT, Kind.STATE, Kind.JSON, Kind.TAGS, Kind.FLAGS)


def column_field(table: TableSpec, column: Column, collation: str | None) -> peewee.Field:
    """The peewee field of one column."""
    if column.name == "id":
        return peewee.TextField(unique=True, collation=collation)
    options: dict[str, Any] = {"null": column.name != "created_at"}
    target = REFERENCES.get((table.name, column.name))
    if target is not None:
        options["constraints"] = [peewee.SQL(f'REFERENCES "{target}" ("id")')]
    if column.kind in _TEXT_KINDS:
        return peewee.TextField(collation=collation, **options)
    if column.kind is Kind.BOOL:
        return peewee.BooleanField(**options)
    if column.kind is Kind.INT:
        return peewee.IntegerField(**options)
    return peewee.DateTimeField(**options)


def _model(database: peewee.Database, name: str, fields: dict[str, Any], indexes: Any) -> type[peewee.Model]:
    meta = type("Meta", (), {"database": database, "table_name": name, "indexes": indexes})
    model: type[peewee.Model] = type(name, (peewee.Model,), {**fields, "Meta": meta})
    return model


def build_models(database: peewee.Database, collation: str | None) -> list[type[peewee.Model]]:
    """Every table's model bound to ``database``, in creation order (referenced tables first):
    the schema the latest step of :mod:`.migrations` makes.

    Args:
        database: the database the models belong to.
        collation: the collation of text columns (``'"C"'`` on PostgreSQL, so text
            sorts by code point as on SQLite and in memory), or ``None``.
    """
    history = {
        "version": peewee.IntegerField(primary_key=True),
        "description": peewee.TextField(null=True, collation=collation),
        "applied_at": peewee.DateTimeField(null=True),
    }
    models = [
        _model(database, "schema_version", history, ()),
        _model(
            database,
            "specs",
            {"checksum": peewee.TextField(primary_key=True, collation=collation), "spec": peewee.TextField()},
            (),
        ),
    ]
    models.append(
        _model(
            database,
            "counters",
            {
                "name": peewee.TextField(primary_key=True, collation=collation),
                "value": peewee.BigIntegerField(),
            },
            (),
        )
    )
    for table in (*ALL_TABLES, ACTION_HISTORY):
        fields: dict[str, Any] = {"seq": peewee.BigAutoField()}
        fields.update({c.name: column_field(table, c, collation) for c in table.columns})
        models.append(_model(database, table.name, fields, INDEXES[table.name]))
    # Partial: finished actions (nearly all of them) stay out, so the index stays tiny and hot.
    actions = next(model for model in models if model._meta.table_name == ACTION_EXECUTIONS.name)
    actions.add_index(
        actions._meta.fields["state"],
        where=peewee.SQL(UNFINISHED_ACTIONS),
        name=f"{ACTION_EXECUTIONS.name}_unfinished",
    )
    # Unique: a callback token finds exactly one action execution.
    actions.add_index(
        actions._meta.fields["callback_token_hash"],
        unique=True,
        where=peewee.SQL(HAS_CALLBACK_TOKEN),
        name=f"{ACTION_EXECUTIONS.name}_callback_token",
    )
    postgresql = isinstance(database, peewee.PostgresqlDatabase)
    for name, columns in WAIT_INDEXES:
        # PostgreSQL puts NULL last in an ascending index; the store sorts it first (as SQLite does).
        actions.add_index(
            *(
                peewee.SQL('"deadline" NULLS FIRST')
                if postgresql and column == "deadline"
                else actions._meta.fields[column]
                for column in columns
            ),
            where=peewee.SQL(WAITS),
            name=f"{ACTION_EXECUTIONS.name}_{name}",
        )
    return models
