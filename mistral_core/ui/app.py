"""Putting the pages on the API's Falcon app: routes, the session middleware, errors as pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from mistral_core.approvals.links import LinkExpired
from mistral_core.errors import (
    ConflictError,
    Forbidden,
    InputError,
    MistralError,
    NotFoundError,
    ServiceUnavailable,
    TransientStoreError,
    Unauthenticated,
)
from mistral_core.ui.context import UiContext
from mistral_core.ui.render import page, see_other
from mistral_core.ui.routes import UI_ROUTES
from mistral_core.ui.session import SignInRequired, login_url

Handler = Callable[[falcon.Request, falcon.Response, Any, dict[str, Any]], None]

#: The status of the errors a page shows; others are the API's (its handler answers them).
_STATUS: tuple[tuple[type[MistralError], int], ...] = (
    (LinkExpired, 410),
    (InputError, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (TransientStoreError, 503),
    (ServiceUnavailable, 503),
)


def mount(app: falcon.App[falcon.Request, falcon.Response], ctx: UiContext, api_errors: Handler) -> None:
    """Add the pages to ``app``; errors on them become pages, those elsewhere stay the API's.

    Args:
        app: the API's application.
        ctx: what the pages need.
        api_errors: the API's handler of :class:`MistralError` (for every path but ``/ui``).
    """
    for route in UI_ROUTES:
        app.add_route(route.path, route.resource(ctx))

    def handle(req: falcon.Request, resp: falcon.Response, exc: Any, params: dict[str, Any]) -> None:
        if not (req.path == "/ui" or req.path.startswith("/ui/")):
            api_errors(req, resp, exc, params)
            return
        if isinstance(exc, SignInRequired):
            see_other(resp, login_url(exc.then))
            return
        status = next((code for cls, code in _STATUS if isinstance(exc, cls)), None)
        if status is None:
            api_errors(req, resp, exc, params)  # a server error: logged, and its generic answer
            return
        viewer = ctx.viewer(req)
        page(
            resp,
            "error.html",
            status,
            title=_TITLES[status],
            message=exc.message,
            viewer=viewer,
            auth_on=ctx.auth_on,
        )

    app.add_error_handler(MistralError, handle)


_TITLES = {
    400: "Not valid",
    401: "Sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Already done",
    410: "Link expired",
    503: "Try again",
}
