"""Maintenance mode (Mistral's ``/maintenance``): pause the whole service for an upgrade, then resume.

Asked to pause, the mode becomes ``PAUSING`` (committed first, so every process refuses new work
from then on), and every ``RUNNING`` workflow execution is paused — each in a transaction of its
own, as ``PUT /v2/executions/<id>`` pauses one, with the state_info :data:`PAUSED_INFO` — and
recorded in ``maintenance_pauses``. The mode becomes ``PAUSED`` once nothing runs: no workflow
execution is ``RUNNING`` and no synchronous action execution is in an executor. Asynchronous waits
do not hold it back (their third parties may still push results, which are kept, as for any paused
execution, and applied when it resumes). Asked to resume, the mode becomes ``RUNNING`` and the
executions it paused — those only: an execution a user paused stays paused — are resumed.

Nothing of this lives in a process: the mode and the pauses are rows, and the work is done by the
requests that read or change the mode (``GET`` and ``PUT``), a bounded amount each
(:data:`BUDGET` executions), so a large deployment reaches ``PAUSED`` over a few ``GET``\\ s and a
process that dies half way leaves nothing that the next request does not finish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import InputError, MaintenanceError, MistralError, NotFoundError, TransientStoreError
from mistral_core.model import Filter, Query, State
from mistral_core.model.maintenance import MODES, PAUSED, PAUSING, REQUESTABLE, RUNNING
from mistral_core.services.unit_of_work import Parts, Transactions, Work

LOG = logging.getLogger(__name__)

#: The state_info of an execution that maintenance paused.
PAUSED_INFO = "Paused for maintenance"
#: How many executions one request pauses or resumes at most (the next request goes on).
BUDGET = 500
#: How many executions are listed at once.
PAGE = 100

_RUNNING = Query(filters=(Filter("state", "eq", State.RUNNING.value),), limit=1)


def refuse_in_maintenance(store: ExecutionStore, what: str) -> None:
    """Raise :class:`MaintenanceError` unless the mode is ``RUNNING`` (read in the caller's
    transaction, if any).

    Args:
        store: where the mode is.
        what: what is refused, for the message (``starting an execution``).
    """
    mode = store.maintenance_mode().status
    if mode != RUNNING:
        raise MaintenanceError(refusal(mode, what), mode)


def refusal(mode: str, what: str) -> str:
    """The message of a request refused in maintenance (one line, saying what ends it)."""
    return (
        f"The service is in maintenance ({mode}): {what} is not allowed until it ends "
        '(PUT /maintenance {"status": "RUNNING"})'
    )


class Maintenance:
    """The maintenance mode: read it, change it, and carry out what it implies.

    Args:
        transactions: runs the pauses and resumes.
        parts: the shared parts.
        budget: how many executions one call pauses or resumes at most.
    """

    def __init__(self, transactions: Transactions, parts: Parts, budget: int = BUDGET) -> None:
        self._tx = transactions
        self._parts = parts
        self._budget = budget

    def mode(self) -> str:
        """The mode as stored (one indexed read; nothing is carried out)."""
        return self._parts.store.maintenance_mode().status

    def status(self) -> str:
        """The mode, once what it implies was carried on (``GET /maintenance``): in ``PAUSING``,
        executions still running are paused, and the mode becomes ``PAUSED`` once nothing runs;
        in ``RUNNING``, executions left paused by an interrupted resume are resumed."""
        mode = self.mode()
        if mode == RUNNING:
            self._resume_paused()
            return self.mode()
        self._pause_running()
        if mode == PAUSING and self._quiet():
            self._parts.store.change_maintenance_mode(PAUSED, (PAUSING,), "")
        return self.mode()

    def change(self, status: str, changed_by: str = "") -> str:
        """Ask for ``PAUSED`` or ``RUNNING`` (``PUT /maintenance``); the mode it led to.

        Raises:
            InputError: not a mode one may ask for (``PAUSING`` included).
        """
        if status not in REQUESTABLE:
            if status == PAUSING:
                raise InputError("PAUSING is an intermediate state: ask for PAUSED or RUNNING")
            shown = status if status in MODES else repr(status[:40])
            raise InputError(f"{shown} is not a maintenance state; choose PAUSED or RUNNING")
        store = self._parts.store
        if status == PAUSED:
            if store.change_maintenance_mode(PAUSING, (RUNNING,), changed_by):
                LOG.warning("maintenance: pausing (asked by %s)", changed_by or "nobody")
        elif store.change_maintenance_mode(RUNNING, (PAUSING, PAUSED), changed_by):
            LOG.warning("maintenance: resuming (asked by %s)", changed_by or "nobody")
        return self.status()

    def _each(self, what: str, body: Callable[[Work, str], None], wf_ex_id: str) -> None:
        """Run ``body`` for one execution in its own transaction. An execution that cannot be
        paused or resumed is logged and left for the next request (it keeps the mode from
        ``PAUSED``, or stays recorded): one bad execution must not stop the others."""

        def one(work: Work) -> None:
            body(work, wf_ex_id)

        try:
            self._tx.run(one)
        except TransientStoreError:
            raise  # the database, not the execution: the request is answered 503
        except MistralError as exc:
            LOG.error("maintenance: could not %s execution %s: %s", what, wf_ex_id, exc)

    # -- pausing --------------------------------------------------------------------
    def _pause_running(self) -> None:
        """Pause up to the budget of running executions, the oldest first."""
        store, done, marker = self._parts.store, 0, None
        while done < self._budget:
            limit = min(PAGE, self._budget - done)
            running = store.list_workflow_executions(
                Query(filters=_RUNNING.filters, limit=limit, marker=marker)
            )
            for wf_ex in running:
                self._each("pause", self._pause_one, wf_ex.id)
            done += len(running)
            if len(running) < limit:
                return
            marker = running[-1].id

    def _pause_one(self, work: Work, wf_ex_id: str) -> None:
        if work.store.maintenance_mode().status == RUNNING:
            return  # maintenance ended meanwhile
        try:
            st = work.state(wf_ex_id)
        except NotFoundError:
            return
        if st.wf_ex.state is not State.RUNNING:
            return  # paused with its parent, paused by a user, or ended meanwhile
        self._parts.conductor.pause(st, PAUSED_INFO)
        work.store.add_maintenance_pause(wf_ex_id)

    def _quiet(self) -> bool:
        """Nothing runs: no running workflow execution, no synchronous action in an executor."""
        store = self._parts.store
        return not store.list_workflow_executions(_RUNNING) and not store.sync_action_running()

    # -- resuming -------------------------------------------------------------------
    def _resume_paused(self) -> None:
        """Resume up to the budget of the executions maintenance paused, the first paused first."""
        store, done = self._parts.store, 0
        while done < self._budget:
            limit = min(PAGE, self._budget - done)
            paused = store.maintenance_pauses(limit)
            for wf_ex_id in paused:
                self._each("resume", self._resume_one, wf_ex_id)
            done += len(paused)
            if len(paused) < limit or self.mode() != RUNNING:
                return

    def _resume_one(self, work: Work, wf_ex_id: str) -> None:
        if work.store.maintenance_mode().status != RUNNING:
            return  # paused again meanwhile: it stays paused, and recorded
        work.store.delete_maintenance_pause(wf_ex_id)
        try:
            st = work.state(wf_ex_id)
        except NotFoundError:
            return  # deleted meanwhile
        if st.wf_ex.state is State.PAUSED:
            self._parts.conductor.resume(st)
