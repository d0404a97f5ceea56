"""The records of human waits: the responses to an approval, and the server's signing secrets."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class ApprovalResponse:
    """One person's answer to an approval (``std.approval``), kept until the wait is decided.

    Attributes:
        id: a UUID.
        action_execution_id: the wait answered.
        responder: who answered: the signed-in identity's name, or the name typed on the page
            (authentication off, loopback only). One answer per responder and wait.
        decision: the option chosen.
        values: the form's values, as validated against the approval's schema.
        via: how the responder was known: ``key``, ``oidc`` or ``name`` (typed).
    """

    id: str
    action_execution_id: str
    responder: str
    decision: str
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    via: str = "name"
    created_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ServerSecret:
    """A random secret the server made for itself and keeps in its database (signing links and
    sessions when no secret is configured).

    Attributes:
        id: what it is for (``ui``).
        value: the secret (URL-safe text).
    """

    id: str
    value: str
    created_at: dt.datetime | None = None
