"""In maintenance, requests that would change something are refused at the door (423), as Mistral
refuses them, with a one-line message saying what ends it.

Every writing route of :data:`~mistral_core.api.routes.ROUTES` is refused while the mode is not
``RUNNING``, except :data:`ALLOWED`: the mode itself, what third parties send about the waits
they hold (results, heartbeats: kept, as for any paused execution, so an upgrade loses none —
Mistral refuses them once ``PAUSED``), revoking a callback token, signing in, and the validate
calls (they change nothing). Starting an execution, and a pause or resume of an action, are
refused by the service itself (:data:`CHECKED_INSIDE`).
Reads are never refused; a request to a route that is not guarded costs nothing more.
"""

from __future__ import annotations

import falcon

from mistral_core.api.routes import endpoints
from mistral_core.engine.ports import ExecutionStore
from mistral_core.services.maintenance import refuse_in_maintenance

#: The writing routes that maintenance does not refuse.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("/maintenance", "PUT"),
        ("/v2/maintenance", "PUT"),
        ("/v2/action_executions/{action_ex_id}", "PUT"),
        ("/v2/action_executions/{action_ex_id}", "POST"),
        ("/v2/action-executions/{action_ex_id}", "PUT"),
        ("/v2/action-executions/{action_ex_id}", "POST"),
        ("/v2/action_executions/{action_ex_id}/heartbeat", "POST"),
        ("/v2/action-executions/{action_ex_id}/heartbeat", "POST"),
        ("/v2/action_executions/{action_ex_id}/token", "DELETE"),
        ("/realms/{realm}/protocol/openid-connect/token", "POST"),
        ("/v2/workflows/validate", "POST"),
        ("/v2/actions/validate", "POST"),
        ("/v2/workbooks/validate", "POST"),
    }
)


#: The writing routes whose service reads the mode itself, in the transaction that would start
#: work (so a start racing the change of mode is refused too): the door need not read it again.
CHECKED_INSIDE: frozenset[tuple[str, str]] = frozenset({("/v2/executions", "POST")})


def guarded_routes() -> frozenset[tuple[str, str]]:
    """Every ``(URI template, method)`` that maintenance refuses at the door."""
    writes = frozenset((path, method) for path, method, _ in endpoints() if method != "GET")
    return writes - ALLOWED - CHECKED_INSIDE


class MaintenanceGuard:
    """Falcon middleware: refuses the guarded routes while the service is in maintenance.

    Args:
        store: where the mode is (one indexed read per guarded request).
    """

    def __init__(self, store: ExecutionStore) -> None:
        self._store = store
        self._guarded = guarded_routes()

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict[str, object]
    ) -> None:
        """Refuse a guarded request in maintenance.

        Raises:
            MaintenanceError: the service is in maintenance (423).
        """
        if req.method == "GET" or (req.uri_template, req.method) not in self._guarded:
            return
        refuse_in_maintenance(self._store, f"{req.method} {req.uri_template}")
