"""API keys: making them (``mistral-core keys create``) and authenticating their secrets.

A key has a unique name, a role (:class:`~mistral_core.auth.identity.Role`) and a project;
its secret (``mck_...``) is shown once when it is made and only its SHA-256 is kept (see
:mod:`~mistral_core.auth.credentials` for why that is enough).

:class:`KeyAuthenticator` keeps, in memory, the identity of every key it has seen, by the
hash of its secret, so a request with a known key costs one SHA-256 and a dict look-up. A
revocation (by ``mistral-core keys revoke``, in any process) bumps a counter in the store; the
authenticator reads that counter at most once every :data:`REVALIDATE_SECONDS` and drops its
cache when it moved. So a revoked key stops working on every server within
:data:`REVALIDATE_SECONDS` (1 s) of the revocation's commit.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable

from mistral_core.auth.credentials import KEY_PREFIX, digest, mint
from mistral_core.auth.identity import DEFAULT_PROJECT, Identity, Role
from mistral_core.auth.ports import KeyStore
from mistral_core.errors import InputError, StoreError, Unauthenticated
from mistral_core.model import ApiKey

LOG = logging.getLogger(__name__)

#: The longest a revoked key keeps working on a server that had it cached (seconds).
REVALIDATE_SECONDS = 1.0
#: ``last_used_at`` is written at most this often per key and process (seconds): it is
#: accurate to the minute, and costs one write per key and minute, not one per request.
TOUCH_SECONDS = 60.0

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def check_name(what: str, value: str) -> str:
    """``value`` if it can name a key or a project: 1-64 letters, digits, ``. _ @ -``.

    Raises:
        InputError: it cannot.
    """
    if not _NAME.fullmatch(value):
        raise InputError(
            f"{what} {value!r} is not valid: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return value


def create_key(store: KeyStore, name: str, role: str, project: str | None = None) -> tuple[ApiKey, str]:
    """Make a key and store it; the key and its secret (shown once, never stored).

    Args:
        store: where keys are kept.
        name: unique, 1-64 letters, digits, ``. _ @ -``.
        role: ``admin``, ``operator`` or ``reader``.
        project: its project (default: the default project, whose admins see every project).

    Raises:
        InputError: a name, role or project that is not valid.
        DuplicateError: the name is taken (revoked keys keep theirs).
    """
    check_name("key name", name)
    try:
        chosen = Role.named(role)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    project_id = DEFAULT_PROJECT if project in (None, DEFAULT_PROJECT) else check_name("project", project)
    secret = mint(KEY_PREFIX)
    key = ApiKey(
        id=str(uuid.uuid4()),
        name=name,
        role=chosen.name.lower(),
        secret_hash=digest(secret),
        project_id=project_id,
    )
    store.create_api_key(key)
    return key, secret


@dataclasses.dataclass(slots=True)
class _Known:
    """A key the authenticator has seen: who it proves, and when its use was last written."""

    identity: Identity
    key_id: str
    touched: float


class KeyAuthenticator:
    """Turns ``mck_`` secrets into identities (``via="key"``); any other secret is not its kind.

    Args:
        store: where keys are kept.
        revalidate: seconds between two reads of the store's keys version (the bound on how
            long a revoked key keeps working here).
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        store: KeyStore,
        revalidate: float = REVALIDATE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._revalidate = revalidate
        self._clock = clock
        self._known: dict[str, _Known] = {}
        self._version: int | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()

    def authenticate(self, secret: str) -> Identity | None:
        """The identity of the key whose secret this is; None for a secret that is not a key's.

        Raises:
            Unauthenticated: an ``mck_`` secret of no key, or of a revoked one.
        """
        if not secret.startswith(KEY_PREFIX):
            return None
        now = self._clock()
        if now >= self._next_check:
            self._check_version(now)
        hashed = digest(secret)
        # Taken before the store is read: a key read before a revocation lands in the cache that
        # the revocation's check drops, never in the one after it.
        cache = self._known
        known = cache.get(hashed)
        if known is None:
            known = self._look_up(hashed, now)
            cache[hashed] = known
        if now - known.touched >= TOUCH_SECONDS:
            self._touch(known, now)
        return known.identity

    def _check_version(self, now: float) -> None:
        """Drop every cached key if one was revoked since the last check."""
        with self._lock:
            if now < self._next_check:
                return  # another thread just checked
            version = self._store.keys_version()
            if version != self._version:
                self._known = {}
                self._version = version
            self._next_check = now + self._revalidate

    def _look_up(self, hashed: str, now: float) -> _Known:
        key = self._store.find_api_key(hashed)
        if key is None:
            raise Unauthenticated("The API key is not valid (no key has this secret)")
        if key.revoked:
            raise Unauthenticated(f"The API key {key.name} was revoked")
        identity = Identity(name=key.name, role=Role.named(key.role), project=key.project_id, via="key")
        return _Known(identity, key.id, now - TOUCH_SECONDS)

    def _touch(self, known: _Known, now: float) -> None:
        """Write when the key was used (at most once a minute); a failure costs the request nothing."""
        known.touched = now
        try:
            self._store.touch_api_key(known.key_id)
        except StoreError as exc:
            LOG.debug("could not record the use of key %s: %s", known.identity.name, exc)
