"""Named definitions in memory: workflows, cron triggers, environments, workbooks, ad-hoc actions.

The twin of :mod:`.sqldefinitions`, driven by the same
:class:`~.definitions.DefinitionKind` descriptions. A lookup by name scans the
kind's rows: definitions are few, and the scan keeps rollback trivial. Names
are unique per project; a lookup picks, of the rows of one name, the one its
viewer means (see :mod:`.definitions`).
"""

from __future__ import annotations

from typing import Any

from mistral_core.model import Viewer
from mistral_core.persistence.columns import Row
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
        """The entry whose unique name (name, namespace, project) is ``key``."""
        positions = [kind.table.index_of(column) for column in kind.unique]
        for entry in self._rows[kind.table.name].values():
            if tuple(entry[1][i] for i in positions) == key:
                return entry
        return None

    def _named(self, kind: DefinitionKind, name: tuple[str, ...]) -> list[Entry]:
        """Every project's entry of one name, oldest first."""
        positions = [kind.table.index_of(column) for column in kind.keys]
        found = [e for e in self._rows[kind.table.name].values() if tuple(e[1][i] for i in positions) == name]
        return sorted(found, key=lambda entry: entry[0])

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
                raise kind.not_found(*kind.key_of(record)[:2])
            self._write(kind.table, entry, names, values)

    def _resolve(self, kind: DefinitionKind, identifier: str, namespace: str, viewer: Viewer) -> Row:
        entry = self._rows[kind.table.name].get(identifier) if kind.by_id else None
        row = entry[1] if entry is not None and self._sees_definition(kind, entry[1], viewer) else None
        if row is None:
            row = self._nearest(
                kind, [e[1] for e in self._named(kind, kind.key(identifier, namespace))], viewer
            )
        if row is None:
            raise kind.not_found(identifier, namespace)
        return row

    def _get_definition(self, kind: DefinitionKind, identifier: str, namespace: str, viewer: Viewer) -> Any:
        with self._lock:
            row = self._resolve(kind, identifier, namespace, viewer)
        return self._codecs[kind.table.name].record(row)

    def _delete_definition(
        self, kind: DefinitionKind, identifier: str, namespace: str, viewer: Viewer
    ) -> None:
        with self._lock:
            row = self._resolve(kind, identifier, namespace, viewer)
            if kind.shared_as is not None:
                self._delete_members_of(kind.shared_as, row[ID])
            self._pop(self._rows[kind.table.name], row[ID])

    # -- workflow definitions -----------------------------------------------------------
