"""What the REST API needs from the engine, as a Protocol.

The API writes only through these methods and reads only through ``store`` (the
engine's :class:`~mistral_core.engine.ports.ExecutionStore`). The real
:class:`~mistral_core.engine.engine.Engine` satisfies it structurally; tests may
pass anything else that does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mistral_core.api.serializers import ActionInfo
from mistral_core.engine.ports import ExecutionStore
from mistral_core.model import ActionExecution, State, WorkflowDefinition, WorkflowExecution


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

    def complete_action(self, action_ex_id: str, state: State, output: Any) -> ActionExecution:
        """Deliver an action's result (SUCCESS/ERROR/CANCELLED). Raises NotFoundError, StateConflictError."""

    def update_action_state(self, action_ex_id: str, state: State) -> ActionExecution:
        """Pause or resume an async action (PAUSED/RUNNING). Raises NotFoundError, StateConflictError."""

    def delete_workflow_execution(self, wf_ex_id: str, force: bool = False) -> None:
        """Delete an execution with its tasks and actions. Raises NotFoundError, StateConflictError."""

    def list_actions(self) -> Sequence[ActionInfo]:
        """Every registered action, sorted by name."""
