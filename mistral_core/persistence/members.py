"""What the SQL and in-memory parts of sharing have in common: the messages, the plan's hook.

A workflow's memberships live in ``resource_members`` (one row per workflow and member project).
The definitions part asks them through ``_shared_among`` (which of these workflows are shared
with this project, accepted) and deletes them with their workflow (``_delete_members_of``);
lists of workflows get them through the query (SQL) or through :attr:`Visibility.shared`.
"""

from __future__ import annotations

from mistral_core.errors import DuplicateError
from mistral_core.model.members import ResourceMember

#: The fields a status change writes (besides ``updated_at``).
STATUS_FIELDS = ("status",)


def duplicate(member: ResourceMember) -> DuplicateError:
    """The error of sharing a workflow twice with one project."""
    return DuplicateError(
        f"The {member.resource_type} {member.resource_id} is already shared with project {member.member_id}"
    )
