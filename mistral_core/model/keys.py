"""The record of an API key: who may call the API with which role, in which project.

The secret itself is never stored: only its SHA-256 (see :mod:`mistral_core.auth.secrets`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key (``mistral-core keys create``).

    Attributes:
        id: a UUID.
        name: unique; who did what is recorded under this name.
        role: ``admin``, ``operator`` or ``reader``.
        secret_hash: the SHA-256 of the secret, in hex (the secret is shown once, never stored).
        project_id: the project it acts in.
        revoked_at: when it was revoked (``None``: it works).
        last_used_at: when it was last used, to the minute (``None``: never).
    """

    id: str
    name: str
    role: str
    secret_hash: str
    project_id: str = "<default-project>"
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked."""
        return self.revoked_at is not None
