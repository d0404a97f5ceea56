"""Callback tokens and the history of pushes, in SQL.

A presented callback token finds its action execution through the unique partial index on
``callback_token_hash`` (one index probe). An action execution's history is read and counted
through the ``(action_execution_id, seq)`` index: in the order the entries were written,
whatever the size of the table. Entries have no id of their own (only appended, never
addressed one by one): an insert maintains that one index and nothing else.
"""

from __future__ import annotations

import peewee

from mistral_core.engine.ports import Clock
from mistral_core.model import ActionExecution, HistoryEntry
from mistral_core.persistence.columns import ACTION_EXECUTIONS, ACTION_HISTORY
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote, select_list


class SqlCallbacks(SqlBase):
    """The callback-token and history methods of :class:`~mistral_core.persistence.sql.SqlStore`."""

    def __init__(self, database: peewee.Database, clock: Clock | None = None) -> None:
        super().__init__(database, clock)
        self._history_codec = self._dialect.codec(ACTION_HISTORY)

    def _statement_texts(self) -> dict[str, str]:
        history = quote(ACTION_HISTORY.name)
        columns = select_list(ACTION_HISTORY)
        marks = ", ".join("?" for _ in ACTION_HISTORY.names)
        return {
            **super()._statement_texts(),
            "action by token": (
                f"SELECT {select_list(ACTION_EXECUTIONS)} FROM {quote(ACTION_EXECUTIONS.name)} "
                'WHERE "callback_token_hash" = ?'
            ),
            "add history": f"INSERT INTO {history} ({columns}) VALUES ({marks})",
            "history of": f'SELECT {columns} FROM {history} WHERE "action_execution_id" = ? ORDER BY "seq"',
            "count history": f'SELECT count(*) FROM {history} WHERE "action_execution_id" = ?',
        }

    def action_execution_by_token(self, token_hash: str) -> ActionExecution | None:
        """The action execution whose callback token hashes to ``token_hash`` (expired or not), or None."""
        row = self._one(self._sql["action by token"], (token_hash,))
        if row is None:
            return None
        found: ActionExecution = self._codecs[ACTION_EXECUTIONS.name].record(row)
        return found

    def add_history_entry(self, entry: HistoryEntry) -> None:
        """Append an entry to an action execution's history (``created_at`` defaults to now); joins
        an open :meth:`atomic`."""
        row = self._history_codec.insert_row(entry, self._clock.now)
        with self._writing():
            self._execute(self._sql["add history"], row)

    def history_of(self, action_ex_id: str) -> list[HistoryEntry]:
        """The history of an action execution, oldest entry first (empty for an unknown id)."""
        record = self._history_codec.record
        return [record(row) for row in self._all(self._sql["history of"], (action_ex_id,))]

    def count_history(self, action_ex_id: str) -> int:
        """How many entries the history of an action execution has."""
        row = self._one(self._sql["count history"], (action_ex_id,))
        return int(row[0]) if row else 0
