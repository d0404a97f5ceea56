"""Named definitions in memory: workflows, cron triggers, environments, workbooks, ad-hoc actions.

The twin of :mod:`.sqldefinitions`, driven by the same
:class:`~.definitions.DefinitionKind` descriptions. A lookup by name scans the
kind's rows: definitions are few, and the scan keeps rollback trivial.
"""

from __future__ import annotations

from typing import Any

from mistral_core.persistence.definitions import (
    DefinitionKind,
    DefinitionMethods,
)
from mistral_core.persistence.memorybase import ID, Entry, MemoryBase


class MemoryDefinitions(MemoryBase, DefinitionMethods):
    """The definition methods of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    # -- the version of the ad-hoc actions ------------------------------------------------
    def catalog_version(self) -> int:
        """How many times the ad-hoc actions changed (0: never)."""
        with self._lock:
            return int(self._counters.get("catalog", 0))

    def bump_catalog_version(self) -> None:
        """Count one more change of the ad-hoc actions (inside the transaction that made it)."""
        with self._lock:
            self._put(self._counters, "catalog", self._counters.get("catalog", 0) + 1)

    # -- the generic operations ---------------------------------------------------------
    def _find(self, kind: DefinitionKind, key: tuple[str, ...]) -> Entry | None:
        positions = [kind.table.index_of(column) for column in kind.keys]
        for entry in self._rows[kind.table.name].values():
            if tuple(entry[1][i] for i in positions) == key:
                return entry
        return None

    def _create_definition(self, kind: DefinitionKind, record: Any) -> None:
        row = self._codecs[kind.table.name].insert_row(record, self._clock.now)
        with self._lock:
            rows = self._rows[kind.table.name]
            if self._find(kind, kind.key_of(record)) is not None:
                raise kind.duplicate(record)
            if record.id in rows:
                raise kind.duplicate_id(record)
            self._put(rows, record.id, (next(self._seq), row))

    def _replace_definition(self, kind: DefinitionKind, record: Any) -> None:
        """Write every field but the id, the name and ``created_at`` of the record with that name."""
        codec = self._codecs[kind.table.name]
        names, values = codec.update_values(record, kind.replaced, self._clock.now)
        with self._lock:
            entry = self._find(kind, kind.key_of(record))
            if entry is None:
                raise kind.not_found(*kind.key_of(record))
            self._write(kind.table, entry, names, values)

    def _resolve(self, kind: DefinitionKind, identifier: str, namespace: str) -> Entry:
        entry = self._rows[kind.table.name].get(identifier) if kind.by_id else None
        if entry is None:
            entry = self._find(kind, kind.key(identifier, namespace))
        if entry is None:
            raise kind.not_found(identifier, namespace)
        return entry

    def _get_definition(self, kind: DefinitionKind, identifier: str, namespace: str = "") -> Any:
        with self._lock:
            entry = self._resolve(kind, identifier, namespace)
        return self._codecs[kind.table.name].record(entry[1])

    def _delete_definition(self, kind: DefinitionKind, identifier: str, namespace: str = "") -> None:
        with self._lock:
            entry = self._resolve(kind, identifier, namespace)
            self._pop(self._rows[kind.table.name], entry[1][ID])

    # -- workflow definitions -----------------------------------------------------------
