"""Lifecycle hooks (pluggy). Each is called after the transaction that made it true committed.

Implementations are found through the entry-point group ``mistral_core.hooks``
(or registered on the manager). Their failures are logged and swallowed: an
observer can never change or break an execution.
"""

from __future__ import annotations

import pluggy

from mistral_core.model import ActionExecution, TaskExecution, WorkflowExecution

PROJECT = "mistral_core"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def mistral_workflow_execution_started(wf_ex: WorkflowExecution) -> None:
    """A workflow execution was created and started."""


@hookspec
def mistral_workflow_execution_completed(wf_ex: WorkflowExecution) -> None:
    """A workflow execution reached SUCCESS, ERROR or CANCELLED."""


@hookspec
def mistral_task_execution_completed(task_ex: TaskExecution) -> None:
    """A task execution reached SUCCESS, ERROR, CANCELLED or SKIPPED."""


@hookspec
def mistral_action_execution_completed(action_ex: ActionExecution) -> None:
    """An action execution got its result (from an executor or pushed over the API)."""


@hookspec
def mistral_action_result_rejected(action_ex: ActionExecution, state: str, reason: str) -> None:
    """A result pushed for an action execution was refused (it had finished already)."""
