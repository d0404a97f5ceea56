"""Sharing workflows with other projects: ``/v2/workflows/<id>/members``, as Mistral 23 has it.

The workflow's project (or an admin of the default project, who manages every project) shares a
*private* workflow with another project: a membership, ``pending``. The member project sees its
membership (not yet the workflow) and accepts or rejects it; only then, while ``accepted``, does it
see and run the workflow, as it would a public one (the store widens what a project sees:
:mod:`mistral_core.persistence.definitions`). Only the workflow's project removes members;
deleting the workflow removes them all.

Who sees what (404 is the answer to what a caller may not know about; 403 to what it may see but
not do):

* the workflow's project: every member of it; adds and removes them (403 for anyone else who
  sees the workflow: a member, or any project for a public one);
* a member project: its own membership, whatever its status, and nothing of the others'; it alone
  sets its status (403 for the workflow's project, which can see the membership);
* any other project: 404, as if the workflow did not exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import Forbidden, InputError, NotFoundError
from mistral_core.model import EVERY_PROJECT, Viewer
from mistral_core.model.members import MEMBER_STATUSES, PENDING, WORKFLOW, ResourceMember
from mistral_core.model.projects import PUBLIC
from mistral_core.services.definitions import check_owner

#: The longest project id a membership takes (Mistral's column is 80; keys' projects are free text).
MAX_MEMBER_ID = 255


def check_member_id(value: Any) -> str:
    """The project id of a new member, checked.

    Raises:
        InputError: missing (Mistral's message), not a string, too long, or with control characters.
    """
    if value is None or value == "":
        raise InputError("Member id must be provided.")
    if not isinstance(value, str):
        raise InputError(f"member_id must be a string, got {type(value).__name__}")
    if len(value) > MAX_MEMBER_ID or not value.isprintable() or value != value.strip():
        raise InputError(f"member_id must be a project id of at most {MAX_MEMBER_ID} printable characters")
    return value


def check_status(value: Any) -> str:
    """A membership's new status, checked.

    Raises:
        InputError: missing (Mistral's message) or not one of pending, accepted, rejected.
    """
    if value is None or value == "":
        raise InputError("Status must be provided.")
    if value not in MEMBER_STATUSES:
        shown = str(value)[:40]
        raise InputError(f"Invalid status '{shown}': choose from {', '.join(MEMBER_STATUSES)}")
    return str(value)


@dataclasses.dataclass(frozen=True, slots=True)
class _Access:
    """What one viewer may do with the members of one workflow."""

    resource_id: str  #: the workflow's id
    manages: bool  #: the workflow's project (or a viewer of every project): sees and manages members
    own: ResourceMember | None  #: the viewer's project's membership, if any


class Members:
    """The memberships of workflows (``engine.members``).

    Args:
        store: where workflows and memberships live.
        new_id: makes a membership's id.
    """

    def __init__(self, store: ExecutionStore, new_id: Callable[[], str]) -> None:
        self._store = store
        self._new_id = new_id

    def share(
        self, identifier: str, member_id: Any, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> ResourceMember:
        """Share the workflow with project ``member_id``: a new membership, pending.

        Raises:
            InputError: no or a bad ``member_id``; the workflow is public (Mistral's message); the
                member is the workflow's own project.
            NotFoundError: no such workflow that ``viewer`` sees.
            Forbidden: another project's workflow (public, or shared with the viewer).
            DuplicateError: it is already shared with that project.
        """
        member_id = check_member_id(member_id)
        with self._store.atomic():
            wf_def = self._store.get_workflow_definition(identifier, namespace, viewer)
            check_owner(viewer, wf_def)
            if wf_def.scope == PUBLIC:
                raise InputError("Only private resource could be shared.")
            if member_id == wf_def.project_id:
                raise InputError(f"The workflow is project {member_id}'s own: share it with another project")
            member = ResourceMember(
                id=self._new_id(),
                resource_id=wf_def.id,
                resource_type=WORKFLOW,
                project_id=wf_def.project_id,
                member_id=member_id,
                status=PENDING,
            )
            self._store.create_resource_member(member)
            return self._reread(member)

    def list(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> list[ResourceMember]:
        """The memberships ``viewer`` may see: all (the workflow's project), else its own (if any).

        Raises:
            NotFoundError: no such workflow that ``viewer`` sees or is a member of.
        """
        access = self._access(identifier, namespace, viewer)
        if access.manages:
            return self._store.list_resource_members(WORKFLOW, access.resource_id)
        return [access.own] if access.own is not None else []

    def get(
        self, identifier: str, member_id: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> ResourceMember:
        """One membership: any (the workflow's project), else only the viewer's own.

        Raises:
            NotFoundError: no such workflow, or no such membership that ``viewer`` may see.
        """
        access = self._access(identifier, namespace, viewer)
        if access.manages:
            found = self._store.get_resource_member(WORKFLOW, access.resource_id, member_id)
        else:
            found = access.own if member_id == viewer.project else None
        if found is None:
            raise _member_not_found(identifier, member_id)
        return found

    def answer(
        self,
        identifier: str,
        member_id: str,
        status: Any,
        namespace: str = "",
        viewer: Viewer = EVERY_PROJECT,
    ) -> ResourceMember:
        """The member project accepts, rejects (or leaves pending) its membership.

        Raises:
            InputError: no or an unknown ``status``.
            NotFoundError: no such workflow or membership that ``viewer`` may see.
            Forbidden: the workflow's project answering for its member.
        """
        status = check_status(status)
        with self._store.atomic():
            access = self._access(identifier, namespace, viewer)
            if member_id == viewer.project and access.own is not None:
                changed = dataclasses.replace(access.own, status=status)
                self._store.update_resource_member(changed)
                return self._reread(changed)
            if access.manages and self._store.get_resource_member(WORKFLOW, access.resource_id, member_id):
                raise Forbidden(f"Only project {member_id} may accept or reject its membership")
            raise _member_not_found(identifier, member_id)

    def remove(
        self, identifier: str, member_id: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """The workflow's project stops sharing it with ``member_id``.

        Raises:
            NotFoundError: no such workflow or membership that ``viewer`` may see.
            Forbidden: the member itself (it rejects the membership instead).
        """
        with self._store.atomic():
            access = self._access(identifier, namespace, viewer)
            if not access.manages:
                if access.own is not None and member_id == viewer.project:
                    raise Forbidden(
                        "Only the workflow's project may remove a member; "
                        "a member rejects the workflow instead (status rejected)"
                    )
                raise _member_not_found(identifier, member_id)
            found = self._store.get_resource_member(WORKFLOW, access.resource_id, member_id)
            if found is None:
                raise _member_not_found(identifier, member_id)
            self._store.delete_resource_member(found)

    def _access(self, identifier: str, namespace: str, viewer: Viewer) -> _Access:
        """What ``viewer`` may do with the members of the workflow ``identifier``.

        A member that has not accepted does not see the workflow, but may name it by its id to
        see and answer its membership.

        Raises:
            NotFoundError: the workflow's message, if ``viewer`` neither sees it nor is a member.
        """
        try:
            wf_def = self._store.get_workflow_definition(identifier, namespace, viewer)
        except NotFoundError:
            own = self._store.get_resource_member(WORKFLOW, identifier, viewer.project)
            if own is None:
                raise
            return _Access(identifier, manages=False, own=own)
        own = self._store.get_resource_member(WORKFLOW, wf_def.id, viewer.project)
        return _Access(wf_def.id, manages=viewer.owns(wf_def.project_id), own=own)

    def _reread(self, member: ResourceMember) -> ResourceMember:
        """The membership as stored (with its times)."""
        found = self._store.get_resource_member(member.resource_type, member.resource_id, member.member_id)
        return found if found is not None else member


def _member_not_found(resource_id: str, member_id: str) -> NotFoundError:
    """Mistral's message for a membership that is not there (or not the caller's to see)."""
    return NotFoundError(f"Resource member not found [resource_id={resource_id}, member_id={member_id}]")
