"""Heartbeats of asynchronous actions, pushed by the third party that does the work.

``POST /v2/action_executions/<id>/heartbeat`` with ``{"progress": {"percent": 0-100, "note":
"text", "details": <any JSON>}, "extend_by": seconds}`` (every field optional), on a RUNNING
async action execution: its progress and ``last_heartbeat_at`` are recorded, its
``heartbeat-timeout`` window starts again, and ``extend_by`` moves its task's ``timeout``
deadline (at most ``max_extend_by`` seconds at a time). Anything else is a 409 naming the state.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from mistral_core.errors import InputError, StateConflictError
from mistral_core.model import ActionExecution, State
from mistral_core.services.unit_of_work import Parts, Transactions, Work

#: The longest note of a heartbeat's progress, in characters.
MAX_NOTE_CHARS = 1000
#: The largest progress one heartbeat may record (bytes of JSON): heartbeats are frequent.
MAX_PROGRESS_BYTES = 65536


@dataclasses.dataclass(frozen=True, slots=True)
class Heartbeat:
    """One checked heartbeat: the progress to record (None: unchanged) and the seconds to extend by."""

    progress: dict[str, Any] | None = None
    extend_by: float | None = None


class Heartbeats:
    """Records heartbeats.

    Args:
        transactions: runs the work.
        parts: the shared parts.
        max_extend_by: the most seconds one heartbeat may move a deadline by.
    """

    def __init__(self, transactions: Transactions, parts: Parts, max_extend_by: float) -> None:
        self._tx = transactions
        self._parts = parts
        self.max_extend_by = max_extend_by

    def check(self, body: Any) -> Heartbeat:
        """The heartbeat a request body asks for.

        Raises:
            InputError: not an object, a progress or ``extend_by`` out of bounds (other fields are
                ignored, as in every body of the API).
        """
        if not isinstance(body, dict):
            raise InputError('A heartbeat is a JSON object: {"progress": {...}, "extend_by": seconds}')
        return Heartbeat(self._progress(body.get("progress")), self._extend_by(body.get("extend_by")))

    def _progress(self, progress: Any) -> dict[str, Any] | None:
        if progress is None:
            return None
        if not isinstance(progress, dict) or set(progress) - {"percent", "note", "details"}:
            raise InputError(
                "'progress' is an object with 'percent' (0-100), 'note' (text), 'details' (any JSON)"
            )
        percent = progress.get("percent")
        if percent is not None and (
            isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100
        ):
            raise InputError(f"'progress.percent' must be a number from 0 to 100, not {percent!r}")
        note = progress.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_CHARS):
            raise InputError(f"'progress.note' must be text of at most {MAX_NOTE_CHARS} characters")
        too_big = self._parts.limits.oversized(progress, "'progress'")
        if too_big is not None:
            raise InputError(too_big)
        if len(json.dumps(progress, ensure_ascii=False).encode()) > MAX_PROGRESS_BYTES:
            raise InputError(f"'progress' must be at most {MAX_PROGRESS_BYTES} bytes of JSON")
        return dict(progress)

    def _extend_by(self, extend_by: Any) -> float | None:
        if extend_by is None:
            return None
        if (
            isinstance(extend_by, bool)
            or not isinstance(extend_by, int | float)
            or not math.isfinite(extend_by)
        ):
            raise InputError(f"'extend_by' must be a number of seconds, not {extend_by!r}")
        if not 0 < extend_by <= self.max_extend_by:
            raise InputError(
                f"'extend_by' must be above 0 and at most {self.max_extend_by:g} seconds "
                "(setting max_extend_by)"
            )
        return float(extend_by)

    def beat(self, action_ex_id: str, heartbeat: Heartbeat) -> ActionExecution:
        """Record a heartbeat of a RUNNING async action execution; the action execution as it is now.

        Raises:
            NotFoundError: no such action execution.
            StateConflictError: it is not a RUNNING async action execution; ``extend_by`` for a
                task without a ``timeout``.
        """
        return self._tx.run(lambda work: self._beat(work, action_ex_id, heartbeat))

    def _beat(self, work: Work, action_ex_id: str, heartbeat: Heartbeat) -> ActionExecution:
        action_ex = work.store.get_action_execution(action_ex_id)
        st = work.state(action_ex.workflow_execution_id) if action_ex.workflow_execution_id else None
        if st is not None:
            action_ex = work.action(st, action_ex_id)
        if action_ex.state is not State.RUNNING or action_ex.is_sync:
            kind = "synchronous" if action_ex.is_sync else action_ex.state.value
            raise StateConflictError(
                f"Action execution {action_ex_id} is {kind}: only a RUNNING asynchronous action "
                "execution takes heartbeats",
                action_ex.state.value,
            )
        if st is None or action_ex.task_execution_id not in st.tasks:
            return self._beat_alone(action_ex, heartbeat)
        if heartbeat.extend_by:
            work.actions_of(st, action_ex.task_execution_id)
        return self._parts.conductor.on_heartbeat(st, action_ex, heartbeat.progress, heartbeat.extend_by)

    def _beat_alone(self, action_ex: ActionExecution, heartbeat: Heartbeat) -> ActionExecution:
        """An action run outside any workflow: no timers; only its own row changes."""
        if heartbeat.extend_by:
            raise StateConflictError(
                f"Action execution {action_ex.id} belongs to no task: there is no deadline to extend",
                action_ex.state.value,
            )
        now = self._parts.clock.now()
        fields: dict[str, Any] = {"last_heartbeat_at": now, "updated_at": now}
        if heartbeat.progress is not None:
            fields["progress"] = heartbeat.progress
        updated = dataclasses.replace(action_ex, **fields)
        self._parts.store.update(updated, tuple(k for k in fields if k != "updated_at"))
        return updated
