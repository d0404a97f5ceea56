"""``GET`` and ``PUT /maintenance`` (also at ``/v2/maintenance``): the maintenance mode.

``GET`` answers ``{"status": "RUNNING" | "PAUSING" | "PAUSED"}``, carrying on what the mode implies
(see :mod:`mistral_core.services.maintenance`). ``PUT {"status": "PAUSED" | "RUNNING"}`` asks for a
mode and answers the mode it led to (``PAUSING`` until nothing runs, as Mistral answers). The
mode is the whole service's: only an admin who sees every project may change it.
"""

from __future__ import annotations

import falcon

from mistral_core.api.context import ApiContext
from mistral_core.api.media import read_json_object, string_field, write_json
from mistral_core.auth.middleware import identity_of
from mistral_core.errors import Forbidden, InputError


class MaintenanceItem:
    """``GET`` / ``PUT /maintenance``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The maintenance mode."""
        write_json(resp, {"status": self._ctx.engine.maintenance.status()})

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Ask for ``PAUSED`` (pause everything that runs, refuse new work) or ``RUNNING``."""
        identity = identity_of(req)
        if not identity.sees_all_projects:
            raise Forbidden(
                f"{identity.name} may not change the maintenance mode: it is the whole service's "
                "(an admin of the default project may)"
            )
        body = read_json_object(req, self._ctx.max_body_bytes)
        status = string_field(body, "status")
        if not status:
            raise InputError('Missing field \'status\': give {"status": "PAUSED"} or {"status": "RUNNING"}')
        write_json(resp, {"status": self._ctx.engine.maintenance.change(status, identity.name)})
