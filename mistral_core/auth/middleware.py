"""The Falcon middleware of authentication: the only contact of :mod:`mistral_core.auth` with the API.

A request carries its secret in one of three headers: ``X-Auth-Token`` (what
python-mistralclient sends), ``Authorization: Bearer <secret>``, or ``Mistral-Callback-Token``
(what ``std.mistral_http`` sends the third party). The first authenticator that knows the secret
gives the identity; the policy decides whether it may call the endpoint. The identity is left in
``req.context.identity`` for the resources (what a project sees, who pushed a result).

A request refused here (401, 403) is told to the optional ``on_refused`` listener first, with
the identity if one was established: the API records refused pushes of results in the history
of the action execution they were for.

Without authentication (``auth`` setting empty) the middleware is not installed and every
request is :data:`~mistral_core.auth.identity.NOBODY`, an admin of the default project.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import falcon

from mistral_core.auth import policy
from mistral_core.auth.identity import NOBODY, Authenticator, Identity
from mistral_core.errors import Forbidden, Unauthenticated

LOG = logging.getLogger(__name__)

#: The headers a secret may come in, most common first.
SECRET_HEADERS = ("X-AUTH-TOKEN", "MISTRAL-CALLBACK-TOKEN")
#: The longest secret accepted (a JWT of a generous provider fits; more is not worth reading).
MAX_SECRET_CHARS = 16_384


class PageAuth(Protocol):
    """Authenticates and authorizes the UI's pages (:class:`mistral_core.ui.session.UiAuth`)."""

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        """Note the page's identity (its session); refuse what the page's role does not allow."""
        ...


def identity_of(req: falcon.Request) -> Identity:
    """Who ``req`` comes from (:data:`NOBODY` when authentication is off)."""
    found: Identity = getattr(req.context, "identity", NOBODY)
    return found


class RefusalListener(Protocol):
    """Told of every request the middleware refuses, before the refusal is answered."""

    def __call__(
        self,
        req: falcon.Request,
        params: Mapping[str, Any],
        identity: Identity | None,
        error: Unauthenticated | Forbidden,
    ) -> None:
        """``identity``: who the request proved to be (None: it proved nothing, ``error`` says why)."""
        ...


class AuthMiddleware:
    """Authenticates every request but the public ones, and authorizes it by the policy.

    Args:
        authenticators: asked in order; the first that knows the secret decides.
        on_refused: told of each refused request (must not raise).
        pages: authenticates the UI's pages (by their session, not a header); without it they are
            refused. One middleware for both, so an API request pays for no second one.
    """

    def __init__(
        self,
        authenticators: Sequence[Authenticator],
        on_refused: RefusalListener | None = None,
        pages: PageAuth | None = None,
    ) -> None:
        self._authenticators = tuple(authenticators)
        self._on_refused = on_refused
        self._pages = pages

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        """After routing (the endpoint is known): 401 without a valid secret, 403 beyond its rights.

        Raises:
            Unauthenticated: no secret, or one no authenticator accepts.
            Forbidden: the identity may not call this endpoint.
        """
        template = req.uri_template
        if resource is None or template is None or policy.is_public(template, req.method):
            return
        if policy.is_ui(template):  # the UI's pages: by their session cookie, not a header
            if self._pages is None:
                raise Forbidden("The pages of this server are not served")
            self._pages.process_resource(req, resp, resource, params)
            return
        identity: Identity | None = None
        try:
            identity = self._authenticate(_secret(req))
            policy.authorize(identity, template, req.method, params)
        except (Unauthenticated, Forbidden) as exc:
            self._tell_refused(req, params, identity, exc)
            raise
        req.context.identity = identity

    def _tell_refused(
        self,
        req: falcon.Request,
        params: Mapping[str, Any],
        identity: Identity | None,
        error: Unauthenticated | Forbidden,
    ) -> None:
        """Tell the listener; a listener that fails is logged: the refusal is answered all the same."""
        if self._on_refused is None:
            return
        try:
            self._on_refused(req, params, identity, error)
        except Exception:  # a refusal must stay a 401/403, whatever the listener did
            LOG.exception("the listener of refused requests failed on %s %s", req.method, req.path)

    def _authenticate(self, secret: str) -> Identity:
        for authenticator in self._authenticators:
            identity = authenticator.authenticate(secret)
            if identity is not None:
                return identity
        raise Unauthenticated("The credential is not valid (unknown, expired or revoked)")


def _secret(req: falcon.Request) -> str:
    """The secret the request carries.

    Raises:
        Unauthenticated: none, or one that cannot be a secret.
    """
    secret = req.get_header("X-AUTH-TOKEN") or req.get_header("MISTRAL-CALLBACK-TOKEN")
    if not secret:
        scheme, _, value = (req.get_header("AUTHORIZATION") or "").partition(" ")
        secret = value.strip() if scheme.lower() == "bearer" else ""
    if not secret:
        raise Unauthenticated(
            "Authentication required: send a key or token as X-Auth-Token or Authorization: Bearer"
        )
    if len(secret) > MAX_SECRET_CHARS or not secret.isascii():
        raise Unauthenticated("The credential is not valid (unknown, expired or revoked)")
    return secret.strip()
