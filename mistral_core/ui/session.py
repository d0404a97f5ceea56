"""Signing in to the UI: a key's secret (or an OIDC access token) for a session cookie.

The sign-in form takes the secret once; whatever authenticator of the server accepts it gives the
identity. The browser then holds a cookie ``mistral_core_session`` (``HttpOnly``,
``SameSite=Strict``, ``Path=/ui``, ``Secure`` when the public URL is https) whose value is a
*signed reference*, never the secret: who (name, role, project, how, groups) and until when,
signed with the server's secret. On every page the signature and the time are checked, and a key
is looked up again by its name, so a revoked key's sessions end with it.

:class:`UiAuth` authenticates the pages (the API's
:class:`~mistral_core.auth.middleware.AuthMiddleware` hands it every page, with authentication on):
it reads the session of every page of :data:`~mistral_core.auth.policy.UI_PAGES` and authorizes it
by that table; without a session, a page that needs one sends the browser to sign in.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import falcon

from mistral_core.approvals.links import Signer
from mistral_core.auth import policy
from mistral_core.auth.identity import Identity, Role
from mistral_core.auth.ports import KeyStore
from mistral_core.errors import MistralError, NotFoundError, StoreError

COOKIE = "mistral_core_session"
PURPOSE = "session"
#: The longest cookie value read (a session of many groups fits; more is not ours).
MAX_COOKIE = 4096


class SignInRequired(MistralError):
    """A page that needs a session, asked for without one: the browser is sent to sign in (303)."""

    def __init__(self, then: str) -> None:
        super().__init__("Sign in to see this page")
        self.then = then


def login_url(then: str) -> str:
    """The sign-in page, going to ``then`` afterwards."""
    return "/ui/login?next=" + quote(then, safe="/")


class Sessions:
    """Makes and reads session cookies.

    Args:
        signer: signs with the server's secret.
        max_age: seconds a sign-in lasts.
        secure: the cookie goes over https only (the public URL is https).
        keys: where keys are looked up again (None: sessions of keys are not re-checked).
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        signer: Signer,
        max_age: float,
        secure: bool,
        keys: KeyStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = signer
        self.max_age = int(max_age)
        self.secure = secure
        self._keys = keys
        self._clock = clock

    def start(self, resp: falcon.Response, identity: Identity) -> None:
        """Give the browser a session of ``identity``."""
        claims = {
            "n": identity.name,
            "r": identity.role.name.lower(),
            "p": identity.project,
            "v": identity.via,
            "g": list(identity.groups),
            "e": int(self._clock()) + self.max_age,
        }
        body = (
            base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
        )
        value = f"{body}.{self._signer.sign(PURPOSE, body)}"
        self._set(resp, value, self.max_age)

    def end(self, resp: falcon.Response) -> None:
        """Forget the browser's session."""
        self._set(resp, "", 0)

    def _set(self, resp: falcon.Response, value: str, max_age: int) -> None:
        resp.set_cookie(
            COOKIE, value, max_age=max_age, path="/ui", secure=self.secure, http_only=True, same_site="Strict"
        )

    def identity(self, req: falcon.Request) -> Identity | None:
        """Who the session of ``req`` is (None: none, or one that is not valid, expired or revoked)."""
        values = req.get_cookie_values(COOKIE) or []
        for value in values:
            identity = self._read(value)
            if identity is not None:
                return identity
        return None

    def _read(self, value: str) -> Identity | None:
        body, _, signature = value.partition(".")
        if len(value) > MAX_COOKIE or not signature or not self._signer.valid(signature, PURPOSE, body):
            return None
        try:
            claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            if int(claims["e"]) <= self._clock():
                return None
            identity = Identity(
                name=str(claims["n"]),
                role=Role.named(str(claims["r"])),
                project=str(claims["p"]),
                via=str(claims["v"]),
                groups=tuple(str(g) for g in claims["g"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        return identity if self._still_valid(identity) else None

    def _still_valid(self, identity: Identity) -> bool:
        if identity.via != "key" or self._keys is None:
            return True
        try:
            return not self._keys.get_api_key(identity.name).revoked
        except NotFoundError:
            return False
        except StoreError:
            return False


class UiAuth:
    """A page's identity from its session; authorized by the UI's table.

    Args:
        sessions: reads session cookies.
    """

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        """Note who the session is; send the browser to sign in where a page needs one.

        Raises:
            SignInRequired: a page that needs a session, without one.
            Forbidden: the identity's role is not enough for the page.
        """
        template = req.uri_template
        if resource is None or template is None or not policy.is_ui(template):
            return
        identity = self._sessions.identity(req)
        if identity is not None:
            req.context.identity = identity
        if (template, req.method) in policy.LINK_PAGES:
            return  # its signed URL is its credential: the page checks it
        needed = policy.UI_PAGES.get((template, req.method), Role.ADMIN)
        if needed is None:
            return
        if identity is None:
            raise SignInRequired(req.relative_uri)
        policy.authorize(identity, template, req.method, params)
