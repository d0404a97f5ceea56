"""Callback tokens and the history of pushes, in memory (scans: the twin is for tests and small uses)."""

from __future__ import annotations

from mistral_core.engine.ports import Clock
from mistral_core.model import ActionExecution, HistoryEntry
from mistral_core.persistence.columns import ACTION_EXECUTIONS, ACTION_HISTORY, Codec, Row
from mistral_core.persistence.memorybase import MemoryBase

_TOKEN_HASH = ACTION_EXECUTIONS.index_of("callback_token_hash")
_OF_ACTION = ACTION_HISTORY.index_of("action_execution_id")


class MemoryCallbacks(MemoryBase):
    """The callback-token and history methods of :class:`~mistral_core.persistence.memory.MemoryStore`.

    History rows are kept by their sequence number (as text: the undo log's keys are text).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._history_codec = Codec(ACTION_HISTORY)
        self._history: dict[str, Row] = {}

    def action_execution_by_token(self, token_hash: str) -> ActionExecution | None:
        """The action execution whose callback token hashes to ``token_hash`` (expired or not), or None."""
        with self._lock:
            for _, row in self._rows[ACTION_EXECUTIONS.name].values():
                if row[_TOKEN_HASH] == token_hash:
                    found: ActionExecution = self._codecs[ACTION_EXECUTIONS.name].record(row)
                    return found
        return None

    def add_history_entry(self, entry: HistoryEntry) -> None:
        """Append an entry to an action execution's history; joins an open :meth:`atomic`."""
        row = self._history_codec.insert_row(entry, self._clock.now)
        with self._lock:
            self._put(self._history, str(next(self._seq)), row)

    def history_of(self, action_ex_id: str) -> list[HistoryEntry]:
        """The history of an action execution, oldest entry first (empty for an unknown id)."""
        with self._lock:
            entries = [
                (int(seq), row) for seq, row in self._history.items() if row[_OF_ACTION] == action_ex_id
            ]
        entries.sort()
        return [self._history_codec.record(row) for _, row in entries]

    def count_history(self, action_ex_id: str) -> int:
        """How many entries the history of an action execution has."""
        with self._lock:
            return sum(1 for row in self._history.values() if row[_OF_ACTION] == action_ex_id)

    def _delete_history_of(self, action_ex_ids: set[str]) -> None:
        """Delete the history of these action executions (inside :meth:`atomic`)."""
        for seq, row in list(self._history.items()):
            if row[_OF_ACTION] in action_ex_ids:
                self._pop(self._history, seq)
