"""What the REST API needs from the engine, as a Protocol.

The API writes only through these methods and reads only through ``store`` (the
engine's :class:`~mistral_core.engine.ports.ExecutionStore`). The real
:class:`~mistral_core.engine.engine.Engine` satisfies it structurally; tests may
pass anything else that does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from mistral_core.api.serializers import ActionInfo
from mistral_core.engine.ports import ExecutionStore
from mistral_core.model import (
    ActionDefinition,
    ActionExecution,
    CronTrigger,
    Environment,
    State,
    TaskExecution,
    Workbook,
    WorkflowDefinition,
    WorkflowExecution,
)


class EngineFacade(Protocol):
    """The engine's operations used by the API (see ``mistral_core.engine.engine.Engine``)."""

    @property
    def store(self) -> ExecutionStore:
        """The store, for reads."""

    def create_workflows(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[WorkflowDefinition]:
        """Store every workflow of a document. Raises LanguageError, DuplicateError."""

    def update_workflows(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[WorkflowDefinition]:
        """Replace the workflows of a document. Raises LanguageError, NotFoundError."""

    def delete_workflow(self, identifier: str, namespace: str = "") -> None:
        """Delete a workflow by id or name. Raises NotFoundError."""

    def validate_workflows(self, text: str) -> object:
        """Check a document. Raises LanguageError."""

    def start_workflow(
        self,
        workflow_identifier: str,
        namespace: str = "",
        wf_input: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        description: str = "",
        ex_id: str | None = None,
    ) -> WorkflowExecution:
        """Start an execution. Raises NotFoundError, WorkflowInputError."""

    def update_execution(
        self,
        wf_ex_id: str,
        state: State | None = None,
        state_info: str | None = None,
        description: str | None = None,
        env: dict[str, Any] | None = None,
    ) -> WorkflowExecution:
        """Pause, resume, stop an execution; change its description or merge into its env.

        Raises NotFoundError, StateConflictError, InputError.
        """

    def rerun_task(
        self, task_ex_id: str, reset: bool = True, env: dict[str, Any] | None = None
    ) -> TaskExecution:
        """Run a failed task again and continue its workflow. Raises NotFoundError, StateConflictError."""

    def skip_task(self, task_ex_id: str) -> TaskExecution:
        """Skip a failed task; the workflow goes on. Raises NotFoundError, StateConflictError."""

    def complete_action(self, action_ex_id: str, state: State, output: Any) -> ActionExecution:
        """Deliver an action's result (SUCCESS/ERROR/CANCELLED). Raises NotFoundError, StateConflictError."""

    def run_action(
        self,
        name: str,
        action_input: dict[str, Any] | None = None,
        save_result: bool = False,
        run_sync: bool | None = None,
        description: str = "",
    ) -> ActionExecution:
        """Run an action outside any workflow. Raises ActionError, InputError."""

    def update_action_state(self, action_ex_id: str, state: State) -> ActionExecution:
        """Pause or resume an async action (PAUSED/RUNNING). Raises NotFoundError, StateConflictError."""

    def delete_workflow_execution(self, wf_ex_id: str, force: bool = False) -> None:
        """Delete an execution with its tasks and actions. Raises NotFoundError, StateConflictError."""

    def list_actions(self) -> Sequence[ActionInfo]:
        """Every registered action, sorted by name."""

    def create_cron_trigger(
        self,
        name: str,
        workflow: str,
        pattern: str | None = None,
        workflow_input: dict[str, Any] | None = None,
        workflow_params: dict[str, Any] | None = None,
        first_execution_time: dt.datetime | None = None,
        remaining_executions: int | None = None,
        namespace: str = "",
    ) -> CronTrigger:
        """Create a cron trigger. Raises InputError, NotFoundError (workflow), DuplicateError."""

    def delete_cron_trigger(self, identifier: str) -> None:
        """Delete a cron trigger by id or name. Raises NotFoundError."""

    def create_environment(
        self, name: str, variables: dict[str, Any], description: str = "", scope: str = "private"
    ) -> Environment:
        """Create an environment. Raises DuplicateError."""

    def update_environment(
        self,
        name: str,
        variables: dict[str, Any] | None = None,
        description: str | None = None,
        scope: str | None = None,
    ) -> Environment:
        """Change an environment (``None``: keep). Raises NotFoundError."""

    def delete_environment(self, name: str) -> None:
        """Delete an environment by name (or id). Raises NotFoundError."""

    def create_workbook(self, text: str, namespace: str = "", scope: str = "private") -> Workbook:
        """Store a workbook with its workflows and actions. Raises LanguageError, DuplicateError."""

    def update_workbook(self, text: str, namespace: str = "", scope: str = "private") -> Workbook:
        """Replace a workbook with its workflows and actions. Raises LanguageError, NotFoundError."""

    def delete_workbook(self, name: str, namespace: str = "") -> None:
        """Delete a workbook with its workflows and actions. Raises NotFoundError."""

    def validate_workbook(self, text: str) -> object:
        """Check a workbook document. Raises LanguageError."""

    def create_actions(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[ActionDefinition]:
        """Store every ad-hoc action of a document. Raises LanguageError, DuplicateError."""

    def update_actions(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[ActionDefinition]:
        """Replace the ad-hoc actions of a document. Raises LanguageError, NotFoundError."""

    def delete_action(self, identifier: str, namespace: str = "") -> None:
        """Delete an ad-hoc action by id or name. Raises NotFoundError."""

    def validate_actions(self, text: str) -> object:
        """Check an ad-hoc action document. Raises LanguageError."""
