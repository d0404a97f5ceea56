"""The history of an action execution: every result push and state change asked of it.

One :class:`HistoryEntry` per ``PUT``/``POST /v2/action_executions/<id>`` that named a state,
accepted or not, with who asked (:class:`PushOrigin`) and what came of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

#: The push changed the action execution.
ACCEPTED = "accepted"
#: The push repeated what the action execution holds already (answered 200, nothing changed).
REPEATED = "repeated"
#: The push was refused (``reason`` says why).
REJECTED = "rejected"
#: An operator moved the deadline of the action's task (``POST /v2/waits/bulk``, op ``extend``);
#: ``reason`` says by how much and to when.
EXTENDED = "extended"
#: The engine told the action (its ``cancel(context)``) that its work is no longer wanted.
NOTIFIED = "notified"
#: Telling it failed (``reason`` says why); it is tried again later.
NOTICE_FAILED = "notice-failed"


@dataclasses.dataclass(frozen=True, slots=True)
class PushOrigin:
    """Who pushed, and from where.

    Attributes:
        by: the key's name, the OIDC subject, ``callback-token``, or ``anonymous`` when
            authentication is off (:attr:`mistral_core.auth.identity.Identity.by`).
        remote_addr: the peer address of the connection (a reverse proxy's, behind one).
    """

    by: str
    remote_addr: str | None = None


#: ``PushOrigin.by`` of a push made with the action execution's own callback token.
CALLBACK_TOKEN = "callback-token"

#: The origin of a push made inside this process (tests, :mod:`mistral_core.testing`).
IN_PROCESS = PushOrigin("in-process")


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One push or state change asked of an action execution.

    Attributes:
        action_execution_id: the action execution it was asked of.
        outcome: :data:`ACCEPTED`, :data:`REPEATED` or :data:`REJECTED` (a push), :data:`NOTIFIED`
            or :data:`NOTICE_FAILED` (a try of a cancel notice, by ``mistral-core``),
            :data:`EXTENDED` (an operator's ``extend`` of its deadline).
        state: the state asked for (``SUCCESS``, ``ERROR``, ``CANCELLED``, ``PAUSED``, ``RUNNING``);
            ``None`` for a push refused before its body was read that named none.
        by: who asked (see :class:`PushOrigin`).
        remote_addr: from where.
        reason: why it was rejected (one line); for :data:`EXTENDED`, the new deadline; ``None``
            otherwise.
        created_at: when.
    """

    action_execution_id: str
    outcome: str
    state: str | None
    by: str
    remote_addr: str | None = None
    reason: str | None = None
    created_at: dt.datetime | None = None
