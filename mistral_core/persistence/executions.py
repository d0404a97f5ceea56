"""The store's reads of executions by id and by query, the same over every backend.

A backend provides ``_get(table, id)`` and ``_list(table, query)``; this class names them
per table, as the port spells them. Put it last among a store's bases.
"""

from __future__ import annotations

from typing import Any

from mistral_core.model import ActionExecution, Query, TaskExecution, WorkflowExecution
from mistral_core.persistence.columns import (
    ACTION_EXECUTIONS,
    TASK_EXECUTIONS,
    WORKFLOW_EXECUTIONS,
    TableSpec,
)


class ExecutionReads:
    """``get_*_execution`` and ``list_*_executions`` over a backend's ``_get`` and ``_list``."""

    def _get(self, table: TableSpec, record_id: str) -> Any:
        raise NotImplementedError

    def _list(self, table: TableSpec, query: Query) -> list[Any]:
        raise NotImplementedError

    def get_workflow_execution(self, wf_ex_id: str) -> WorkflowExecution:
        """One workflow execution; NotFoundError if none."""
        record: WorkflowExecution = self._get(WORKFLOW_EXECUTIONS, wf_ex_id)
        return record

    def get_task_execution(self, task_ex_id: str) -> TaskExecution:
        """One task execution; NotFoundError if none."""
        record: TaskExecution = self._get(TASK_EXECUTIONS, task_ex_id)
        return record

    def get_action_execution(self, action_ex_id: str) -> ActionExecution:
        """One action execution; NotFoundError if none."""
        record: ActionExecution = self._get(ACTION_EXECUTIONS, action_ex_id)
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
