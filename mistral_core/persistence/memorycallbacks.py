"""Callback tokens and the history of pushes, in memory (scans: the twin is for tests and small uses)."""

from __future__ import annotations

from mistral_core.errors import StoreError
from mistral_core.model import ActionExecution, HistoryEntry
from mistral_core.persistence.columns import ACTION_EXECUTIONS, ACTION_HISTORY
from mistral_core.persistence.memorybase import ID, MemoryBase

_TOKEN_HASH = ACTION_EXECUTIONS.index_of("callback_token_hash")
_OF_ACTION = ACTION_HISTORY.index_of("action_execution_id")


class MemoryCallbacks(MemoryBase):
    """The callback-token and history methods of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    def action_execution_by_token(self, token_hash: str) -> ActionExecution | None:
        """The action execution whose callback token hashes to ``token_hash`` (expired or not), or None."""
        with self._lock:
            for _, row in self._rows[ACTION_EXECUTIONS.name].values():
                if row[_TOKEN_HASH] == token_hash:
                    found: ActionExecution = self._codecs[ACTION_EXECUTIONS.name].record(row)
                    return found
        return None

    def add_history_entry(self, entry: HistoryEntry) -> None:
        """Append an entry to an action execution's history; joins an open :meth:`atomic`.

        Raises:
            StoreError: an entry with that id exists.
        """
        row = self._codecs[ACTION_HISTORY.name].insert_row(entry, self._clock.now)
        with self._lock:
            rows = self._rows[ACTION_HISTORY.name]
            if entry.id in rows:
                raise StoreError(f"HistoryEntry {entry.id} already exists")
            self._put(rows, entry.id, (next(self._seq), row))

    def history_of(self, action_ex_id: str) -> list[HistoryEntry]:
        """The history of an action execution, oldest entry first (empty for an unknown id)."""
        with self._lock:
            rows = self._rows[ACTION_HISTORY.name].values()
            entries = [entry for entry in rows if entry[1][_OF_ACTION] == action_ex_id]
        entries.sort(key=lambda entry: entry[0])
        record = self._codecs[ACTION_HISTORY.name].record
        return [record(row) for _, row in entries]

    def count_history(self, action_ex_id: str) -> int:
        """How many entries the history of an action execution has."""
        with self._lock:
            rows = self._rows[ACTION_HISTORY.name].values()
            return sum(1 for _, row in rows if row[_OF_ACTION] == action_ex_id)

    def _delete_history_of(self, action_ex_ids: set[str]) -> None:
        """Delete the history of these action executions (inside :meth:`atomic`)."""
        rows = self._rows[ACTION_HISTORY.name]
        for _, row in list(rows.values()):
            if row[_OF_ACTION] in action_ex_ids:
                self._pop(rows, row[ID])
