"""The inventory of waits in SQL: RUNNING action executions that wait for their result or for an
executor, read through the partial indexes of :data:`~.tables.WAITS` (schema step 13).

The query is the generic one of :mod:`.sqlquery` (filters, order, keyset page) with the
predicate of those indexes spelled as they spell it, so every page walks a small index, and
``stale_before`` as one more condition.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mistral_core.model import ActionExecution, Query
from mistral_core.persistence.columns import ACTION_EXECUTIONS
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.tables import WAITS

_CREATED = ACTION_EXECUTIONS.column("created_at")
#: No heartbeat since the cutoff: the last one is older, or there was none and the wait is older.
_STALE = 'COALESCE("last_heartbeat_at", "created_at") < ?'


class SqlWaits(SqlBase):
    """The inventory of waits of :class:`~mistral_core.persistence.sql.SqlStore`."""

    def list_waits(self, query: Query, stale_before: dt.datetime | None = None) -> list[ActionExecution]:
        """The waits matching ``query`` (filters and order over action execution fields) whose
        last heartbeat (or, without one, their start) is before ``stale_before`` if given.

        Raises:
            InputError: a filter or sort the action executions do not have.
            NotFoundError: the marker is not an action execution the query's project sees.
        """
        extra: tuple[str, list[Any]] = (WAITS, [])
        if stale_before is not None:
            assert _CREATED is not None  # a column of every record table
            extra = (f"{WAITS} AND {_STALE}", [self._dialect.param(_CREATED, stale_before)])
        found: list[ActionExecution] = self._list(ACTION_EXECUTIONS, query, extra)
        return found
