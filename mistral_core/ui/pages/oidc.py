"""``/ui/oidc/start`` and ``/ui/oidc/callback``: signing in through the OIDC provider.

``GET /ui/oidc/start?next=<page>`` (the "Sign in with" link of the sign-in page) begins a sign-in
(:class:`~mistral_core.auth.oidc_login.SignInFlow`), keeps it in the browser's cookie
``mistral_core_oidc`` and sends the browser to the provider (303). The cookie is signed with the
server's secret, lives 10 minutes, and is ``HttpOnly``, ``Path=/ui/oidc`` and ``SameSite=Lax``:
it has to come back with the provider's redirect, a navigation from another site, which a
``Strict`` cookie would not. A link, not a form: the pages' ``form-action 'self'`` would stop a
form's redirect to the provider, and starting a sign-in changes nothing but this browser's cookie.

``GET /ui/oidc/callback?code=...&state=...`` clears that cookie first, whatever happens next (a
sign-in is used once), finishes the sign-in and starts the same session a key's sign-in starts
(:class:`~mistral_core.ui.session.Sessions`: the identity, signed; no token of the provider). It
then answers a small page that goes on to the page the person came from by itself (a meta
refresh, and a link): a redirect would keep the navigation one that another site started, on
which browsers do not send the ``SameSite=Strict`` session cookie. Every failure is an error page
with a 4xx (503 when the provider cannot be reached), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json

import falcon

from mistral_core.approvals.links import Signer
from mistral_core.auth.oidc_login import Pending, SignInFlow
from mistral_core.errors import NotFoundError
from mistral_core.ui.context import UiContext
from mistral_core.ui.pages.common import safe_next
from mistral_core.ui.render import page, see_other
from mistral_core.ui.session import Sessions

COOKIE = "mistral_core_oidc"
COOKIE_PATH = "/ui/oidc"
PURPOSE = "oidc-sign-in"
#: The longest cookie value read.
MAX_COOKIE = 4096
#: What the provider's answer may carry (anything else in the query is ignored).
PARAMS = ("state", "code", "iss", "error", "error_description")


class FlowCookie:
    """Keeps a pending sign-in in the browser: signed, short-lived, read once.

    Args:
        signer: signs with the server's secret.
        max_age: seconds it lives.
        secure: the cookie goes over https only.
    """

    def __init__(self, signer: Signer, max_age: int, secure: bool) -> None:
        self._signer = signer
        self._max_age = max_age
        self._secure = secure

    def give(self, resp: falcon.Response, pending: Pending) -> None:
        """Give the browser ``pending``."""
        body = json.dumps(pending.as_dict(), separators=(",", ":")).encode()
        text = base64.urlsafe_b64encode(body).decode().rstrip("=")
        resp.set_cookie(
            COOKIE,
            f"{text}.{self._signer.sign(PURPOSE, text)}",
            max_age=self._max_age,
            path=COOKIE_PATH,
            secure=self._secure,
            http_only=True,
            same_site="Lax",
        )

    def take(self, req: falcon.Request, resp: falcon.Response) -> Pending | None:
        """The browser's pending sign-in (None: none valid), and the cookie cleared."""
        resp.unset_cookie(COOKIE, path=COOKIE_PATH, same_site="Lax")
        for value in req.get_cookie_values(COOKIE) or []:
            text, _, signature = value.partition(".")
            if len(value) > MAX_COOKIE or not signature or not self._signer.valid(signature, PURPOSE, text):
                continue
            try:
                return Pending.from_dict(json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))))
            except (ValueError, binascii.Error):
                continue
        return None


def _parts(ctx: UiContext) -> tuple[SignInFlow, Sessions, FlowCookie]:
    """The sign-in, the sessions and the cookie.

    Raises:
        NotFoundError: this server offers no sign-in through a provider.
    """
    flow, sessions = ctx.sign_in, ctx.sessions
    if flow is None or sessions is None:
        raise NotFoundError("Signing in through an identity provider is not set up on this server")
    return flow, sessions, FlowCookie(ctx.human.signer, flow.max_age, sessions.secure)


class Start:
    """``GET /ui/oidc/start``: on to the provider."""

    def __init__(self, ctx: UiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Begin a sign-in: its cookie, and 303 to the provider's authorization endpoint."""
        flow, _, cookie = _parts(self._ctx)
        url, pending = flow.begin(safe_next(req.get_param("next")))
        cookie.give(resp, pending)
        see_other(resp, url)


class Callback:
    """``GET /ui/oidc/callback``: where the provider sends the browser back."""

    def __init__(self, ctx: UiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Finish the sign-in: a session, and a page that goes on."""
        flow, sessions, cookie = _parts(self._ctx)
        pending = cookie.take(req, resp)
        params = {name: value for name in PARAMS if (value := req.get_param(name)) is not None}
        identity = flow.finish(pending, params)
        sessions.start(resp, identity)
        then = safe_next(pending.then if pending is not None else None)
        page(resp, "signed_in.html", title="Signed in", then=then, viewer=identity, auth_on=True)
