"""What every page is given, built once by :func:`~mistral_core.ui.app.mount`."""

from __future__ import annotations

import dataclasses

import falcon

from mistral_core.approvals.wiring import HumanWaits
from mistral_core.auth.identity import NOBODY, Authenticator, Identity
from mistral_core.auth.oidc_login import SignInFlow
from mistral_core.services.engine import Engine
from mistral_core.ui.session import Sessions


@dataclasses.dataclass(frozen=True, slots=True)
class UiContext:
    """The collaborators of the pages.

    Attributes:
        engine: the services (reads through ``engine.store``).
        human: approvals and the links of their pages.
        authenticators: what a sign-in's secret is checked by (empty: authentication is off).
        sessions: sign-ins (None: authentication is off; every page is :data:`NOBODY`'s, on loopback).
        max_body_bytes: the largest form accepted.
        sign_in: signing in through the OIDC provider (None: not offered).
    """

    engine: Engine
    human: HumanWaits
    authenticators: tuple[Authenticator, ...] = ()
    sessions: Sessions | None = None
    max_body_bytes: int = 1_048_576
    sign_in: SignInFlow | None = None

    @property
    def auth_on(self) -> bool:
        """Whether people sign in."""
        return self.sessions is not None

    def viewer(self, req: falcon.Request) -> Identity | None:
        """Who is looking: the signed-in identity (None: nobody signed in), or, with authentication
        off, :data:`NOBODY` (an admin: the server listens on loopback only)."""
        if not self.auth_on:
            return NOBODY
        found: Identity | None = getattr(req.context, "identity", None)
        return found
