"""Callback tokens: one credential per asynchronous action execution.

Each time an asynchronous action execution is sent to an executor, the services mint a token
for it (:func:`mint`): ``mcb_`` followed by 32 random bytes in URL-safe base64 (256 bits, see
:mod:`~mistral_core.auth.credentials`). The token travels to the action in its context
(``context.execution.callback_token``; ``std.mistral_http`` sends it as the header
``Mistral-Callback-Token``); the database keeps only its SHA-256 and the time it stops being
accepted.

:class:`CallbackAuthenticator` turns a presented token into the identity of that one action
execution; the policy (:data:`~mistral_core.auth.policy.CALLBACK_ROUTES`) lets it read that
action execution and push its result, nothing else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol

from mistral_core.auth.credentials import CALLBACK_PREFIX, digest
from mistral_core.auth.credentials import mint as mint_secret
from mistral_core.auth.identity import Identity, Role
from mistral_core.errors import Unauthenticated
from mistral_core.model import ActionExecution
from mistral_core.model.history import CALLBACK_TOKEN

#: How long a token is accepted by default: a month, so that a wait of weeks (a person's
#: approval, a batch job) is answered with the token it was given. The setting
#: ``callback_token_max_age`` changes it.
DEFAULT_MAX_AGE = dt.timedelta(days=30)
#: The ``name`` (and ``by``) of a callback token's identity.
CALLBACK_NAME = CALLBACK_TOKEN


@dataclasses.dataclass(frozen=True, slots=True)
class MintedToken:
    """A new callback token: the secret (sent once, never stored) and what is stored of it."""

    secret: str = dataclasses.field(repr=False)
    hash: str
    expires_at: dt.datetime


def mint(now: dt.datetime, max_age: dt.timedelta) -> MintedToken:
    """A new random token, accepted until ``now + max_age``."""
    secret = mint_secret(CALLBACK_PREFIX)
    return MintedToken(secret, digest(secret), now + max_age)


class CallbackTokenRefused(Unauthenticated):
    """A callback token that belongs to an action execution but is no longer accepted (401).

    Attributes:
        action_execution_id: the action execution it belongs to (so that a refused push can be
            recorded in that action execution's history).
    """

    def __init__(self, message: str, action_execution_id: str) -> None:
        super().__init__(message)
        self.action_execution_id = action_execution_id


class Clock(Protocol):
    """The time (the engine's clock fits; tests pass their own)."""

    def now(self) -> dt.datetime:
        """Now, timezone-naive UTC."""
        ...


class SystemClock:
    """The wall clock, timezone-naive UTC (as the store's times are)."""

    def now(self) -> dt.datetime:
        """Now."""
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class TokenLookup(Protocol):
    """Where tokens are looked up (the store)."""

    def action_execution_by_token(self, token_hash: str) -> ActionExecution | None:
        """The action execution whose token hashes to ``token_hash``, or None."""
        ...


class CallbackAuthenticator:
    """Authenticates ``mcb_`` secrets: the identity of one action execution, in its project.

    Args:
        store: finds an action execution by the hash of its token.
        clock: the time (tokens past their expiry are refused); default: the wall clock.
    """

    def __init__(self, store: TokenLookup, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock or SystemClock()

    def authenticate(self, secret: str) -> Identity | None:
        """The identity of the action execution ``secret`` is the token of; None if not a callback token.

        Raises:
            Unauthenticated: an ``mcb_`` secret no action execution has.
            CallbackTokenRefused: the token of an action execution, expired or revoked.
        """
        if not secret.startswith(CALLBACK_PREFIX):
            return None
        action_ex = self._store.action_execution_by_token(digest(secret))
        if action_ex is None:
            raise Unauthenticated("The callback token is not valid (unknown, expired or revoked)")
        expires_at = action_ex.callback_token_expires_at
        if expires_at is None or expires_at <= self._clock.now():
            when = "" if expires_at is None else f" at {expires_at.isoformat(' ', 'seconds')}"
            raise CallbackTokenRefused(
                f"The callback token of action execution {action_ex.id} expired or was revoked{when}",
                action_ex.id,
            )
        return Identity(
            name=CALLBACK_NAME,
            role=Role.READER,
            project=action_ex.project_id,
            via=CALLBACK_NAME,
            action_execution_id=action_ex.id,
        )
