"""The inventory of waits in memory: the twin of :mod:`.sqlwaits` (a scan: tests and small uses)."""

from __future__ import annotations

import datetime as dt

from mistral_core.model import DISPATCH_QUEUED, ActionExecution, Query, State
from mistral_core.persistence.columns import ACTION_EXECUTIONS, Row, naive_utc
from mistral_core.persistence.memorybase import MemoryBase

_STATE = ACTION_EXECUTIONS.index_of("state")
_IS_SYNC = ACTION_EXECUTIONS.index_of("is_sync")
_DISPATCH = ACTION_EXECUTIONS.index_of("dispatch")
_CREATED = ACTION_EXECUTIONS.index_of("created_at")
_BEAT = ACTION_EXECUTIONS.index_of("last_heartbeat_at")
_TARGET = ACTION_EXECUTIONS.index_of("target")


def is_wait(row: Row) -> bool:
    """Whether a row of ``action_executions`` is a wait (:data:`~.tables.WAITS`)."""
    if row[_STATE] != State.RUNNING.value:
        return False
    return not row[_IS_SYNC] or (row[_DISPATCH] == DISPATCH_QUEUED and row[_TARGET] is not None)


class MemoryWaits(MemoryBase):
    """The inventory of waits of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    def list_waits(self, query: Query, stale_before: dt.datetime | None = None) -> list[ActionExecution]:
        """See :meth:`mistral_core.persistence.sqlwaits.SqlWaits.list_waits`."""
        cutoff = naive_utc(stale_before)

        def admits(row: Row) -> bool:
            if not is_wait(row):
                return False
            return cutoff is None or bool((row[_BEAT] or row[_CREATED]) < cutoff)

        found: list[ActionExecution] = self._list(ACTION_EXECUTIONS, query, admits)
        return found
