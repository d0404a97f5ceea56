"""Signing people in to the UI through the OpenID Connect provider: the authorization code flow
with PKCE (RFC 6749 4.1, RFC 7636 S256, OpenID Connect Core 1.0 3.1), as a confidential client
(with a secret) or a public one.

* :meth:`SignInFlow.begin`: a new :class:`Pending` sign-in (``state``, ``nonce`` and the PKCE
  verifier, 256 random bits each; the page to go back to; an expiry) and the URL of the
  provider's ``authorization_endpoint`` to send the browser to. The UI keeps the pending sign-in in
  a short-lived signed cookie of that browser, and nowhere else.
* :meth:`SignInFlow.finish`: the provider sent the browser back with ``code`` and ``state``. The
  state must be the browser's (and is spent: a second use is refused); the code is exchanged at
  the ``token_endpoint`` with the verifier (after the answer's ``iss``, when it has one, was found
  to be the provider's: RFC 9207); the ID token must verify against the provider's keys
  (through :class:`~.oidc.OIDCAuthenticator`: signature, ``iss``, ``exp``, ``iat``) for this
  client (``aud``, and ``azp`` when present) and carry the pending ``nonce``. The identity is then
  the **access token's**, mapped exactly as the API maps it (roles, role map, project, groups):
  the access token is the provider's statement of what the person may do in this service
  (``aud`` is ``oidc_audience``), the one the ``mistral`` CLI sends, and where providers put roles
  by default (Keycloak's ``realm_access.roles``); the ID token only proves who signed in to the UI,
  and must name the same subject. Neither token is kept: the UI's session cookie holds the
  identity, signed.

Both endpoints come from the discovery document the key fetching reads
(:class:`~.oidc_discovery.Discovery`). Every failure is one line: :class:`~mistral_core.errors.InputError`
(the browser's sign-in is not this one, or the provider refused the code),
:class:`~mistral_core.errors.Unauthenticated` (a token that does not verify, a sign-in the provider
did not complete), :class:`~mistral_core.errors.Forbidden` (a person without a role here),
:class:`~mistral_core.errors.ServiceUnavailable` (the provider cannot be reached).

The standard library does the flow (a URL, one form POST), and PyJWT, through the authenticator
given, the tokens; PyJWT is not imported here. Authlib would bring a second JOSE implementation
beside PyJWT and an HTTP client, and the checks that matter (state, nonce, ``azp``, ``iss``, the
mapping of claims) would still be ours to make.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import hashlib
import hmac
import http.client
import logging
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote_plus, urlencode

from mistral_core.auth.identity import Identity
from mistral_core.auth.oidc_discovery import FETCH_TIMEOUT_S, UNREACHABLE, Discovery, open_json
from mistral_core.config import Settings
from mistral_core.errors import InputError, ServiceUnavailable, Unauthenticated

LOG = logging.getLogger(__name__)

#: Where the provider sends the browser back (the redirect URI is ``<public_url>`` + this).
CALLBACK_PATH = "/ui/oidc/callback"
#: Seconds a sign-in may take at the provider.
FLOW_MAX_AGE_S = 600
#: The longest ``state``, ``code``, token, error and error description read from the provider.
MAX_STATE, MAX_CODE, MAX_TOKEN, MAX_ERROR, MAX_DESCRIPTION = 128, 4096, 16_384, 64, 200
#: How many spent states are remembered (each until its sign-in would have expired).
SPENT_ENTRIES = 4096
#: A scope is printable ASCII without space, ``"`` or ``\`` (RFC 6749 3.3).
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")

_STALE = "This sign-in was not started in this browser, or took too long: sign in again"


class TokenChecker(Protocol):
    """What checks the provider's tokens (:class:`~.oidc.OIDCAuthenticator`)."""

    @property
    def discovery(self) -> Discovery:
        """The provider's discovery document."""
        ...

    def verified_claims(self, token: str, audience: str) -> dict[str, Any]:
        """The claims of a valid token of the provider for ``audience``."""
        ...

    def authenticate(self, secret: str) -> Identity | None:
        """The identity an access token proves (None: not a JWT)."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class LoginClient:
    """The UI as a client of the provider (the settings ``oidc_ui_*``).

    Attributes:
        client_id: its client id at the provider.
        redirect_uri: ``<public_url>/ui/oidc/callback``, registered at the provider.
        client_secret: its secret (empty: a public client).
        scopes: what it asks for (``openid`` first).
        provider_name: the provider's name on the sign-in page (empty: none).
    """

    client_id: str
    redirect_uri: str
    client_secret: str = dataclasses.field(default="", repr=False)
    scopes: tuple[str, ...] = ("openid",)
    provider_name: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginClient | None:
        """The client the settings describe (None: ``oidc_ui_client_id`` is empty).

        Raises:
            InputError: a scope that is not a scope.
        """
        client_id = settings.oidc_ui_client_id.strip()
        if not client_id:
            return None
        scopes = ("openid", *dict.fromkeys(s for s in settings.oidc_ui_scopes if s != "openid"))
        bad = [scope for scope in scopes if not _SCOPE.fullmatch(scope)]
        if bad:
            raise InputError(f"setting oidc_ui_scopes: {bad[0]!r} is not a scope")
        return cls(
            client_id=client_id,
            redirect_uri=settings.base_url + CALLBACK_PATH,
            client_secret=settings.oidc_ui_client_secret,
            scopes=scopes,
            provider_name=settings.oidc_ui_provider_name.strip(),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Pending:
    """A sign-in the browser started: what it must come back with, and where it goes then.

    Attributes:
        state: sent to the provider, must come back (binds the answer to this browser).
        nonce: sent to the provider, must be in the ID token (binds the token to this sign-in).
        verifier: the PKCE code verifier (its S256 challenge was sent; it goes with the code).
        then: the page of the UI to go to afterwards (a relative path).
        expires: unix time after which it is refused.
    """

    state: str
    nonce: str
    verifier: str
    then: str
    expires: int

    def as_dict(self) -> dict[str, Any]:
        """Compact, for the browser's cookie (signed there)."""
        return {"s": self.state, "n": self.nonce, "v": self.verifier, "t": self.then, "e": self.expires}

    @classmethod
    def from_dict(cls, data: Any) -> Pending:
        """The inverse of :meth:`as_dict`.

        Raises:
            ValueError: not such a dict.
        """
        if not isinstance(data, dict):
            raise ValueError("not a pending sign-in")
        state, nonce, verifier, then, expires = (data.get(k) for k in ("s", "n", "v", "t", "e"))
        if not (
            isinstance(state, str)
            and isinstance(nonce, str)
            and isinstance(verifier, str)
            and isinstance(then, str)
            and isinstance(expires, int)
        ):
            raise ValueError("not a pending sign-in")
        return cls(state, nonce, verifier, then, expires)


def challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SpentStates:
    """The states of sign-ins already finished (or tried), until they would have expired: a state
    is used once. Bounded (the oldest go first); thread-safe. Per process: across processes the
    provider's single-use codes are what refuses a replay."""

    def __init__(self, entries: int = SPENT_ENTRIES) -> None:
        self._entries = entries
        self._spent: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._lock = threading.Lock()

    def spend(self, state: str, expires: int, now: float) -> bool:
        """Mark ``state`` spent; False if it already was."""
        with self._lock:
            while self._spent and next(iter(self._spent.values())) <= now:
                self._spent.popitem(last=False)
            if state in self._spent:
                return False
            while len(self._spent) >= self._entries:
                self._spent.popitem(last=False)
            self._spent[state] = expires
            return True


class SignInFlow:
    """The UI's sign-in through the provider.

    Args:
        client: the UI as the provider's client.
        checker: checks the provider's tokens and maps the identity (the API's OIDC authenticator).
        max_age: seconds a sign-in may take.
        clock: seconds since the epoch.
        timeout: seconds the token request may take.
    """

    def __init__(
        self,
        client: LoginClient,
        checker: TokenChecker,
        max_age: int = FLOW_MAX_AGE_S,
        clock: Callable[[], float] = time.time,
        timeout: float = FETCH_TIMEOUT_S,
    ) -> None:
        self.client = client
        self.max_age = max_age
        self._checker = checker
        self._clock = clock
        self._timeout = timeout
        self._spent = SpentStates()

    def begin(self, then: str) -> tuple[str, Pending]:
        """A new sign-in going to ``then`` afterwards, and the provider's URL to send the browser to.

        Raises:
            ServiceUnavailable: the provider's discovery document cannot be read.
        """
        endpoint = self._checker.discovery.endpoint("authorization_endpoint")
        pending = Pending(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(48),
            then=then,
            expires=int(self._clock()) + self.max_age,
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client.client_id,
                "redirect_uri": self.client.redirect_uri,
                "scope": " ".join(self.client.scopes),
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": challenge(pending.verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending

    def finish(self, pending: Pending | None, params: Mapping[str, str]) -> Identity:
        """The identity the provider's answer ``params`` (the callback's query) proves.

        Args:
            pending: the browser's pending sign-in (None: it has none, or not a valid one).
            params: ``code`` and ``state``, or ``error`` (and ``error_description``) and ``state``.

        Raises:
            InputError: no pending sign-in, another state, a state already used, no code, or a
                code the provider refused (used already, expired, not this client's).
            Unauthenticated: the provider did not sign the person in, or its tokens do not verify.
            Forbidden: the person has no role (or no project) here.
            ServiceUnavailable: the provider cannot be reached.
        """
        now = self._clock()
        state = params.get("state", "")
        if pending is None or pending.expires <= now:
            raise InputError(_STALE)
        if len(state) > MAX_STATE or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise InputError("This answer of the provider is not for the sign-in this browser started")
        if not self._spent.spend(pending.state, pending.expires, now):
            raise InputError("This sign-in was already used: sign in again")
        self._check_issuer(params)
        if "error" in params:
            raise Unauthenticated(f"The provider did not sign you in: {_provider_error(params)}")
        code = params.get("code", "")
        if not code or len(code) > MAX_CODE or not code.isascii():
            raise InputError("The provider sent no usable code: sign in again")
        tokens = self._exchange(code, pending.verifier)
        return self._identity(tokens, pending)

    def _check_issuer(self, params: Mapping[str, str]) -> None:
        """The answer names our provider as its issuer when it says who it is (RFC 9207: against a
        provider's answer passed off as another's), and must when the provider says it always does.

        Raises:
            InputError: it names another, or none when it must.
        """
        discovery = self._checker.discovery
        if "iss" in params:
            if params["iss"] != discovery.issuer:
                raise InputError("This answer comes from another provider than this server's (iss)")
        elif discovery.document().get("authorization_response_iss_parameter_supported") is True:
            raise InputError("This answer of the provider does not say who sent it (iss): sign in again")

    def _exchange(self, code: str, verifier: str) -> dict[str, str]:
        """The provider's tokens for ``code`` (``id_token``, ``access_token``)."""
        discovery = self._checker.discovery
        url = discovery.endpoint("token_endpoint")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.client.redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
        secret = self.client.client_secret
        if secret and _secret_in_form(discovery.document()):
            form.update(client_id=self.client.client_id, client_secret=secret)
        elif secret:
            pair = f"{quote_plus(self.client.client_id)}:{quote_plus(secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            form["client_id"] = self.client.client_id
        request = urllib.request.Request(url, data=urlencode(form).encode(), headers=headers, method="POST")
        try:
            status, answer = open_json(request, self._timeout)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            LOG.warning("the OIDC token endpoint %s did not answer: %s", url, exc)
            raise ServiceUnavailable(UNREACHABLE) from None
        if status >= 500 or not isinstance(answer, dict):
            LOG.warning("the OIDC token endpoint %s answered %s", url, status)
            raise ServiceUnavailable(UNREACHABLE)
        if status != 200:
            raise InputError(f"The provider refused this sign-in: {_provider_error(answer)}; sign in again")
        tokens = {name: answer.get(name) for name in ("id_token", "access_token")}
        for name, value in tokens.items():
            if not isinstance(value, str) or not value or len(value) > MAX_TOKEN or not value.isascii():
                raise Unauthenticated(f"The provider's answer has no usable {name}")
        return {name: str(value) for name, value in tokens.items()}

    def _identity(self, tokens: Mapping[str, str], pending: Pending) -> Identity:
        client_id = self.client.client_id
        claims = self._checker.verified_claims(tokens["id_token"], client_id)
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), pending.nonce.encode()):
            raise Unauthenticated("The ID token is not for this sign-in (nonce)")
        audience = claims.get("aud")
        several = isinstance(audience, list) and len(audience) > 1
        if ("azp" in claims or several) and claims.get("azp") != client_id:
            raise Unauthenticated("The ID token was issued to another client (azp)")
        try:
            identity = self._checker.authenticate(tokens["access_token"])
        except Unauthenticated as exc:
            raise Unauthenticated(
                f"The provider's access token is not accepted here: {exc.message}"
            ) from None
        if identity is None:
            raise Unauthenticated(
                "The provider's access token is not a JWT: the roles are read from it "
                "(ask for a JWT access token for this service's oidc_audience)"
            )
        if identity.name != claims.get("sub"):
            raise Unauthenticated("The provider's access token and ID token name different people")
        return identity


def _secret_in_form(document: Mapping[str, Any]) -> bool:
    """Whether the provider takes a client's secret in the form only (``client_secret_post``);
    otherwise HTTP Basic, the default of OpenID Connect Discovery."""
    methods = document.get("token_endpoint_auth_methods_supported")
    return (
        isinstance(methods, list) and "client_secret_post" in methods and "client_secret_basic" not in methods
    )


def _provider_error(fields: Mapping[str, Any]) -> str:
    """The ``error`` and ``error_description`` of an OAuth answer, as one short printable line."""
    error = _printable(fields.get("error"), MAX_ERROR) or "an error"
    description = _printable(fields.get("error_description"), MAX_DESCRIPTION)
    return f"{error} ({description})" if description else error


def _printable(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    return "".join(c for c in value[:limit] if c.isprintable()).strip()
