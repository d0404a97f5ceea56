"""Commands: what the engine decided must happen after its transaction commits."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class RunAction:
    """Run one action execution on an executor.

    Carries everything an executor needs, so that it never reads the database: for an
    asynchronous action, the secret of its callback token too (never shown by ``repr``).
    """

    action_execution_id: str
    action_name: str
    input: dict[str, Any]
    is_sync: bool
    workflow_name: str | None = None
    workflow_execution_id: str | None = None
    task_execution_id: str | None = None
    safe_rerun: bool = False
    target: str | None = None
    timeout: float | None = None
    callback_token: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class CancelAction:
    """Tell an async action that its work is no longer wanted (its ``cancel()``, if it has one)."""

    action_execution_id: str
    action_name: str
    input: dict[str, Any]
    workflow_execution_id: str | None = None
    task_execution_id: str | None = None
    workflow_name: str | None = None

    @classmethod
    def of(cls, action_ex: Any) -> CancelAction:
        """The cancel command of an action execution (an ad-hoc action's Python action is told)."""
        params = action_ex.params or {}
        return cls(
            action_ex.id,
            params.get("run_as", action_ex.name),
            params.get("run_input", action_ex.input),
            action_ex.workflow_execution_id,
            action_ex.task_execution_id,
            action_ex.workflow_name,
        )


Command = RunAction | CancelAction
