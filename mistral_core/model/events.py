"""Events: the inputs the engine applies, each in one transaction."""

from __future__ import annotations

import dataclasses
from typing import Any

from mistral_core.model.states import State


@dataclasses.dataclass(frozen=True, slots=True)
class ActionCompleted:
    """An action execution has its result (from an executor or pushed over the API).

    ``output`` is the result data for SUCCESS, the error data for ERROR, ignored
    for CANCELLED.
    """

    action_execution_id: str
    state: State
    output: Any = None
    workflow_execution_id: str | None = None
    #: Why the engine itself decided this result (recovery); kept as the action's state_info.
    state_info: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ActionHandedOff:
    """An async action's ``run()`` returned: the third party has the work."""

    action_execution_id: str
    workflow_execution_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CancelNoticed:
    """What came of telling an async action its work is no longer wanted (one try).

    ``delivered``: True, its ``cancel()`` returned; False, it raised (``detail`` says why; the
    notice is tried again later); None, the action has no ``cancel()`` (nothing to deliver).
    """

    action_execution_id: str
    attempt: int
    delivered: bool | None
    reason: str
    detail: str | None = None
    workflow_execution_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class NotificationSent:
    """What came of one try of a notification's delivery.

    ``delivered``: the publisher took it. Otherwise ``detail`` says why not (one line); ``retry``
    False means trying again is pointless (``410 Gone``, a URL the egress policy refuses);
    ``retry_after`` is the wait the receiver asked for (``Retry-After``), in seconds, if any.
    ``command`` is the try itself (what a retry sends again).
    """

    command: Any
    delivered: bool
    detail: str | None = None
    retry: bool = True
    retry_after: float | None = None

    @property
    def workflow_execution_id(self) -> str | None:
        """The execution the notification is of."""
        wf_ex_id: str | None = getattr(self.command, "workflow_execution_id", None)
        return wf_ex_id


Event = ActionCompleted | ActionHandedOff | CancelNoticed | NotificationSent
