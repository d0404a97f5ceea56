"""What a request sees: the :class:`~mistral_core.model.Viewer` of its identity.

Every read a resource makes is made for the request's viewer (lists through the parsed
:class:`~mistral_core.api.querying.ListRequest`, items through the store's ``viewer`` argument),
and every service that creates records is given it: what a caller creates belongs to its
project. Without authentication every request is an admin of the default project, who sees
every project: the API behaves as if projects did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from mistral_core.auth.middleware import identity_of
from mistral_core.model import EVERY_PROJECT, Viewer


def viewer_of(req: falcon.Request) -> Viewer:
    """What ``req``'s identity sees: its project's records and public ones, or (admins of the
    default project) every record.

    A callback credential reaches one action execution only (the policy checks that), whatever
    its project: it sees that one, as its holder was meant to.
    """
    identity = identity_of(req)
    if identity.is_callback:
        return EVERY_PROJECT
    return Viewer(identity.project, all_projects=identity.sees_all_projects)


def check_visible(viewer: Viewer, read: Callable[[str, Viewer], Any], identifier: str) -> None:
    """Before a service changes a record of an execution: 404 unless ``viewer`` sees it (executions
    are never public, so seeing is owning). Costs no read for a viewer of every project.

    Raises:
        NotFoundError: the record does not exist, or is another project's.
    """
    if not viewer.all_projects:
        read(identifier, viewer)
