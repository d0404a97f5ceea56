"""Signed, expiring URLs of the pages of waits, and the secret that signs them.

A wait's page is ``<public_url>/ui/respond/<action execution id>?exp=<unix time>&sig=<signature>``:
the signature is an HMAC-SHA256, under the server's secret, of the purpose, the id and the expiry.
The link is its own credential for that page only (see :mod:`mistral_core.auth.policy`): whoever
holds it may see the page; acting needs more (the page's own CSRF token, and, with authentication
on, a signed-in identity the approval accepts). It expires with its wait's deadline and at the
latest ``max_age`` seconds after it was made; a new one is made each time an operator reads the
action execution (``GET /v2/action_executions/<id>``) or opens the inbox.

The secret is the setting ``ui_secret``; without it the server makes one (256 random bits) and
keeps it in its database (``server_secrets``), so every process of a deployment signs alike and a
restart keeps the links working. Changing the secret ends every link and session at once.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from mistral_core.approvals.ports import ApprovalStore
from mistral_core.engine.ports import Clock
from mistral_core.errors import Forbidden, MistralError
from mistral_core.model import ActionExecution

#: The name of the server's own secret in ``server_secrets``.
SECRET_NAME = "ui"
#: The longest a link lives (default of the setting ``respond_link_max_age``): a week.
DEFAULT_MAX_AGE = 7 * 24 * 3600.0


class LinkExpired(MistralError):
    """A link whose time is over (410)."""


def server_secret(configured: str, store: ApprovalStore) -> bytes:
    """The secret that signs links and sessions: ``configured``, else the one kept in the database."""
    if configured:
        return configured.encode()
    return store.server_secret(SECRET_NAME, lambda: secrets.token_urlsafe(32)).encode()


class Signer:
    """HMAC-SHA256 signatures of short messages, one purpose apart from another.

    Args:
        secret: the key.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, purpose: str, *parts: str) -> str:
        """The signature of ``parts`` for ``purpose`` (43 URL-safe characters)."""
        message = "\x1f".join((purpose, *parts)).encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def valid(self, signature: str, purpose: str, *parts: str) -> bool:
        """Whether ``signature`` is that of ``parts`` for ``purpose`` (compared in constant time)."""
        return hmac.compare_digest(signature.encode(), self.sign(purpose, *parts).encode())


def unix(moment: dt.datetime) -> int:
    """Seconds since the epoch of a naive UTC time."""
    return calendar.timegm(moment.utctimetuple())


class RespondLinks:
    """Makes and checks the signed URLs of the pages of waits.

    Args:
        signer: signs with the server's secret.
        public_url: the server's public base URL.
        clock: the time (naive UTC).
        max_age: the longest a link lives, in seconds.
    """

    PURPOSE = "respond"

    def __init__(
        self, signer: Signer, public_url: str, clock: Clock, max_age: float = DEFAULT_MAX_AGE
    ) -> None:
        self.signer = signer
        self._public_url = public_url.rstrip("/")
        self._clock = clock
        self._max_age = max_age

    def path(self, action_ex_id: str) -> str:
        """The page's path, without its signature."""
        return f"/ui/respond/{action_ex_id}"

    def url(self, action_ex: ActionExecution) -> str:
        """A new signed URL of the page of ``action_ex``, expiring with it (or at the maximum age)."""
        latest = self._clock.now() + dt.timedelta(seconds=self._max_age)
        expires = min(latest, action_ex.deadline) if action_ex.deadline is not None else latest
        exp = str(unix(expires))
        query = urlencode({"exp": exp, "sig": self.signer.sign(self.PURPOSE, action_ex.id, exp)})
        return f"{self._public_url}{self.path(action_ex.id)}?{query}"

    def check(self, action_ex_id: str, exp: str | None, sig: str | None) -> int:
        """The expiry (unix time) of a valid link.

        Raises:
            Forbidden: no signature, or one that is not this server's for this wait.
            LinkExpired: a valid link whose time is over.
        """
        if not exp or not sig or not exp.isdigit() or len(exp) > 12 or len(sig) > 64:
            raise Forbidden("This link is not valid: it is not signed for this wait")
        if not self.signer.valid(sig, self.PURPOSE, action_ex_id, exp):
            raise Forbidden("This link is not valid: it is not signed for this wait")
        if int(exp) <= unix(self._clock.now()):
            raise LinkExpired("This link has expired: ask for a new one (the inbox, or the action execution)")
        return int(exp)
