"""The signing keys of an OpenID Connect provider: found by discovery, fetched, cached, bounded.

PyJWT's :class:`jwt.PyJWKClient` fetches and parses the provider's JWKS (standard library, a
timeout, http(s) only, no redirects). When it is fetched is decided here, so that no stranger
can make us fetch at will and no outage of the provider makes every request wait:

* the key set is kept :data:`KEYS_MAX_AGE_S`, then fetched again on the next token;
* a token naming a key id (``kid``) the set does not hold fetches it again (the provider may have
  rotated its keys), at most once per :data:`COOLDOWN_S`: tokens with random kids cost nothing
  more than a look-up;
* after a failed fetch, nothing is fetched for :data:`RETRY_S`; the last key set fetched keeps
  serving meanwhile (and past its age, until a fetch succeeds), and a token that needs keys we
  never got is answered 503 at once.

The ``jwks_uri`` comes from the setting ``oidc_jwks_url``, or from the provider's discovery
document (:class:`~.oidc_discovery.Discovery`, shared with the UI's sign-in), read on the first token.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import jwt

from mistral_core.auth.oidc_discovery import FETCH_TIMEOUT_S, RETRY_S, Discovery
from mistral_core.errors import ServiceUnavailable, Unauthenticated

LOG = logging.getLogger(__name__)

#: Seconds the provider's key set is used before it is fetched again.
KEYS_MAX_AGE_S = 300.0
#: Seconds between two fetches caused by unknown key ids.
COOLDOWN_S = 30.0

_UNREACHABLE = "The OIDC provider's keys cannot be fetched now: try again later"


@dataclasses.dataclass(frozen=True, slots=True)
class KeySource:
    """Where the keys are, and how often they may be fetched.

    Attributes:
        issuer: the provider's issuer URL (discovery is under it).
        jwks_url: the JWKS URL; empty: discovered.
        max_age: seconds a fetched key set is used.
        cooldown: least seconds between two fetches for unknown key ids.
        retry: seconds without a fetch after a failed one.
        timeout: seconds one request may take.
    """

    issuer: str
    jwks_url: str = ""
    max_age: float = KEYS_MAX_AGE_S
    cooldown: float = COOLDOWN_S
    retry: float = RETRY_S
    timeout: float = FETCH_TIMEOUT_S


class ProviderKeys:
    """The provider's signing keys, by key id; thread-safe (one fetch at a time).

    Args:
        source: where the keys are and how often they may be fetched.
        discovery: the issuer's discovery document (default: read for ``source.issuer``).
    """

    def __init__(self, source: KeySource, discovery: Discovery | None = None) -> None:
        self._source = source
        self.discovery = discovery or Discovery(source.issuer, source.timeout, source.retry)
        self._lock = threading.Lock()
        self._client: jwt.PyJWKClient | None = None
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = -float("inf")
        self._failed_at = -float("inf")

    def signing_key(self, kid: str) -> jwt.PyJWK:
        """The signing key ``kid``: from the key set held, or fetched when due and allowed.

        Raises:
            Unauthenticated: the provider has no such key.
            ServiceUnavailable: no key set could be fetched yet.
        """
        keys = self._keys
        if keys is not None and time.monotonic() - self._fetched_at < self._source.max_age:
            found = _find(keys, kid)
            if found is not None:
                return found
        with self._lock:
            keys = self._refreshed(kid)
        if keys is None:
            raise ServiceUnavailable(_UNREACHABLE)
        found = _find(keys, kid)
        if found is None:
            raise Unauthenticated(f"The OIDC token is signed with a key the provider does not have: {kid}")
        return found

    def _refreshed(self, kid: str) -> jwt.PyJWKSet | None:
        """The key set, fetched first if it is too old, or lacks ``kid`` and the cooldown allows."""
        now = time.monotonic()
        if now - self._failed_at < self._source.retry:
            return self._keys
        keys = self._keys
        too_old = keys is None or now - self._fetched_at >= self._source.max_age
        kid_unknown = keys is not None and _find(keys, kid) is None
        if too_old or (kid_unknown and now - self._fetched_at >= self._source.cooldown):
            self._fetch()
        return self._keys

    def _fetch(self) -> None:
        try:
            client = self._jwks_client()
            self._keys = client.get_jwk_set(refresh=True)
        except ServiceUnavailable:
            self._failed_at = time.monotonic()
            return
        except (jwt.PyJWTError, ValueError) as exc:
            self._failed_at = time.monotonic()
            LOG.warning(
                "cannot fetch the keys of the OIDC provider %s: %s; not trying again for %g s",
                self._source.issuer,
                exc,
                self._source.retry,
            )
            return
        self._fetched_at = time.monotonic()

    def _jwks_client(self) -> jwt.PyJWKClient:
        """PyJWT's client of the JWKS URL (discovered on first use), caching nothing itself."""
        if self._client is None:
            url = self._source.jwks_url or self.discovery.endpoint("jwks_uri")
            self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=self._source.timeout)
        return self._client


def _find(keys: jwt.PyJWKSet, kid: str) -> jwt.PyJWK | None:
    """The signing key ``kid`` of ``keys`` (a key for encryption does not count)."""
    for key in keys.keys:
        if key.key_id == kid and key.public_key_use in ("sig", None):
            return key
    return None
