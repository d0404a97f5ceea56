"""Named definitions in memory: workflows, cron triggers, environments, workbooks, ad-hoc actions.

The twin of :mod:`.sqldefinitions`, driven by the same
:class:`~.definitions.DefinitionKind` descriptions. A lookup by name scans the
kind's rows: definitions are few, and the scan keeps rollback trivial.
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
from mistral_core.persistence.definitions import (
    ACTION_KIND,
    CRON_TRIGGER_KIND,
    ENVIRONMENT_KIND,
    WORKBOOK_KIND,
    WORKFLOW_KIND,
    DefinitionKind,
)
from mistral_core.persistence.memorybase import ID, Entry, MemoryBase


class MemoryDefinitions(MemoryBase):
    """The definition methods of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    # -- the generic operations ---------------------------------------------------------
    def _find(self, kind: DefinitionKind, key: tuple[str, ...]) -> Entry | None:
        positions = [kind.table.index_of(column) for column in kind.keys]
        for entry in self._rows[kind.table.name].values():
            if tuple(entry[1][i] for i in positions) == key:
                return entry
        return None

    def _create_definition(self, kind: DefinitionKind, record: Any) -> None:
        row = self._codecs[kind.table.name].insert_row(record, self._clock.now)
        with self._lock:
            rows = self._rows[kind.table.name]
            if self._find(kind, kind.key_of(record)) is not None:
                raise kind.duplicate(record)
            if record.id in rows:
                raise kind.duplicate_id(record)
            self._put(rows, record.id, (next(self._seq), row))

    def _replace_definition(self, kind: DefinitionKind, record: Any) -> None:
        """Write every field but the id, the name and ``created_at`` of the record with that name."""
        codec = self._codecs[kind.table.name]
        names, values = codec.update_values(record, kind.replaced, self._clock.now)
        with self._lock:
            entry = self._find(kind, kind.key_of(record))
            if entry is None:
                raise kind.not_found(*kind.key_of(record))
            self._write(kind.table, entry, names, values)

    def _resolve(self, kind: DefinitionKind, identifier: str, namespace: str) -> Entry:
        entry = self._rows[kind.table.name].get(identifier) if kind.by_id else None
        if entry is None:
            entry = self._find(kind, kind.key(identifier, namespace))
        if entry is None:
            raise kind.not_found(identifier, namespace)
        return entry

    def _get_definition(self, kind: DefinitionKind, identifier: str, namespace: str = "") -> Any:
        with self._lock:
            entry = self._resolve(kind, identifier, namespace)
        return self._codecs[kind.table.name].record(entry[1])

    def _delete_definition(self, kind: DefinitionKind, identifier: str, namespace: str = "") -> None:
        with self._lock:
            entry = self._resolve(kind, identifier, namespace)
            self._pop(self._rows[kind.table.name], entry[1][ID])

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
