"""``/ui/login`` (a key's secret, or an OIDC access token, for a session; and the link to sign in
through the OIDC provider, :mod:`.oidc`, when it is set up), ``/ui/logout``, and the stylesheet
(``/ui/static/style.css``)."""

from __future__ import annotations

from importlib import resources

import falcon

from mistral_core.errors import NotFoundError, Unauthenticated
from mistral_core.ui.context import UiContext
from mistral_core.ui.pages.common import posted, safe_next
from mistral_core.ui.render import page, see_other

#: The longest secret accepted (a generous provider's JWT fits).
MAX_SECRET = 16_384


class Login:
    """Sign in: ``GET`` shows the form; ``POST`` checks the secret and starts a session."""

    def __init__(self, ctx: UiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The sign-in form (signed in already: straight on)."""
        then = safe_next(req.get_param("next"))
        if self._ctx.auth_on and self._ctx.viewer(req) is not None:
            see_other(resp, then)
            return
        self._form(resp, then)

    def _form(self, resp: falcon.Response, then: str, error: str | None = None, status: int = 200) -> None:
        sign_in = self._ctx.sign_in
        page(
            resp,
            "login.html",
            status,
            title="Sign in",
            then=then,
            error=error,
            auth_on=self._ctx.auth_on,
            viewer=None,
            provider=(sign_in.client.provider_name or "your identity provider") if sign_in else None,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Check the secret; a session and on to ``next``, or the form again (401)."""
        form = posted(req)
        then = safe_next(form.get("next"))
        sessions = self._ctx.sessions
        if sessions is None:
            see_other(resp, then)
            return
        secret = form.get("secret", "").strip()
        identity = None
        try:
            if secret and len(secret) <= MAX_SECRET and secret.isascii():
                identity = next(
                    (
                        found
                        for a in self._ctx.authenticators
                        if (found := a.authenticate(secret)) is not None
                    ),
                    None,
                )
        except Unauthenticated as exc:
            self._form(resp, then, exc.message, 401)
            return
        if identity is None or identity.is_callback:
            self._form(resp, then, "This key is not valid (unknown, expired or revoked)", 401)
            return
        sessions.start(resp, identity)
        see_other(resp, then)


class Logout:
    """``POST /ui/logout``: end the session."""

    def __init__(self, ctx: UiContext) -> None:
        self._ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Forget the session; on to the sign-in form."""
        if self._ctx.sessions is not None:
            self._ctx.sessions.end(resp)
        see_other(resp, "/ui/login")


class Static:
    """``GET /ui/static/style.css``: the one stylesheet."""

    FILES = {"style.css": "text/css; charset=utf-8"}

    def __init__(self, ctx: UiContext) -> None:
        self._texts = {
            name: resources.files("mistral_core.ui").joinpath("static", name).read_text("utf-8")
            for name in self.FILES
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """The file.

        Raises:
            NotFoundError: no such file.
        """
        if name not in self._texts:
            raise NotFoundError(f"No file {name[:40]!r} here")
        resp.content_type = self.FILES[name]
        resp.set_header("Cache-Control", "max-age=3600")
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.text = self._texts[name]
