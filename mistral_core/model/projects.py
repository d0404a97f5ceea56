"""Projects, as in Mistral: every record belongs to one; who reads sees its own and public ones.

A record's ``project_id`` is the project of whoever created it (of its execution, for tasks and
action executions; of its parent, for a sub-workflow; of its trigger, for an execution a cron
trigger started). Definitions also have a ``scope``: ``private`` (the default) or ``public``
(every project may see and use it; only its own project may change or delete it). A private
workflow may also be shared with chosen projects (:mod:`mistral_core.model.members`): once a
member project accepts, it sees the workflow as it sees a public one.

A :class:`Viewer` says what one reader sees. Every read of the store takes one (lists through
:attr:`~mistral_core.model.Query.project`); the engine's own reads see every project.
"""

from __future__ import annotations

import dataclasses

#: The project of everything when authentication is off, and of keys created without one.
DEFAULT_PROJECT = "<default-project>"
#: The ``scope`` of a definition every project may see and use.
PUBLIC = "public"

#: :meth:`Viewer.rank` of a record of the viewer's own project, of a public one, of any other.
OWN, SHARED, OTHER = 0, 1, 2


@dataclasses.dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads: the records of ``project`` and other projects' public ones, or every record.

    Attributes:
        project: the reader's project (where what it creates goes).
        all_projects: it sees (and manages) every project's records: admins of the default
            project, and everyone when authentication is off.
    """

    project: str = DEFAULT_PROJECT
    all_projects: bool = False

    @property
    def only(self) -> str | None:
        """The project a list is narrowed to (its own records plus public ones), or ``None``: all."""
        return None if self.all_projects else self.project

    def rank(self, project_id: str | None, scope: str | None = None, shared: bool = False) -> int | None:
        """How near a record is: :data:`OWN`, :data:`SHARED` (public, or a workflow shared with
        the viewer's project, which accepted it: ``shared``), :data:`OTHER` (seen only with
        ``all_projects``), or ``None`` if this viewer does not see it. A name found in several
        projects means the nearest (the viewer's own, then a public or shared one)."""
        if project_id == self.project:
            return OWN
        if scope == PUBLIC or shared:
            return SHARED
        return OTHER if self.all_projects else None

    def sees(self, project_id: str | None, scope: str | None = None, shared: bool = False) -> bool:
        """Whether a record of ``project_id`` (with ``scope``; ``shared`` with the viewer's
        project and accepted) is visible to this viewer."""
        return self.rank(project_id, scope, shared) is not None

    def owns(self, project_id: str | None) -> bool:
        """Whether this viewer may change or delete a record of ``project_id``."""
        return self.all_projects or project_id == self.project


#: What every reader is when authentication is off (and the engine, for its own reads).
EVERY_PROJECT = Viewer(DEFAULT_PROJECT, all_projects=True)
