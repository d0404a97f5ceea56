"""Intents: what the conductor needs done to *another* workflow execution in the same transaction.

The conductor decides about one execution at a time and never reaches another
one; when its decision concerns a parent or a child (start a sub-workflow, tell
a parent its child ended, pass a pause, resume or cancel down), it leaves an
intent in :attr:`ExecutionState.intents`. The unit of work applies them, locking
each execution concerned once, until none is left.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mistral_core.model import State


@dataclasses.dataclass(frozen=True, slots=True)
class StartChild:
    """Start sub-workflow ``workflow`` for task ``task_id`` (one item of it if ``index`` is set)."""

    task_id: str
    child_id: str
    workflow: str
    given: Mapping[str, Any]
    index: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ChildEnded:
    """A sub-workflow of task ``task_id`` ended: its parent's task takes the outcome."""

    task_id: str
    state: State
    output: Any
    info: str | None
    index: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PauseChild:
    """Pause the sub-workflow ``child_id``."""

    child_id: str
    info: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ResumeChild:
    """Resume the sub-workflow ``child_id``."""

    child_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class CancelChild:
    """Cancel the sub-workflow ``child_id``."""

    child_id: str
    info: str | None = None


Intent = StartChild | ChildEnded | PauseChild | ResumeChild | CancelChild
