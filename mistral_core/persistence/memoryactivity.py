"""What is going on now, in memory (a scan under the store lock: the in-memory store is for tests
and small embedded uses)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mistral_core.model.activity import (
    ACTION,
    ACTIVE_ACTION_STATES,
    ACTIVE_TASK_STATES,
    ACTIVE_WORKFLOW_STATES,
    TASK,
    TIMERS_DUE,
    WORKFLOW,
    Activity,
)
from mistral_core.persistence.columns import ACTION_EXECUTIONS, TASK_EXECUTIONS, TIMERS, WORKFLOW_EXECUTIONS
from mistral_core.persistence.memorybase import MemoryBase


class MemoryActivity(MemoryBase):
    """The activity method of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    def activity(self, now: dt.datetime) -> Activity:
        """The unfinished records by state, the waits and the timers due at ``now``."""
        counts: dict[tuple[str, str, bool], list[Any]] = {}

        def add(kind: str, state: str, is_sync: bool, at: dt.datetime | None) -> None:
            entry = counts.setdefault((kind, state, is_sync), [0, None])
            entry[0] += 1
            if at is not None and (entry[1] is None or at < entry[1]):
                entry[1] = at

        with self._lock:
            active_wfs = set()
            for wf_ex in self._records(WORKFLOW_EXECUTIONS.name):
                if wf_ex.state.value in ACTIVE_WORKFLOW_STATES:
                    active_wfs.add(wf_ex.id)
                    add(WORKFLOW, wf_ex.state.value, False, None)
            for task in self._records(TASK_EXECUTIONS.name):
                if task.workflow_execution_id in active_wfs and task.state.value in ACTIVE_TASK_STATES:
                    add(TASK, task.state.value, False, None)
            for action in self._records(ACTION_EXECUTIONS.name):
                if action.state.value in ACTIVE_ACTION_STATES:
                    add(ACTION, action.state.value, action.is_sync, action.created_at)
            due = [timer.due_at for timer in self._records(TIMERS.name) if timer.due_at <= now]
        rows = [(kind, state, is_sync, n, at) for (kind, state, is_sync), (n, at) in counts.items()]
        rows.append((TIMERS_DUE, "", False, len(due), min(due, default=None)))
        return Activity.of(rows)

    def _records(self, table: str) -> list[Any]:
        record = self._codecs[table].record
        return [record(row) for _, row in self._rows[table].values()]
