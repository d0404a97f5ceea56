"""The maintenance mode in memory: the twin of :mod:`.sqlmaintenance`."""

from __future__ import annotations

from collections.abc import Sequence

from mistral_core.model import State
from mistral_core.model.maintenance import MODE_ID, RUNNING, MaintenanceMode, MaintenancePause
from mistral_core.persistence.columns import ACTION_EXECUTIONS, MAINTENANCE, MAINTENANCE_PAUSES
from mistral_core.persistence.memorybase import MemoryBase

_STATE = ACTION_EXECUTIONS.index_of("state")
_SYNC = ACTION_EXECUTIONS.index_of("is_sync")


class MemoryMaintenance(MemoryBase):
    """The maintenance methods of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    def maintenance_mode(self) -> MaintenanceMode:
        """The service's mode (``RUNNING``, with no ``created_at``, if it was never changed)."""
        with self._lock:
            entry = self._rows[MAINTENANCE.name].get(MODE_ID)
        if entry is None:
            return MaintenanceMode(MODE_ID, RUNNING)
        mode: MaintenanceMode = self._codecs[MAINTENANCE.name].record(entry[1])
        return mode

    def change_maintenance_mode(self, status: str, expected: Sequence[str], changed_by: str) -> bool:
        """Set the mode to ``status`` if it is one of ``expected`` now. True if it was set."""
        with self.atomic():
            current = self.maintenance_mode()
            if current.status not in expected:
                return False
            changed = MaintenanceMode(MODE_ID, status, changed_by)
            if current.created_at is None:
                row = self._codecs[MAINTENANCE.name].insert_row(changed, self._clock.now)
                self._put(self._rows[MAINTENANCE.name], MODE_ID, (next(self._seq), row))
            else:
                self._update_record(MAINTENANCE, changed, ("status", "changed_by"))
            return True

    def sync_action_running(self) -> bool:
        """Whether a synchronous action execution is RUNNING."""
        with self._lock:
            rows = self._rows[ACTION_EXECUTIONS.name].values()
            return any(row[_STATE] == State.RUNNING.value and row[_SYNC] for _, row in rows)

    def add_maintenance_pause(self, wf_ex_id: str) -> None:
        """Record that maintenance paused this execution (once)."""
        with self.atomic():
            rows = self._rows[MAINTENANCE_PAUSES.name]
            if wf_ex_id not in rows:
                row = self._codecs[MAINTENANCE_PAUSES.name].insert_row(
                    MaintenancePause(wf_ex_id), self._clock.now
                )
                self._put(rows, wf_ex_id, (next(self._seq), row))

    def maintenance_pauses(self, limit: int) -> list[str]:
        """The ids of up to ``limit`` executions maintenance paused, the first paused first."""
        with self._lock:
            entries = sorted(self._rows[MAINTENANCE_PAUSES.name].values())
        return [str(row[0]) for _, row in entries[:limit]]

    def delete_maintenance_pause(self, wf_ex_id: str) -> None:
        """Forget that maintenance paused this execution."""
        with self.atomic():
            self._pop(self._rows[MAINTENANCE_PAUSES.name], wf_ex_id)
