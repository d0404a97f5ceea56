"""The maintenance mode in SQL: ``maintenance`` (one row) and ``maintenance_pauses``.

The mode is changed by compare and set (an ``UPDATE ... WHERE "status" IN (...)``), so two
processes asking at once, or a resume racing the end of a pause, never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from mistral_core.model.maintenance import MODE_ID, MODES, RUNNING, MaintenanceMode, MaintenancePause
from mistral_core.persistence.columns import ACTION_EXECUTIONS, MAINTENANCE, MAINTENANCE_PAUSES
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote, select_list
from mistral_core.persistence.tables import UNFINISHED_ACTIONS


class SqlMaintenance(SqlBase):
    """The maintenance methods of :class:`~mistral_core.persistence.sql.SqlStore`."""

    def _statement_texts(self) -> dict[str, str]:
        sql = super()._statement_texts()
        mode, pauses = quote(MAINTENANCE.name), quote(MAINTENANCE_PAUSES.name)
        names = ", ".join(quote(name) for name in MAINTENANCE.names)
        marks = ", ".join("?" for _ in MAINTENANCE.names)
        sql["keep mode"] = f'INSERT INTO {mode} ({names}) VALUES ({marks}) ON CONFLICT ("id") DO NOTHING'
        pause_names = ", ".join(quote(name) for name in MAINTENANCE_PAUSES.names)
        sql["keep pause"] = (
            f'INSERT INTO {pauses} ({pause_names}) VALUES (?, ?) ON CONFLICT ("id") DO NOTHING'
        )
        sql["change mode"] = (
            f'UPDATE {mode} SET "status" = ?, "changed_by" = ?, "updated_at" = ? '
            f'WHERE "id" = ? AND "status" IN ({", ".join("?" for _ in MODES)})'
        )
        sql["sync running"] = (  # the partial index's predicate, spelled as it is, so it is used
            f'SELECT "id" FROM {quote(ACTION_EXECUTIONS.name)} WHERE {UNFINISHED_ACTIONS} '
            'AND "state" = \'RUNNING\' AND "is_sync" = ? LIMIT 1'
        )
        sql["first pauses"] = (
            f'SELECT {select_list(MAINTENANCE_PAUSES)} FROM {pauses} ORDER BY "created_at", "id" LIMIT ?'
        )
        return sql

    def maintenance_mode(self) -> MaintenanceMode:
        """The service's mode (``RUNNING``, with no ``created_at``, if it was never changed)."""
        row = self._one(self._sql[f"get {MAINTENANCE.name}"], (MODE_ID,))
        if row is None:
            return MaintenanceMode(MODE_ID, RUNNING)
        mode: MaintenanceMode = self._codecs[MAINTENANCE.name].record(row)
        return mode

    def change_maintenance_mode(self, status: str, expected: Sequence[str], changed_by: str) -> bool:
        """Set the mode to ``status`` if it is one of ``expected`` now. True if it was set."""
        codec = self._codecs[MAINTENANCE.name]
        first = codec.insert_row(MaintenanceMode(MODE_ID, RUNNING), self._clock.now)
        now = self._dialect.param(MAINTENANCE.columns[MAINTENANCE.index_of("updated_at")], self._clock.now())
        if not expected:
            return False
        # One statement for every ``expected``: its places beyond ``expected`` repeat its first.
        padded = (*expected, *(expected[0] for _ in range(len(MODES) - len(expected))))
        with self.atomic():
            self._write(self._sql["keep mode"], first)  # no row yet: RUNNING, as it is read
            return self._write(self._sql["change mode"], (status, changed_by, now, MODE_ID, *padded)) == 1

    def sync_action_running(self) -> bool:
        """Whether a synchronous action execution is RUNNING."""
        return self._one(self._sql["sync running"], (True,)) is not None

    def add_maintenance_pause(self, wf_ex_id: str) -> None:
        """Record that maintenance paused this execution (once)."""
        row = self._codecs[MAINTENANCE_PAUSES.name].insert_row(MaintenancePause(wf_ex_id), self._clock.now)
        with self._writing():
            self._write(self._sql["keep pause"], row)

    def maintenance_pauses(self, limit: int) -> list[str]:
        """The ids of up to ``limit`` executions maintenance paused, the first paused first."""
        return [str(row[0]) for row in self._all(self._sql["first pauses"], (limit,))]

    def delete_maintenance_pause(self, wf_ex_id: str) -> None:
        """Forget that maintenance paused this execution."""
        with self._writing():
            self._write(self._sql[f"delete {MAINTENANCE_PAUSES.name}"], (wf_ex_id,))
