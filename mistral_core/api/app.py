"""The WSGI application: :func:`create_app` wires resources to routes, once.

No module globals: everything a resource needs arrives in its constructor
through an :class:`~mistral_core.api.context.ApiContext`.
"""

from __future__ import annotations

from collections.abc import Iterable

import falcon

from mistral_core.api import errors
from mistral_core.api.browsers import BrowserGuard, allowed_origin_set
from mistral_core.api.context import ApiContext
from mistral_core.api.facade import EngineFacade
from mistral_core.api.resources import (
    action_executions,
    actions,
    cron_triggers,
    environments,
    executions,
    root,
    tasks,
    workbooks,
    workflows,
)
from mistral_core.api.urltext import UrlTextCheck

DEFAULT_MAX_BODY_BYTES = 1_048_576


def create_app(
    engine: EngineFacade,
    *,
    public_url: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allowed_hosts: frozenset[str] | None = None,
    allowed_origins: Iterable[str] = (),
) -> falcon.App[falcon.Request, falcon.Response]:
    """Build the REST API v2 application.

    Args:
        engine: the engine; the API writes through its methods and reads through ``engine.store``.
        public_url: the base URL clients reach the API at (``http://host:8989``).
        max_body_bytes: the largest request body accepted.
        allowed_hosts: the ``Host`` names served (see :func:`~mistral_core.api.browsers.allowed_host_names`);
            ``None``: any.
        allowed_origins: browser origins allowed to write besides ``public_url``'s; ``*``: any.

    Returns:
        A WSGI application.

    Raises:
        ValueError: ``max_body_bytes`` is not positive.
    """
    if max_body_bytes <= 0:
        raise ValueError("max_body_bytes must be positive")
    ctx = ApiContext(engine=engine, public_url=public_url.rstrip("/"), max_body_bytes=max_body_bytes)
    # No media handlers are used (see api/media.py), and CORS is off: both cost per request.
    guard = BrowserGuard(allowed_hosts, allowed_origin_set(ctx.public_url, allowed_origins))
    app = falcon.App[falcon.Request, falcon.Response](cors_enable=False, middleware=[guard, UrlTextCheck()])
    app.req_options.strip_url_path_trailing_slash = True  # /v2/ and /v2, /v2/actions/<name>/ (the CLI)
    errors.install(app)
    _add_routes(app, ctx)
    return app


def _add_routes(app: falcon.App[falcon.Request, falcon.Response], ctx: ApiContext) -> None:
    """Every route of the API, in one place."""
    app.add_route("/", root.Versions(ctx.public_url))
    app.add_route("/v2", root.V2Root(ctx.public_url))

    app.add_route("/v2/workflows", workflows.WorkflowCollection(ctx))
    app.add_route("/v2/workflows/validate", workflows.WorkflowValidation(ctx))
    app.add_route("/v2/workflows/{identifier}", workflows.WorkflowItem(ctx))

    app.add_route("/v2/executions", executions.ExecutionCollection(ctx))
    app.add_route("/v2/executions/{ex_id}", executions.ExecutionItem(ctx))
    app.add_route("/v2/executions/{ex_id}/tasks", executions.ExecutionTasks(ctx))
    app.add_route("/v2/executions/{ex_id}/executions", executions.ExecutionSubExecutions(ctx))

    app.add_route("/v2/tasks", tasks.TaskCollection(ctx))
    app.add_route("/v2/tasks/{task_id}", tasks.TaskItem(ctx))
    app.add_route("/v2/tasks/{task_id}/action_executions", tasks.TaskActionExecutions(ctx))
    app.add_route("/v2/tasks/{task_id}/workflow_executions", executions.TaskWorkflowExecutions(ctx))
    app.add_route("/v2/tasks/{task_id}/executions", tasks.TaskSubExecutions(ctx))

    item = action_executions.ActionExecutionItem(ctx)
    app.add_route("/v2/action_executions", action_executions.ActionExecutionCollection(ctx))
    app.add_route("/v2/action_executions/{action_ex_id}", item)
    app.add_route("/v2/action-executions/{action_ex_id}", item)  # the seed's spelling

    action_resource = actions.ActionItem(ctx)
    app.add_route("/v2/actions", actions.ActionCollection(ctx))
    app.add_route("/v2/actions/validate", actions.ActionValidation(ctx))
    app.add_route("/v2/actions/{name}", action_resource)
    app.add_route("/v2/actions/{name}/{namespace}", action_resource, suffix="in_namespace")

    app.add_route("/v2/workbooks", workbooks.WorkbookCollection(ctx))
    app.add_route("/v2/workbooks/validate", workbooks.WorkbookValidation(ctx))
    app.add_route("/v2/workbooks/{name}", workbooks.WorkbookItem(ctx))

    app.add_route("/v2/cron_triggers", cron_triggers.CronTriggerCollection(ctx))
    app.add_route("/v2/cron_triggers/{identifier}", cron_triggers.CronTriggerItem(ctx))

    app.add_route("/v2/environments", environments.EnvironmentCollection(ctx))
    app.add_route("/v2/environments/{name}", environments.EnvironmentItem(ctx))
