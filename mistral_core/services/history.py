"""The history of an action execution: one entry per result push or state change asked of it.

An accepted or repeated push is written in the transaction that judged it (under the lock of
its workflow execution), so the entry and the change are kept or lost together. A refused push
whose transaction was rolled back, or that never reached one (refused at the door: a callback
token of another action, a role too low), is written in a transaction of its own.

The history of one action execution is bounded: :data:`HISTORY_LIMIT` entries; past that,
pushes are still answered as before but only the accepted result (at most one per action
execution) is still written, so that nobody can grow the table without bound by hammering one
id.
"""

from __future__ import annotations

import logging

from mistral_core.errors import NotFoundError, StoreError
from mistral_core.model import ActionExecution, HistoryEntry, PushOrigin, State
from mistral_core.model.history import ACCEPTED, REJECTED
from mistral_core.services.unit_of_work import Parts, Work

LOG = logging.getLogger(__name__)

#: Entries kept per action execution (besides its accepted result, which is always written).
HISTORY_LIMIT = 100


class History:
    """Writes and reads the history of action executions.

    Args:
        parts: the shared parts.
    """

    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def write(
        self,
        action_ex_id: str,
        state: State | str | None,
        origin: PushOrigin,
        outcome: str,
        reason: str | None = None,
        work: Work | None = None,
    ) -> None:
        """Add an entry, inside the transaction that judged the push (its workflow execution locked);
        with ``work``, it is written with the work's records (on PostgreSQL, no round trip of its own).

        Past :data:`HISTORY_LIMIT` entries nothing is written but an accepted result.
        """
        store = self._parts.store
        is_result = outcome == ACCEPTED and state in (State.SUCCESS, State.ERROR, State.CANCELLED)
        if not is_result and store.count_history(action_ex_id) >= HISTORY_LIMIT:
            LOG.debug("history of action execution %s is full: %s push not recorded", action_ex_id, outcome)
            return
        entry = HistoryEntry(
            action_execution_id=action_ex_id,
            outcome=outcome,
            state=state.value if isinstance(state, State) else state,
            by=origin.by,
            remote_addr=origin.remote_addr,
            reason=reason,
            created_at=self._parts.clock.now(),
        )
        if work is not None:
            work.history.append(entry)
        else:
            store.add_history_entry(entry)

    def reject(self, action_ex_id: str, state: State | str | None, origin: PushOrigin, reason: str) -> None:
        """Record a refused push in a transaction of its own.

        Nothing is recorded for an unknown action execution. A store that fails here is logged,
        never raised: the push is answered with its own refusal all the same.
        """
        store = self._parts.store
        try:
            if store.count_history(action_ex_id) >= HISTORY_LIMIT:
                return  # full: a stranger hammering one id costs one index read, no write transaction
            with store.atomic():
                action_ex = store.get_action_execution(action_ex_id)
                if action_ex.workflow_execution_id is not None:  # the count and the write, serialised
                    store.lock_workflow_execution(action_ex.workflow_execution_id)
                self.write(action_ex_id, state, origin, REJECTED, reason)
        except NotFoundError:
            return
        except StoreError as exc:
            LOG.warning("the refused push to action execution %s was not recorded: %s", action_ex_id, exc)

    def of(self, action_ex_id: str) -> tuple[ActionExecution, list[HistoryEntry]]:
        """An action execution and its history, oldest entry first.

        Raises:
            NotFoundError: no such action execution.
        """
        store = self._parts.store
        return store.get_action_execution(action_ex_id), store.history_of(action_ex_id)
