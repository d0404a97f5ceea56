"""Durable timers in memory.

Claiming scans every timer under the store lock: the in-memory store is for tests
and small embedded uses, where that is cheaper than keeping an ordered index
that a rollback would have to restore. The SQL stores walk an index.
"""

from __future__ import annotations

import datetime as dt

from mistral_core.errors import StoreError
from mistral_core.model import Timer
from mistral_core.persistence.columns import TIMERS, Row
from mistral_core.persistence.memorybase import ID, MemoryBase, replaced

_DUE, _KIND = TIMERS.index_of("due_at"), TIMERS.index_of("kind")
_TARGET, _OWNER = TIMERS.index_of("target_id"), TIMERS.index_of("claimed_by")
_UNTIL = TIMERS.index_of("claimed_until")


class MemoryTimers(MemoryBase):
    """The timer methods of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    def insert_timer(self, timer: Timer) -> None:
        """Add a timer (``created_at`` defaults to now).

        Raises:
            StoreError: a timer with that id exists, or the payload is not JSON-able.
        """
        row = self._codecs[TIMERS.name].insert_row(timer, self._clock.now)
        with self._lock:
            timers = self._rows[TIMERS.name]
            if timer.id in timers:
                raise StoreError(f"Timer {timer.id} already exists")
            self._put(timers, timer.id, (next(self._seq), row))

    def delete_timer(self, timer_id: str) -> bool:
        """Delete one timer, claimed or not; False if it was gone already."""
        with self._lock:
            timers = self._rows[TIMERS.name]
            if timer_id not in timers:
                return False
            self._pop(timers, timer_id)
            return True

    def delete_timers(self, target_id: str, kind: str | None = None) -> int:
        """Delete the timers of ``target_id`` (of every kind, or of ``kind``); how many."""
        with self._lock:
            timers = self._rows[TIMERS.name]
            doomed = [
                row[ID]
                for _, row in timers.values()
                if row[_TARGET] == target_id and kind in (None, row[_KIND])
            ]
            for timer_id in doomed:
                self._pop(timers, timer_id)
            return len(doomed)

    def claim_due_timers(
        self, now: dt.datetime, owner: str, lease_until: dt.datetime, limit: int
    ) -> list[Timer]:
        """Claim up to ``limit`` due timers for ``owner`` until ``lease_until``, oldest due first.

        A scan of every timer under the store lock (see the module's docstring).
        """
        codec, now, lease_until = self._codecs[TIMERS.name], _utc(now), _utc(lease_until)
        with self._lock:
            timers = self._rows[TIMERS.name]
            due = [entry for entry in timers.values() if _claimable(entry[1], now)]
            due.sort(key=lambda entry: (entry[1][_DUE], entry[0]))
            claimed: list[Timer] = []
            for seq, row in due[: max(limit, 0)]:
                claimed_row = replaced(replaced(row, _OWNER, owner), _UNTIL, lease_until)
                self._put(timers, row[ID], (seq, claimed_row))
                claimed.append(codec.record(claimed_row))
            return claimed

    def next_timer_due(self) -> dt.datetime | None:
        """The earliest ``due_at`` of all timers (claimed ones included), or None."""
        with self._lock:
            return min((row[_DUE] for _, row in self._rows[TIMERS.name].values()), default=None)

    def count_timers(self) -> int:
        """How many timers are pending (claimed ones included)."""
        with self._lock:
            return len(self._rows[TIMERS.name])


def _utc(value: dt.datetime) -> dt.datetime:
    """``value`` as the rows hold times: naive UTC."""
    return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def _claimable(row: Row, now: dt.datetime) -> bool:
    """Due at ``now`` and not claimed, or claimed by a lease that has expired."""
    until = row[_UNTIL]
    return bool(row[_DUE] <= now and (until is None or until < now))
