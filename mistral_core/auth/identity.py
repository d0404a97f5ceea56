"""Who a request comes from, and what it may do."""

from __future__ import annotations

import dataclasses
import enum
from typing import Protocol

from mistral_core.model.projects import DEFAULT_PROJECT

__all__ = ["DEFAULT_PROJECT", "NOBODY", "Authenticator", "Identity", "Role"]


class Role(enum.IntEnum):
    """What an identity may do; each role may do everything the ones below it may."""

    READER = 1  #: reads only
    OPERATOR = 2  #: also starts, controls and completes executions and actions
    ADMIN = 3  #: everything, definitions and keys included

    @classmethod
    def named(cls, name: str) -> Role:
        """The role called ``name`` (``reader``, ``operator``, ``admin``; any case).

        Raises:
            ValueError: no role has that name.
        """
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}: use admin, operator or reader") from None


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller.

    Attributes:
        name: the key's name, the OIDC subject, or ``callback-token``.
        role: what it may do (a callback credential's role is checked by the policy apart).
        project: the project it acts in (what it creates belongs there; it sees only that).
        via: how it was authenticated: ``key``, ``oidc``, ``callback-token`` or ``none`` (auth off).
        action_execution_id: for a callback credential, the one action execution it is for.
        groups: the OIDC groups of the subject (empty for keys).
    """

    name: str
    role: Role
    project: str = DEFAULT_PROJECT
    via: str = "key"
    action_execution_id: str | None = None
    groups: tuple[str, ...] = ()

    @property
    def is_callback(self) -> bool:
        """Whether this is the credential of one async action execution."""
        return self.action_execution_id is not None

    @property
    def sees_all_projects(self) -> bool:
        """Admins of the default project see (and manage) every project's records."""
        return self.role is Role.ADMIN and self.project == DEFAULT_PROJECT and not self.is_callback

    @property
    def by(self) -> str:
        """Who did it, as the history of an action records it."""
        return "callback-token" if self.is_callback else self.name


#: Who every request is when authentication is off: an admin of the default project.
NOBODY = Identity(name="anonymous", role=Role.ADMIN, via="none")


class Authenticator(Protocol):
    """Turns a presented secret into an identity (an API key, an OIDC token, a callback token)."""

    def authenticate(self, secret: str) -> Identity | None:
        """The identity ``secret`` proves, or None if this authenticator does not know it.

        Raises:
            mistral_core.errors.Unauthenticated: the secret is of this authenticator's kind but not
                valid (expired, revoked, a bad signature); its message says why, in one line.
        """
        ...
