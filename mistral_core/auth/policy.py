"""The role each endpoint of the API needs, and what a per-action callback credential may do.

:data:`REQUIRED` names every ``(route, method)`` of the API explicitly (a test walks the route
table and fails on one it does not name, so a new route cannot be forgotten). ``None`` means
public: ``GET /`` and ``GET /v2`` (what clients read to find the API), ``GET /info`` (public in
Mistral too; it answers only what the deployment chose to publish), and the token endpoint
(``POST /realms/{realm}/protocol/openid-connect/token``), where a key's name and secret come in
a form instead of a header (401 if they are not valid).

* reader: reads only (``GET``, and the ``validate`` calls, which change nothing);
* operator: also starts, controls and completes executions and actions; creates cron and event
  triggers;
* admin: everything, definitions (workflows, actions, workbooks, environments) and keys included,
  and sharing workflows (adding and removing members, accepting and rejecting a membership);
  code sources and dynamic actions (uploaded Python) are for admins alone, reads too.

A callback credential (one async action execution's) may only read that action execution and
push its result: :data:`CALLBACK_ROUTES`, with the route's ``action_ex_id`` its own. Not its
history (it names the other parties that pushed), nor its revocation. The resource narrows it
further: results only (no pause or resume), and once the action has finished, only the same
result again (see :mod:`mistral_core.api.resources.action_executions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mistral_core.auth.identity import Identity, Role
from mistral_core.errors import Forbidden

R, OP, A = Role.READER, Role.OPERATOR, Role.ADMIN

#: (URI template, method) -> the least role that may call it (None: public).
REQUIRED: dict[tuple[str, str], Role | None] = {
    ("/", "GET"): None,
    ("/v2", "GET"): None,
    ("/info", "GET"): None,
    ("/v2/openapi.json", "GET"): R,
    ("/maintenance", "GET"): R,
    ("/maintenance", "PUT"): A,
    ("/v2/maintenance", "GET"): R,
    ("/v2/maintenance", "PUT"): A,
    ("/v2/workflows", "GET"): R,
    ("/v2/workflows", "POST"): A,
    ("/v2/workflows", "PUT"): A,
    ("/v2/workflows/validate", "POST"): R,
    ("/v2/workflows/{identifier}", "GET"): R,
    ("/v2/workflows/{identifier}", "PUT"): A,
    ("/v2/workflows/{identifier}", "DELETE"): A,
    # Sharing decides what another project may run, or what one's own runs: definitions' role.
    ("/v2/workflows/{identifier}/members", "GET"): R,
    ("/v2/workflows/{identifier}/members", "POST"): A,
    ("/v2/workflows/{identifier}/members/{member_id}", "GET"): R,
    ("/v2/workflows/{identifier}/members/{member_id}", "PUT"): A,
    ("/v2/workflows/{identifier}/members/{member_id}", "DELETE"): A,
    ("/v2/executions", "GET"): R,
    ("/v2/executions", "POST"): OP,
    ("/v2/executions/{ex_id}", "GET"): R,
    ("/v2/executions/{ex_id}", "PUT"): OP,
    ("/v2/executions/{ex_id}", "DELETE"): OP,
    ("/v2/executions/{ex_id}/tasks", "GET"): R,
    ("/v2/executions/{ex_id}/executions", "GET"): R,
    ("/v2/executions/{ex_id}/report", "GET"): R,
    ("/v2/tasks", "GET"): R,
    ("/v2/tasks/{task_id}", "GET"): R,
    ("/v2/tasks/{task_id}", "PUT"): OP,
    ("/v2/tasks/{task_id}/action_executions", "GET"): R,
    ("/v2/tasks/{task_id}/action_executions/{action_ex_id}", "GET"): R,
    ("/v2/tasks/{task_id}/workflow_executions", "GET"): R,
    ("/v2/tasks/{task_id}/executions", "GET"): R,
    ("/v2/action_executions", "GET"): R,
    ("/v2/action_executions", "POST"): OP,
    ("/v2/action_executions/{action_ex_id}", "GET"): R,
    ("/v2/action_executions/{action_ex_id}", "PUT"): OP,
    ("/v2/action_executions/{action_ex_id}", "POST"): OP,
    ("/v2/action_executions/{action_ex_id}", "DELETE"): OP,
    ("/v2/action-executions/{action_ex_id}", "GET"): R,
    ("/v2/action-executions/{action_ex_id}", "PUT"): OP,
    ("/v2/action-executions/{action_ex_id}", "POST"): OP,
    ("/v2/action-executions/{action_ex_id}", "DELETE"): OP,
    ("/v2/action_executions/{action_ex_id}/heartbeat", "POST"): OP,
    ("/v2/action-executions/{action_ex_id}/heartbeat", "POST"): OP,
    ("/v2/action_executions/{action_ex_id}/history", "GET"): R,
    ("/v2/action_executions/{action_ex_id}/token", "DELETE"): OP,
    ("/v2/waits", "GET"): R,
    ("/v2/waits/bulk", "POST"): OP,
    ("/v2/actions", "GET"): R,
    ("/v2/actions", "POST"): A,
    ("/v2/actions", "PUT"): A,
    ("/v2/actions/validate", "POST"): R,
    ("/v2/actions/{name}", "GET"): R,
    ("/v2/actions/{name}", "PUT"): A,
    ("/v2/actions/{name}", "DELETE"): A,
    ("/v2/actions/{name}/{namespace}", "GET"): R,
    ("/v2/actions/{name}/{namespace}", "DELETE"): A,
    ("/v2/workbooks", "GET"): R,
    ("/v2/workbooks", "POST"): A,
    ("/v2/workbooks", "PUT"): A,
    ("/v2/workbooks/validate", "POST"): R,
    ("/v2/workbooks/{name}", "GET"): R,
    ("/v2/workbooks/{name}", "DELETE"): A,
    ("/v2/notifications", "GET"): R,
    ("/v2/cron_triggers", "GET"): R,
    ("/v2/cron_triggers", "POST"): OP,
    ("/v2/cron_triggers/{identifier}", "GET"): R,
    ("/v2/cron_triggers/{identifier}", "DELETE"): OP,
    ("/v2/event_triggers", "GET"): R,
    ("/v2/event_triggers", "POST"): OP,
    ("/v2/event_triggers/{trigger_id}", "GET"): R,
    ("/v2/event_triggers/{trigger_id}", "PUT"): OP,
    ("/v2/event_triggers/{trigger_id}", "DELETE"): OP,
    ("/v2/environments", "GET"): R,
    ("/v2/environments", "POST"): A,
    ("/v2/environments", "PUT"): A,
    ("/v2/environments/{name}", "GET"): R,
    ("/v2/environments/{name}", "DELETE"): A,
    # Admins only, reads included (as in Mistral 23): a code source is code the executors run.
    ("/v2/code_sources", "GET"): A,
    ("/v2/code_sources", "POST"): A,
    ("/v2/code_sources", "PUT"): A,
    ("/v2/code_sources/{identifier}", "GET"): A,
    ("/v2/code_sources/{identifier}", "DELETE"): A,
    ("/v2/dynamic_actions", "GET"): A,
    ("/v2/dynamic_actions", "POST"): A,
    ("/v2/dynamic_actions", "PUT"): A,
    ("/v2/dynamic_actions/{identifier}", "GET"): A,
    ("/v2/dynamic_actions/{identifier}", "DELETE"): A,
    ("/realms/{realm}/protocol/openid-connect/token", "POST"): None,
    # Counts and latencies only (no ids, no names of workflows): a reader's, as every read.
    ("/metrics", "GET"): R,
}

#: The pages of the UI (:mod:`mistral_core.ui`): a browser signs in once (a session cookie) rather
#: than sending a header; the UI's own middleware authenticates them, by this table (None: open).
UI_PAGES: dict[tuple[str, str], Role | None] = {
    ("/ui", "GET"): R,
    ("/ui/executions/{ex_id}", "GET"): R,
    ("/ui/login", "GET"): None,
    ("/ui/login", "POST"): None,
    ("/ui/logout", "POST"): None,
    ("/ui/oidc/start", "GET"): None,
    ("/ui/oidc/callback", "GET"): None,
    ("/ui/static/{name}", "GET"): None,
}

#: The page of one wait: its signed URL is its own credential, for that page only. The middleware
#: lets it through without a session (it notes the signed-in identity, if any); the page checks
#: the signature and expiry for its ``action_ex_id`` before it shows or does anything, and acting
#: needs its CSRF token and, with authentication on, a signed-in identity the approval accepts.
LINK_PAGES: frozenset[tuple[str, str]] = frozenset(
    {("/ui/respond/{action_ex_id}", "GET"), ("/ui/respond/{action_ex_id}", "POST")}
)

#: What a callback credential may call, for its own action execution (the ``action_ex_id``).
CALLBACK_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("/v2/action_executions/{action_ex_id}", "GET"),
        ("/v2/action_executions/{action_ex_id}", "PUT"),
        ("/v2/action_executions/{action_ex_id}", "POST"),
        ("/v2/action-executions/{action_ex_id}", "GET"),
        ("/v2/action-executions/{action_ex_id}", "PUT"),
        ("/v2/action-executions/{action_ex_id}", "POST"),
        ("/v2/action_executions/{action_ex_id}/heartbeat", "POST"),
        ("/v2/action-executions/{action_ex_id}/heartbeat", "POST"),
    }
)


def is_ui(template: str) -> bool:
    """Whether ``template`` is a page of the UI (authenticated by its session, not a header)."""
    return template == "/ui" or template.startswith("/ui/")


def is_public(template: str, method: str) -> bool:
    """Whether the endpoint answers without a credential."""
    return (template, method) in REQUIRED and REQUIRED[(template, method)] is None


def authorize(identity: Identity, template: str, method: str, params: Mapping[str, Any]) -> None:
    """Let ``identity`` call the endpoint, or refuse.

    Raises:
        Forbidden: beyond the identity's role; a callback credential used for anything but its own
            action execution; an endpoint the policy does not name (refused, never allowed).
    """
    key = (template, method)
    if identity.is_callback:
        if key not in CALLBACK_ROUTES or params.get("action_ex_id") != identity.action_execution_id:
            raise Forbidden(
                "This callback token is only for reading and completing action execution "
                f"{identity.action_execution_id}"
            )
        return
    table = UI_PAGES if is_ui(template) else REQUIRED
    if key not in table:
        raise Forbidden(f"{method} {template} is not open to anyone")
    needed = table[key]
    if needed is not None and identity.role < needed:
        raise Forbidden(
            f"{method} {template} needs the role {needed.name.lower()}; "
            f"{identity.name} is {identity.role.name.lower()}"
        )
