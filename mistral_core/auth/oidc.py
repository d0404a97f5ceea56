"""Access tokens of an OpenID Connect provider (Keycloak, Dex, Auth0, node-oidc-provider...).

A token is a JWT (three dot-separated parts). It is accepted when:

* its header names an asymmetric algorithm (:data:`ALGORITHMS`: never ``none``, never an HMAC
  one, so that a provider's public key can never serve as a shared secret) and a key id;
* its signature verifies with that key of the provider's JWKS (:mod:`.oidc_keys`: cached, and
  fetched again on an unknown key id at most once per cooldown);
* its ``iss`` is the configured issuer, its ``aud`` holds the configured audience, and ``exp``,
  ``nbf`` and ``iat`` hold within a small leeway; ``sub``, ``exp`` and ``iat`` are required.

Its subject then gets an :class:`~.identity.Identity`: the name is ``sub``; the role is the
highest of the roles found in the roles claim (a dotted path: ``realm_access.roles``), through
the role map; the project and the groups come from their claims when configured. A valid token
whose subject has no role of ours is refused with 403 (who it is, is known; what it may do, is
nothing), any other fault with 401. Checks that need no network come first, so that a forged
token costs a parse, never a fetch.

PyJWT does the JOSE work (decoding, signature, claims); this module only decides what to ask it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt.algorithms import has_crypto

from mistral_core.auth.identity import DEFAULT_PROJECT, Identity, Role
from mistral_core.auth.oidc_discovery import Discovery
from mistral_core.auth.oidc_keys import KeySource, ProviderKeys
from mistral_core.config import Settings
from mistral_core.errors import Forbidden, InputError, Unauthenticated

#: The signature algorithms accepted: asymmetric ones only.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: The role names recognised when no role map is configured.
DEFAULT_ROLE_MAP: Mapping[str, Role] = {role.name.lower(): role for role in Role}
#: The longest key id, subject or project accepted.
MAX_NAME_CHARS = 255
#: How many verified tokens are remembered, and for how long at most (seconds).
CACHE_ENTRIES, CACHE_S = 1024, 60.0
#: The claims every token must carry (``iss`` and ``aud`` are checked against the settings).
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")

#: PyJWT's refusal -> our one-line reason.
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "it has expired"),
    (jwt.ImmatureSignatureError, "it is not valid yet (nbf or iat in the future)"),
    (jwt.InvalidAudienceError, "it is not for this service (aud)"),
    (jwt.InvalidIssuerError, "it is not from the configured issuer (iss)"),
    (jwt.InvalidSignatureError, "its signature does not verify"),
    (jwt.InvalidAlgorithmError, "its algorithm does not match its key"),
    (jwt.MissingRequiredClaimError, "a required claim is missing"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class OIDCConfig:
    """What tokens are accepted and how their claims become an identity (see the settings
    ``oidc_*`` in :class:`~mistral_core.config.Settings`)."""

    issuer: str
    audience: str
    jwks_url: str = ""
    roles_claim: str = "roles"
    role_map: Mapping[str, Role] = dataclasses.field(default_factory=lambda: dict(DEFAULT_ROLE_MAP))
    project_claim: str = ""
    groups_claim: str = ""
    leeway: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> OIDCConfig:
        """The configuration the settings give.

        Raises:
            InputError: a missing issuer or audience, a URL that is not http(s), a bad role map.
        """
        if not has_crypto:
            raise InputError("auth oidc needs the cryptography package: pip install 'mistral-core[oidc]'")
        for name in ("oidc_issuer", "oidc_audience"):
            if not getattr(settings, name).strip():
                raise InputError(f"setting {name} is required when auth includes oidc")
        for name in ("oidc_issuer", "oidc_jwks_url"):
            url = getattr(settings, name)
            if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
                raise InputError(f"setting {name} must be an http(s) URL, not {url!r}")
        if not settings.oidc_roles_claim.strip():
            raise InputError("setting oidc_roles_claim must name a claim")
        if not 0 <= settings.oidc_leeway <= 600:
            raise InputError(f"setting oidc_leeway must be between 0 and 600 s, not {settings.oidc_leeway}")
        return cls(
            issuer=settings.oidc_issuer.strip(),
            audience=settings.oidc_audience.strip(),
            jwks_url=settings.oidc_jwks_url.strip(),
            roles_claim=settings.oidc_roles_claim.strip(),
            role_map=parse_role_map(settings.oidc_role_map),
            project_claim=settings.oidc_project_claim.strip(),
            groups_claim=settings.oidc_groups_claim.strip(),
            leeway=settings.oidc_leeway,
        )


def parse_role_map(entries: tuple[str, ...]) -> dict[str, Role]:
    """``("idp-admin=admin", ...)`` as a mapping; no entries: :data:`DEFAULT_ROLE_MAP`.

    Raises:
        InputError: an entry is not ``name=role``, or names no role of ours.
    """
    if not entries:
        return dict(DEFAULT_ROLE_MAP)
    mapping: dict[str, Role] = {}
    for entry in entries:
        name, equals, role = entry.rpartition("=")
        if not equals or not name.strip():
            raise InputError(f"setting oidc_role_map: {entry!r} is not idp-role=admin|operator|reader")
        try:
            mapping[name.strip()] = Role.named(role)
        except ValueError as exc:
            raise InputError(f"setting oidc_role_map: {exc}") from None
    return mapping


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at the dotted ``path`` of ``claims`` (``realm_access.roles``), or None.

    A claim whose own name has dots (``https://example.org/roles``) is found whole first.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _names(value: Any) -> list[str]:
    """A claim's value as names: a list of strings (others ignored) or one space-separated string."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class VerifiedTokens:
    """The identities of tokens verified lately, so that a client's next requests with the same token
    cost a look-up, not a signature check (PyJWT spends ~0.2 ms on one).

    Bounded: at most :data:`CACHE_ENTRIES` tokens, each kept until its ``exp`` and at most
    :data:`CACHE_S` (so that keys the provider withdraws stop being honoured soon after its key set
    is fetched again). Only tokens that were valid are kept: a stranger's cannot fill it.
    """

    def __init__(self, entries: int = CACHE_ENTRIES, seconds: float = CACHE_S) -> None:
        self._entries = entries
        self._seconds = seconds
        self._identities: dict[str, tuple[Identity, float]] = {}

    def get(self, token: str) -> Identity | None:
        """The identity of ``token`` if it was verified lately and has not expired since."""
        found = self._identities.get(token)
        if found is None:
            return None
        identity, until = found
        if time.time() >= until:
            self._identities.pop(token, None)
            return None
        return identity

    def put(self, token: str, identity: Identity, expires: Any) -> None:
        """Remember ``token``'s identity until ``expires`` (its ``exp``), :data:`CACHE_S` at most."""
        if not isinstance(expires, int | float):
            return
        while len(self._identities) >= self._entries:
            try:  # the oldest first (dicts keep insertion order); another thread may take it too
                del self._identities[next(iter(self._identities))]
            except (KeyError, StopIteration, RuntimeError):
                break
        self._identities[token] = (identity, min(float(expires), time.time() + self._seconds))


class OIDCAuthenticator:
    """Turns an access token of the configured OpenID Connect provider into an identity.

    Args:
        config: the issuer, audience and claims.
        keys: the provider's keys (default: fetched as :mod:`.oidc_keys` says).
    """

    def __init__(self, config: OIDCConfig, keys: ProviderKeys | None = None) -> None:
        self._config = config
        self._keys = keys or ProviderKeys(KeySource(config.issuer, config.jwks_url))
        self._verified = VerifiedTokens()

    @classmethod
    def from_settings(cls, settings: Settings) -> OIDCAuthenticator:
        """The authenticator the ``oidc_*`` settings describe.

        Raises:
            InputError: see :meth:`OIDCConfig.from_settings`.
        """
        return cls(OIDCConfig.from_settings(settings))

    def authenticate(self, secret: str) -> Identity | None:
        """The identity the token proves; None for a secret that is not a JWT.

        Raises:
            Unauthenticated: a JWT that is not a valid token of the provider for this service.
            Forbidden: a valid token whose subject has no role here, or no project when one is
                required.
            ServiceUnavailable: the provider's keys are needed and cannot be fetched.
        """
        if secret.count(".") != 2:
            return None
        known = self._verified.get(secret)
        if known is not None:
            return known
        claims = self.verified_claims(secret, self._config.audience)
        identity = self._identity(claims)
        self._verified.put(secret, identity, claims["exp"])
        return identity

    @property
    def discovery(self) -> Discovery:
        """The provider's discovery document (shared with the UI's sign-in: read once)."""
        return self._keys.discovery

    def verified_claims(self, token: str, audience: str) -> dict[str, Any]:
        """The claims of ``token``, a JWT of the provider for ``audience``, once every check of
        this module's docstring held (the access tokens of the API are for ``oidc_audience``; the
        ID tokens of the UI's sign-in for its client id).

        Raises:
            Unauthenticated: not a valid token of the provider for ``audience``.
            ServiceUnavailable: the provider's keys are needed and cannot be fetched.
        """
        kid = self._checked_header(token)
        return self._verified_claims(token, self._keys.signing_key(kid), audience)

    def _checked_header(self, token: str) -> str:
        """The key id of a token whose header allows a signature check; no network."""
        try:
            unverified = jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _refused("it is not a well-formed JWT") from None
        header, payload = unverified["header"], unverified["payload"]
        if header.get("alg") not in ALGORITHMS:
            raise _refused(f"its algorithm is not one of {', '.join(ALGORITHMS)}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_NAME_CHARS:
            raise _refused("it names no key id (kid)")
        if payload.get("iss") != self._config.issuer:
            raise _refused("it is not from the configured issuer (iss)")
        return kid

    def _verified_claims(self, token: str, key: jwt.PyJWK, audience: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=audience,
                issuer=self._config.issuer,
                leeway=self._config.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as exc:
            reason = next((text for kind, text in _REASONS if isinstance(exc, kind)), "it is not valid")
            raise _refused(reason) from None
        return claims

    def _identity(self, claims: Mapping[str, Any]) -> Identity:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > MAX_NAME_CHARS:
            raise _refused("its subject (sub) is not a name")
        return Identity(
            name=subject,
            role=self._role(subject, claims),
            project=self._project(subject, claims),
            via="oidc",
            groups=self._groups(claims),
        )

    def _role(self, subject: str, claims: Mapping[str, Any]) -> Role:
        path = self._config.roles_claim
        found = [
            self._config.role_map[name]
            for name in _names(claim_at(claims, path))
            if name in self._config.role_map
        ]
        if not found:
            raise Forbidden(
                f"{subject} has no role here: claim {path} names none of "
                f"{', '.join(sorted(self._config.role_map))}"
            )
        return max(found)

    def _project(self, subject: str, claims: Mapping[str, Any]) -> str:
        path = self._config.project_claim
        if not path:
            return DEFAULT_PROJECT
        project = claim_at(claims, path)
        if not isinstance(project, str) or not project.strip() or len(project) > MAX_NAME_CHARS:
            raise Forbidden(f"{subject} has no project here: claim {path} is not a name")
        return project

    def _groups(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        path = self._config.groups_claim
        return tuple(_names(claim_at(claims, path))) if path else ()


def _refused(reason: str) -> Unauthenticated:
    return Unauthenticated(f"The OIDC token is not valid: {reason}")
