"""Named definitions in SQL: workflows, cron triggers, environments, workbooks, ad-hoc actions.

One generic implementation driven by the :class:`~.definitions.DefinitionKind`
of each kind; the public methods are the port's names for it. None of this is
on the hot path, but the statements are still prepared once per connection.

A create checks the name and the id before inserting, so that the usual
duplicate gets its own message; the unique index still decides a race between
two creators (the loser's integrity error becomes the same DuplicateError).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mistral_core.model import (
    ActionDefinition,
    CronTrigger,
    Environment,
    Query,
    Workbook,
    WorkflowDefinition,
)
from mistral_core.persistence.columns import Row
from mistral_core.persistence.definitions import (
    ACTION_KIND,
    CRON_TRIGGER_KIND,
    DEFINITION_KINDS,
    ENVIRONMENT_KIND,
    WORKBOOK_KIND,
    WORKFLOW_KIND,
    DefinitionKind,
)
from mistral_core.persistence.dialects import IntegrityFailure
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote, select_list


class SqlDefinitions(SqlBase):
    """The definition methods of :class:`~mistral_core.persistence.sql.SqlStore`."""

    def _statement_texts(self) -> dict[str, str]:
        sql = super()._statement_texts()
        for kind in DEFINITION_KINDS:
            table = quote(kind.table.name)
            by_name = " AND ".join(f"{quote(key)} = ?" for key in kind.keys)
            assignments = ", ".join(f"{quote(name)} = ?" for name in (*kind.replaced, "updated_at"))
            sql[f"by name {kind.table.name}"] = (
                f"SELECT {select_list(kind.table)} FROM {table} WHERE {by_name}"
            )
            sql[f"replace {kind.table.name}"] = f"UPDATE {table} SET {assignments} WHERE {by_name}"
        return sql

    # -- the generic operations ---------------------------------------------------------
    def _create_definition(self, kind: DefinitionKind, record: Any) -> None:
        table = kind.table.name
        row = self._codecs[table].insert_row(record, self._clock.now)
        with self._writing():
            if self._one(self._sql[f"by name {table}"], kind.key_of(record)) is not None:
                raise kind.duplicate(record)
            if self._one(self._sql[f"get {table}"], (record.id,)) is not None:
                raise kind.duplicate_id(record)
            try:
                self._execute(self._sql[f"insert {table}"], row)
            except IntegrityFailure as exc:
                raise kind.duplicate(record) from exc

    def _replace_definition(self, kind: DefinitionKind, record: Any) -> None:
        """Write every field but the id, the name and ``created_at`` of the record with that name."""
        table = kind.table.name
        _, values = self._codecs[table].update_values(record, kind.replaced, self._clock.now)
        with self._writing():
            if not self._write(self._sql[f"replace {table}"], (*values, *kind.key_of(record))):
                raise kind.not_found(*kind.key_of(record))

    def _definition_row(self, kind: DefinitionKind, identifier: str, namespace: str) -> Row:
        table = kind.table.name
        row = self._one(self._sql[f"get {table}"], (identifier,)) if kind.by_id else None
        if row is None:
            row = self._one(self._sql[f"by name {table}"], kind.key(identifier, namespace))
        if row is None:
            raise kind.not_found(identifier, namespace)
        return row

    def _get_definition(self, kind: DefinitionKind, identifier: str, namespace: str = "") -> Any:
        return self._codecs[kind.table.name].record(self._definition_row(kind, identifier, namespace))

    def _delete_definition(self, kind: DefinitionKind, identifier: str, namespace: str = "") -> None:
        with self.atomic():
            row = self._definition_row(kind, identifier, namespace)
            self._write(self._sql[f"delete {kind.table.name}"], (row[0],))

    # -- workflow definitions -----------------------------------------------------------
    def create_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Store a new definition.

        Raises:
            DuplicateError: a definition with that (name, namespace), or that id, exists.
        """
        self._create_definition(WORKFLOW_KIND, wf_def)

    def update_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Replace the definition with the same (name, namespace); its id and created_at stay.

        Raises:
            NotFoundError: no such definition.
        """
        self._replace_definition(WORKFLOW_KIND, wf_def)

    def get_workflow_definition(self, identifier: str, namespace: str = "") -> WorkflowDefinition:
        """The definition whose id, or else name (in ``namespace`` only), is ``identifier``.

        Raises:
            NotFoundError: no such definition.
        """
        wf_def: WorkflowDefinition = self._get_definition(WORKFLOW_KIND, identifier, namespace)
        return wf_def

    def delete_workflow_definition(self, identifier: str, namespace: str = "") -> None:
        """Delete by id or name; NotFoundError if none."""
        self._delete_definition(WORKFLOW_KIND, identifier, namespace)

    def list_workflow_definitions(self, query: Query) -> list[WorkflowDefinition]:
        """Definitions matching ``query``."""
        return self._list(WORKFLOW_KIND.table, query)

    # -- cron triggers ------------------------------------------------------------------
    def create_cron_trigger(self, trigger: CronTrigger) -> None:
        """Store a new trigger; DuplicateError if the name (or the id) exists."""
        self._create_definition(CRON_TRIGGER_KIND, trigger)

    def get_cron_trigger(self, identifier: str) -> CronTrigger:
        """By id or name; NotFoundError ``CronTrigger not found [identifier=...]``."""
        trigger: CronTrigger = self._get_definition(CRON_TRIGGER_KIND, identifier)
        return trigger

    def update_cron_trigger(self, trigger: CronTrigger, fields: Sequence[str]) -> None:
        """Write ``fields`` of the trigger (matched by id) and its ``updated_at``.

        Raises:
            NotFoundError: no trigger with that id.
            InputError: an unknown field name.
        """
        self._update_record(CRON_TRIGGER_KIND.table, trigger, fields)

    def delete_cron_trigger(self, identifier: str) -> None:
        """By id or name; NotFoundError if none."""
        self._delete_definition(CRON_TRIGGER_KIND, identifier)

    def list_cron_triggers(self, query: Query) -> list[CronTrigger]:
        """Triggers matching ``query``."""
        return self._list(CRON_TRIGGER_KIND.table, query)

    # -- environments -------------------------------------------------------------------
    def create_environment(self, env: Environment) -> None:
        """Store a new environment; DuplicateError if the name (or the id) exists."""
        self._create_definition(ENVIRONMENT_KIND, env)

    def update_environment(self, env: Environment) -> None:
        """Replace the environment with that name (its id and created_at stay); NotFoundError if none."""
        self._replace_definition(ENVIRONMENT_KIND, env)

    def get_environment(self, identifier: str) -> Environment:
        """By id or name; NotFoundError ``Environment not found [name=...]``."""
        env: Environment = self._get_definition(ENVIRONMENT_KIND, identifier)
        return env

    def delete_environment(self, identifier: str) -> None:
        """By id or name; NotFoundError if none."""
        self._delete_definition(ENVIRONMENT_KIND, identifier)

    def list_environments(self, query: Query) -> list[Environment]:
        """Environments matching ``query``."""
        return self._list(ENVIRONMENT_KIND.table, query)

    # -- workbooks ----------------------------------------------------------------------
    def create_workbook(self, workbook: Workbook) -> None:
        """Store a new workbook; DuplicateError if (name, namespace) (or the id) exists."""
        self._create_definition(WORKBOOK_KIND, workbook)

    def update_workbook(self, workbook: Workbook) -> None:
        """Replace the workbook with that (name, namespace); NotFoundError if none."""
        self._replace_definition(WORKBOOK_KIND, workbook)

    def get_workbook(self, name: str, namespace: str = "") -> Workbook:
        """By (name, namespace); NotFoundError ``Workbook not found [name=...]``."""
        workbook: Workbook = self._get_definition(WORKBOOK_KIND, name, namespace)
        return workbook

    def delete_workbook(self, name: str, namespace: str = "") -> None:
        """Delete the workbook row only (the engine deletes its workflows and actions)."""
        self._delete_definition(WORKBOOK_KIND, name, namespace)

    def list_workbooks(self, query: Query) -> list[Workbook]:
        """Workbooks matching ``query``."""
        return self._list(WORKBOOK_KIND.table, query)

    # -- ad-hoc actions -----------------------------------------------------------------
    def create_action_definition(self, action_def: ActionDefinition) -> None:
        """Store a new ad-hoc action; DuplicateError if (name, namespace) (or the id) exists."""
        self._create_definition(ACTION_KIND, action_def)

    def update_action_definition(self, action_def: ActionDefinition) -> None:
        """Replace the ad-hoc action with that (name, namespace); NotFoundError if none."""
        self._replace_definition(ACTION_KIND, action_def)

    def get_action_definition(self, identifier: str, namespace: str = "") -> ActionDefinition:
        """By id, or else name in ``namespace``; NotFoundError ``Action not found [name=...]``."""
        action_def: ActionDefinition = self._get_definition(ACTION_KIND, identifier, namespace)
        return action_def

    def delete_action_definition(self, identifier: str, namespace: str = "") -> None:
        """By id, or else name in ``namespace``; NotFoundError if none."""
        self._delete_definition(ACTION_KIND, identifier, namespace)

    def list_action_definitions(self, query: Query) -> list[ActionDefinition]:
        """Ad-hoc actions matching ``query``."""
        return self._list(ACTION_KIND.table, query)
