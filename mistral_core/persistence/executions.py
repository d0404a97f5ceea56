"""The store's reads of executions by id and by query, the same over every backend.

A backend provides ``_get(table, id)`` and ``_list(table, query)``; this class names them
per table, as the port spells them, each read for a viewer (executions are never public: a
viewer sees its own project's, or all with ``all_projects``). Put it last among a store's bases.
"""

from __future__ import annotations

from typing import Any

from mistral_core.model import EVERY_PROJECT, ActionExecution, Query, TaskExecution, Viewer, WorkflowExecution
from mistral_core.persistence.columns import (
    ACTION_EXECUTIONS,
    TASK_EXECUTIONS,
    WORKFLOW_EXECUTIONS,
    TableSpec,
    not_found,
)


class ExecutionReads:
    """``get_*_execution`` and ``list_*_executions`` over a backend's ``_get`` and ``_list``.

    A record of a project the viewer does not see is not found, with the message of an unknown id.
    """

    def _get(self, table: TableSpec, record_id: str) -> Any:
        raise NotImplementedError

    def _list(self, table: TableSpec, query: Query) -> list[Any]:
        raise NotImplementedError

    def _seen(self, table: TableSpec, record_id: str, viewer: Viewer) -> Any:
        record = self._get(table, record_id)
        if not viewer.all_projects and record.project_id != viewer.project:
            raise not_found(table, record_id)
        return record

    def get_workflow_execution(self, wf_ex_id: str, viewer: Viewer = EVERY_PROJECT) -> WorkflowExecution:
        """One workflow execution; NotFoundError if none (that ``viewer`` sees)."""
        record: WorkflowExecution = self._seen(WORKFLOW_EXECUTIONS, wf_ex_id, viewer)
        return record

    def get_task_execution(self, task_ex_id: str, viewer: Viewer = EVERY_PROJECT) -> TaskExecution:
        """One task execution; NotFoundError if none (that ``viewer`` sees)."""
        record: TaskExecution = self._seen(TASK_EXECUTIONS, task_ex_id, viewer)
        return record

    def get_action_execution(self, action_ex_id: str, viewer: Viewer = EVERY_PROJECT) -> ActionExecution:
        """One action execution; NotFoundError if none (that ``viewer`` sees)."""
        record: ActionExecution = self._seen(ACTION_EXECUTIONS, action_ex_id, viewer)
        return record

    def list_workflow_executions(self, query: Query) -> list[WorkflowExecution]:
        """Workflow executions matching ``query``."""
        return self._list(WORKFLOW_EXECUTIONS, query)

    def list_task_executions(self, query: Query) -> list[TaskExecution]:
        """Task executions matching ``query``."""
        return self._list(TASK_EXECUTIONS, query)

    def list_action_executions(self, query: Query) -> list[ActionExecution]:
        """Action executions matching ``query``."""
        return self._list(ACTION_EXECUTIONS, query)
