"""The projects workflows are shared with, in SQL (``resource_members``).

Each lookup is one statement over an index: a membership by (workflow, type, member), a
workflow's members, the accepted ones among a few ids for one project.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from mistral_core.model import Query
from mistral_core.model.members import ACCEPTED, ResourceMember
from mistral_core.persistence.columns import RESOURCE_MEMBERS, TableSpec
from mistral_core.persistence.dialects import IntegrityFailure
from mistral_core.persistence.members import STATUS_FIELDS, duplicate
from mistral_core.persistence.querying import Plan
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote, select_list

_TABLE = quote(RESOURCE_MEMBERS.name)


class SqlMembers(SqlBase):
    """The sharing methods of :class:`~mistral_core.persistence.sql.SqlStore`
    (:class:`~mistral_core.services.members.MemberStore`)."""

    def _statement_texts(self) -> dict[str, str]:
        sql = super()._statement_texts()
        columns = select_list(RESOURCE_MEMBERS)
        of_resource = '"resource_type" = ? AND "resource_id" = ?'
        sql["member"] = f'SELECT {columns} FROM {_TABLE} WHERE {of_resource} AND "member_id" = ?'
        sql["members"] = f'SELECT {columns} FROM {_TABLE} WHERE {of_resource} ORDER BY "seq"'
        sql["delete members"] = f"DELETE FROM {_TABLE} WHERE {of_resource}"
        return sql

    def create_resource_member(self, member: ResourceMember) -> None:
        """Store a new membership.

        Raises:
            DuplicateError: the workflow is already shared with that project.
        """
        row = self._codecs[RESOURCE_MEMBERS.name].insert_row(member, self._clock.now)
        with self._writing():
            if self.get_resource_member(member.resource_type, member.resource_id, member.member_id):
                raise duplicate(member)
            try:
                self._execute(self._sql[f"insert {RESOURCE_MEMBERS.name}"], row)
            except IntegrityFailure as exc:
                raise duplicate(member) from exc

    def get_resource_member(
        self, resource_type: str, resource_id: str, member_id: str
    ) -> ResourceMember | None:
        """The membership of ``member_id`` in that workflow, or None."""
        row = self._one(self._sql["member"], (resource_type, resource_id, member_id))
        if row is None:
            return None
        found: ResourceMember = self._codecs[RESOURCE_MEMBERS.name].record(row)
        return found

    def list_resource_members(self, resource_type: str, resource_id: str) -> list[ResourceMember]:
        """Every membership of that workflow, oldest first."""
        record = self._codecs[RESOURCE_MEMBERS.name].record
        return [record(row) for row in self._all(self._sql["members"], (resource_type, resource_id))]

    def update_resource_member(self, member: ResourceMember) -> None:
        """Write the membership's status (and ``updated_at``); NotFoundError if it is gone."""
        self._update_record(RESOURCE_MEMBERS, member, STATUS_FIELDS)

    def delete_resource_member(self, member: ResourceMember) -> None:
        """Delete the membership (by its id); nothing if it is gone."""
        with self._writing():
            self._write(self._sql[f"delete {RESOURCE_MEMBERS.name}"], (member.id,))

    # -- what the definitions part asks ---------------------------------------------------
    def _shared_among(self, resource_type: str, ids: Sequence[str], project: str) -> frozenset[str]:
        marks = ", ".join("?" for _ in ids)
        sql = (
            f'SELECT "resource_id" FROM {_TABLE} WHERE "member_id" = ? AND "status" = \'{ACCEPTED}\' '
            f'AND "resource_type" = ? AND "resource_id" IN ({marks})'
        )
        return frozenset(row[0] for row in self._all(self._dialect.sql(sql), (project, resource_type, *ids)))

    def _delete_members_of(self, resource_type: str, resource_id: str) -> None:
        with self._writing():
            self._write(self._sql["delete members"], (resource_type, resource_id))

    def _plan(self, table: TableSpec, query: Query) -> Plan:
        """The query asks the memberships itself; a marker is checked with a shared one too."""
        plan = super()._plan(table, query)
        seen = plan.visibility
        if seen is None or seen.shared_as is None or plan.marker is None:
            return plan
        shared = self._shared_among(seen.shared_as, [plan.marker], seen.project)
        return dataclasses.replace(plan, visibility=dataclasses.replace(seen, shared=shared))
