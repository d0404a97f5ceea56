"""Durable timers in SQL: the scheduler's statements.

Every statement the scheduler runs on its own walks an index: claiming and the
next due time read the due end of the ``(due_at, seq)`` index only, so they cost
the same at 100 or 100,000 pending timers (``tests/contract/test_sql_plans.py``
checks the plans of both databases). Claiming is one statement, ``WITH ... UPDATE
... RETURNING``: on PostgreSQL its ``FOR UPDATE SKIP LOCKED`` lets claimers pass
each other's rows instead of waiting on them or taking them twice; on SQLite the
statement holds the database's only write lock.
"""

from __future__ import annotations

import datetime as dt

from mistral_core.model import Timer
from mistral_core.persistence.columns import TIMERS
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote, select_list

_DUE_AT = TIMERS.index_of("due_at")
_INSERT = f"insert {TIMERS.name}"


class SqlTimers(SqlBase):
    """The timer methods of :class:`~mistral_core.persistence.sql.SqlStore`."""

    def _statement_texts(self) -> dict[str, str]:
        timers = quote(TIMERS.name)
        claimable = '"due_at" <= ? AND ("claimed_until" IS NULL OR "claimed_until" < ?)'
        return {
            **super()._statement_texts(),
            "delete timer": f'DELETE FROM {timers} WHERE "id" = ?',
            "delete timers of": f'DELETE FROM {timers} WHERE "target_id" = ?',
            "delete timers of kind": f'DELETE FROM {timers} WHERE "target_id" = ? AND "kind" = ?',
            "next timer due": f'SELECT min("due_at") FROM {timers}',
            "count timers": f"SELECT count(*) FROM {timers}",
            # MATERIALIZED: the LIMIT (and, on PostgreSQL, the row locks) apply once, before
            # the UPDATE, never re-evaluated per candidate row.
            "claim timers": (
                f'WITH "due" AS MATERIALIZED (SELECT "seq" FROM {timers} WHERE {claimable} '
                f'ORDER BY "due_at", "seq" LIMIT ?{self._dialect.skip_locked}) '
                f'UPDATE {timers} SET "claimed_by" = ?, "claimed_until" = ? '
                f'WHERE "seq" IN (SELECT "seq" FROM "due") RETURNING "seq", {select_list(TIMERS)}'
            ),
        }

    # -- timers -------------------------------------------------------------------
    def insert_timer(self, timer: Timer) -> None:
        """Add a timer (``created_at`` defaults to now); joins an open :meth:`atomic`.

        Raises:
            StoreError: a timer with that id exists, or the payload is not JSON-able.
        """
        row = self._codecs[TIMERS.name].insert_row(timer, self._clock.now)
        with self._writing():
            self._execute(self._sql[_INSERT], row)

    def delete_timer(self, timer_id: str) -> bool:
        """Delete one timer, claimed or not; False if it was gone already."""
        with self._writing():
            return self._write(self._sql["delete timer"], (timer_id,)) > 0

    def delete_timers(self, target_id: str, kind: str | None = None) -> int:
        """Delete the timers of ``target_id`` (of every kind, or of ``kind``); how many."""
        with self._writing():
            if kind is None:
                return self._write(self._sql["delete timers of"], (target_id,))
            return self._write(self._sql["delete timers of kind"], (target_id, kind))

    def claim_due_timers(
        self, now: dt.datetime, owner: str, lease_until: dt.datetime, limit: int
    ) -> list[Timer]:
        """Claim up to ``limit`` due timers for ``owner`` until ``lease_until``, oldest due first.

        One statement, committed on its own (or with the :meth:`atomic` block it is called in):
        it walks the (due_at, seq) index from its start and stops after ``limit`` claimable rows.
        PostgreSQL skips rows another claimer has locked; SQLite holds the write lock.
        """
        if limit <= 0:
            return []
        time = self._codecs[TIMERS.name].encoders[_DUE_AT]
        params = (time(now), time(now), limit, owner, time(lease_until))
        with self._writing():
            rows = self._all(self._sql["claim timers"], params)
        rows.sort(key=lambda row: (row[1 + _DUE_AT], row[0]))  # RETURNING has no order
        record = self._codecs[TIMERS.name].record
        return [record(row[1:]) for row in rows]

    def next_timer_due(self) -> dt.datetime | None:
        """The earliest ``due_at`` of all timers (claimed ones included), or None."""
        row = self._one(self._sql["next timer due"], ())
        value = None if row is None else row[0]
        decode = self._dialect.datetime_out
        if value is None or decode is None:
            return value
        due: dt.datetime = decode(value)
        return due

    def count_timers(self) -> int:
        """How many timers are pending (claimed ones included)."""
        row = self._one(self._sql["count timers"], ())
        return int(row[0]) if row else 0
