"""Sharing: a project's private workflow made visible to another project, once it accepts.

As in Mistral 23 (``resource_members_v2``): the workflow's project adds a *member* (another
project's id); the membership starts ``pending``; the member project accepts or rejects it. While
it is ``accepted`` the member project sees the workflow (lists, gets, starts it, names it in a
sub-workflow or a cron trigger) as it sees a public one: it may use it, never change it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

#: The member project has not answered yet: it sees its membership, not the workflow.
PENDING = "pending"
#: The member project sees and runs the workflow.
ACCEPTED = "accepted"
#: The member project said no: it sees its membership, not the workflow.
REJECTED = "rejected"
#: Every status, in Mistral's order.
MEMBER_STATUSES = (PENDING, ACCEPTED, REJECTED)

#: The one kind of resource that is shared (``resource_type``), as Mistral's API spells it.
WORKFLOW = "workflow"


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceMember:
    """One project a workflow is shared with (``GET /v2/workflows/<id>/members/<member_id>``).

    Attributes:
        id: the membership's id.
        resource_id: the shared workflow's id.
        resource_type: :data:`WORKFLOW`.
        project_id: the workflow's project (its owner, who added the member).
        member_id: the project it is shared with.
        status: :data:`PENDING`, :data:`ACCEPTED` or :data:`REJECTED`.
    """

    id: str
    resource_id: str
    resource_type: str
    project_id: str
    member_id: str
    status: str = PENDING
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
