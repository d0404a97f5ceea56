"""Cancel notices: telling an async action's third party its work is no longer wanted, until told.

When an async action's wait ends without its result — its execution cancelled or ended, its
``timeout`` or ``heartbeat-timeout``, its result pushed as CANCELLED by someone else — the
engine calls the action's ``cancel(context)`` (``context.cancel_reason`` says why; for
``std.mistral_http`` with a ``cancel_url``, a POST there). The first try goes out right after the
commit that decided it; a durable timer (kind ``notice``), written in that same transaction, tries
again with backoff (5 s, 15 s, 60 s, then every 5 min) until a try is delivered or
``notice_retry_for`` passed. Each try is in the action's history (``notified`` or
``notice-failed``); an action class without ``cancel()`` has nothing to be told.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from mistral_core.errors import NotFoundError
from mistral_core.model import CancelAction, CancelNoticed, PushOrigin, Timer
from mistral_core.model.history import NOTICE_FAILED, NOTIFIED
from mistral_core.services.history import History
from mistral_core.services.unit_of_work import NOTICE, Parts, Transactions, Work, notice_backoff

LOG = logging.getLogger(__name__)

#: Who tells third parties, as their action's history names it.
ENGINE = PushOrigin("mistral-core")


class Notices:
    """Tries cancel notices again and records what came of each try.

    Args:
        transactions: runs the work.
        parts: the shared parts.
        history: writes the tries into the actions' histories.
    """

    def __init__(self, transactions: Transactions, parts: Parts, history: History) -> None:
        self._tx = transactions
        self._parts = parts
        self._history = history

    def fire(self, work: Work, timer: Timer) -> None:
        """A notice's retry timer fell due (it was deleted): try again, and keep a timer for the next."""
        payload = timer.payload
        give_up_at = dt.datetime.fromisoformat(str(payload["give_up_at"]))
        try:
            action_ex = work.store.get_action_execution(timer.target_id)
        except NotFoundError:
            return
        attempt = int(payload["attempt"])
        if work.now >= give_up_at:
            LOG.warning(
                "cancel notice of action execution %s given up after %d tries", action_ex.id, attempt - 1
            )
            return
        work.commands.append(CancelAction.of(action_ex, str(payload["reason"]), attempt))
        work.store.insert_timer(
            Timer(
                id=self._parts.new_id(),
                due_at=work.now + dt.timedelta(seconds=notice_backoff(attempt)),
                kind=NOTICE,
                target_id=action_ex.id,
                workflow_execution_id=action_ex.workflow_execution_id,
                payload={**payload, "attempt": attempt + 1},
                created_at=work.now,
            )
        )

    def record(self, events: Sequence[CancelNoticed]) -> None:
        """What came of tries: in the actions' histories; a delivered notice is not tried again."""
        self._tx.in_batches(events, self._record_one, _unrecorded)

    def _record_one(self, work: Work, event: CancelNoticed) -> None:
        if event.delivered is not False:
            work.store.delete_timers(event.action_execution_id, NOTICE)
        if event.delivered is None:
            return  # the action has no cancel(): nothing was, or will be, told
        outcome = NOTIFIED if event.delivered else NOTICE_FAILED
        reason = event.reason if event.delivered else f"{event.reason}: {event.detail}"
        self._history.write(
            event.action_execution_id, "CANCELLED", ENGINE, outcome, f"try {event.attempt}: {reason}"
        )


def _unrecorded(event: CancelNoticed) -> None:
    LOG.error(
        "the try %d of the cancel notice of %s could not be recorded",
        event.attempt,
        event.action_execution_id,
    )
