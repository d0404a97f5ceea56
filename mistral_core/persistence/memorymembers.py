"""The projects workflows are shared with, in memory: the twin of :mod:`.sqlmembers`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from mistral_core.model import Query
from mistral_core.model.members import ACCEPTED, ResourceMember
from mistral_core.persistence.columns import RESOURCE_MEMBERS, Row, TableSpec
from mistral_core.persistence.members import STATUS_FIELDS, duplicate
from mistral_core.persistence.memorybase import ID, MemoryBase
from mistral_core.persistence.querying import Plan

_TYPE, _RESOURCE, _MEMBER, _STATUS = (
    RESOURCE_MEMBERS.index_of(name) for name in ("resource_type", "resource_id", "member_id", "status")
)


class MemoryMembers(MemoryBase):
    """The sharing methods of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    def _member_rows(self, resource_type: str, resource_id: str) -> Iterator[Row]:
        """The rows of one workflow's memberships, oldest first (call under the lock)."""
        entries = sorted(self._rows[RESOURCE_MEMBERS.name].values(), key=lambda entry: entry[0])
        for _, row in entries:
            if row[_TYPE] == resource_type and row[_RESOURCE] == resource_id:
                yield row

    def create_resource_member(self, member: ResourceMember) -> None:
        """Store a new membership; DuplicateError if the workflow is already shared with that project."""
        row = self._codecs[RESOURCE_MEMBERS.name].insert_row(member, self._clock.now)
        with self._lock:
            if self.get_resource_member(member.resource_type, member.resource_id, member.member_id):
                raise duplicate(member)
            self._put(self._rows[RESOURCE_MEMBERS.name], member.id, (next(self._seq), row))

    def get_resource_member(
        self, resource_type: str, resource_id: str, member_id: str
    ) -> ResourceMember | None:
        """The membership of ``member_id`` in that workflow, or None."""
        with self._lock:
            rows = [row for row in self._member_rows(resource_type, resource_id) if row[_MEMBER] == member_id]
        if not rows:
            return None
        found: ResourceMember = self._codecs[RESOURCE_MEMBERS.name].record(rows[0])
        return found

    def list_resource_members(self, resource_type: str, resource_id: str) -> list[ResourceMember]:
        """Every membership of that workflow, oldest first."""
        record = self._codecs[RESOURCE_MEMBERS.name].record
        with self._lock:
            return [record(row) for row in self._member_rows(resource_type, resource_id)]

    def update_resource_member(self, member: ResourceMember) -> None:
        """Write the membership's status (and ``updated_at``); NotFoundError if it is gone."""
        self._update_record(RESOURCE_MEMBERS, member, STATUS_FIELDS)

    def delete_resource_member(self, member: ResourceMember) -> None:
        """Delete the membership (by its id); nothing if it is gone."""
        with self._lock:
            self._pop(self._rows[RESOURCE_MEMBERS.name], member.id)

    # -- what the definitions part asks ---------------------------------------------------
    def _shared_among(self, resource_type: str, ids: Sequence[str], project: str) -> frozenset[str]:
        return self._accepted(resource_type, project) & frozenset(ids)

    def _accepted(self, resource_type: str, project: str) -> frozenset[str]:
        """The ids of the records of ``resource_type`` shared with ``project``, accepted."""
        with self._lock:
            return frozenset(
                row[_RESOURCE]
                for _, row in self._rows[RESOURCE_MEMBERS.name].values()
                if row[_TYPE] == resource_type and row[_MEMBER] == project and row[_STATUS] == ACCEPTED
            )

    def _delete_members_of(self, resource_type: str, resource_id: str) -> None:
        with self._lock:
            for row in list(self._member_rows(resource_type, resource_id)):
                self._pop(self._rows[RESOURCE_MEMBERS.name], row[ID])

    def _plan(self, table: TableSpec, query: Query) -> Plan:
        """Lists of shared tables see the ids shared with the viewer's project."""
        plan = super()._plan(table, query)
        seen = plan.visibility
        if seen is None or seen.shared_as is None:
            return plan
        shared = self._accepted(seen.shared_as, seen.project)
        return dataclasses.replace(plan, visibility=dataclasses.replace(seen, shared=shared))
