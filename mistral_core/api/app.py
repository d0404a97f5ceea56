"""The WSGI application: :func:`create_app` wires resources to routes, once.

No module globals: everything a resource needs arrives in its constructor
through an :class:`~mistral_core.api.context.ApiContext`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import falcon

from mistral_core.api import errors
from mistral_core.api.browsers import BrowserGuard, allowed_origin_set
from mistral_core.api.context import ApiContext, ApiOptions
from mistral_core.api.maintenance_guard import MaintenanceGuard
from mistral_core.api.metering import RequestLogIds, RequestMetering
from mistral_core.api.refusals import PushRefusals
from mistral_core.api.routes import ROUTES
from mistral_core.api.urltext import UrlTextCheck
from mistral_core.approvals.wiring import HumanWaits
from mistral_core.auth.identity import Authenticator
from mistral_core.auth.middleware import AuthMiddleware
from mistral_core.auth.oidc_login import SignInFlow
from mistral_core.engine.ports import SystemClock
from mistral_core.metrics.collectors import ActivityCollector
from mistral_core.metrics.exposition import Metrics
from mistral_core.services.engine import Engine
from mistral_core.ui import app as ui
from mistral_core.ui.context import UiContext
from mistral_core.ui.session import Sessions, UiAuth

DEFAULT_MAX_BODY_BYTES = 1_048_576


def create_app(
    engine: Engine,
    *,
    public_url: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allowed_hosts: frozenset[str] | None = None,
    allowed_origins: Iterable[str] = (),
    authenticators: Sequence[Authenticator] = (),
    human: HumanWaits | None = None,
    session_max_age: float = 8 * 3600.0,
    sign_in: SignInFlow | None = None,
    options: ApiOptions | None = None,
    metrics: Metrics | None = None,
    log_ids: bool = False,
) -> falcon.App[falcon.Request, falcon.Response]:
    """Build the REST API v2 application.

    Args:
        engine: the engine; the API writes through its methods and reads through ``engine.store``.
        public_url: the base URL clients reach the API at (``http://host:8989``).
        max_body_bytes: the largest request body accepted.
        allowed_hosts: the ``Host`` names served (see :func:`~mistral_core.api.browsers.allowed_host_names`);
            ``None``: any.
        allowed_origins: browser origins allowed to write besides ``public_url``'s; ``*``: any.
        authenticators: turn secrets into identities; none: authentication is off (every request
            is an admin of the default project).
        human: approvals and the signed links of their pages (default: built over ``engine``,
            signing with the secret kept in its database).
        session_max_age: how long a sign-in to the UI (``/ui``) lasts, in seconds.
        sign_in: the UI's sign-in through the OIDC provider (None: with a key or token only).
        options: settings of single endpoints (the report's size, action execution deletion, /info).
        metrics: this process's metrics, served at ``GET /metrics`` (default: the requests of
            this app and the store's activity).
        log_ids: put the ids of a request's path on the log lines written while it is served
            (with JSON log lines).

    Returns:
        A WSGI application.

    Raises:
        ValueError: ``max_body_bytes`` is not positive.
    """
    if max_body_bytes <= 0:
        raise ValueError("max_body_bytes must be positive")
    human = human or HumanWaits.build(engine, public_url)
    if metrics is None:
        metrics = Metrics()
        metrics.add(ActivityCollector(engine.store, SystemClock()))
    ctx = ApiContext(
        engine=engine,
        public_url=public_url.rstrip("/"),
        max_body_bytes=max_body_bytes,
        authenticators=tuple(authenticators),
        human=human,
        options=options or ApiOptions(),
        metrics=metrics,
    )
    sessions = None
    # No media handlers are used (see api/media.py), and CORS is off: both cost per request.
    guard = BrowserGuard(allowed_hosts, allowed_origin_set(ctx.public_url, allowed_origins))
    middleware: list[Any] = [RequestMetering(metrics.instruments.request_done), guard, UrlTextCheck()]
    if log_ids:
        middleware.insert(1, RequestLogIds())
    if authenticators:
        keys: Any = engine.store  # both stores keep API keys (the KeyStore port)
        sessions = Sessions(human.signer, session_max_age, public_url.startswith("https:"), keys)
        middleware.append(
            AuthMiddleware(authenticators, PushRefusals(engine, max_body_bytes), UiAuth(sessions))
        )
    middleware.append(MaintenanceGuard(engine.store))  # after who may: 401 and 403 come first
    app = falcon.App[falcon.Request, falcon.Response](cors_enable=False, middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True  # /v2/ and /v2, /v2/actions/<name>/ (the CLI)
    errors.install(app)
    _add_routes(app, ctx)
    ui.mount(
        app,
        UiContext(engine, human, tuple(authenticators), sessions, max_body_bytes, sign_in),
        errors.handle_mistral_error,
    )
    return app


def _add_routes(app: falcon.App[falcon.Request, falcon.Response], ctx: ApiContext) -> None:
    """Mount every route of :data:`~mistral_core.api.routes.ROUTES`, each with its own resource."""
    for route in ROUTES:
        app.add_route(route.path, route.resource(ctx), suffix=route.suffix)
