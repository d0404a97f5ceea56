"""Timers that fell due: applied in batches, each exactly once (deleted in the transaction that applies it).

The scheduler claims due timers and hands them here: a task's ``timeout``, a
``retry`` delay, ``wait-before`` and ``wait-after``, a cron trigger's next firing, the next
try of a cancel notice or of a notification, and the heartbeat timers of engines (whose
falling due means the engine died).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mistral_core.engine.notifications import NOTIFICATION
from mistral_core.errors import NotFoundError
from mistral_core.model import Timer
from mistral_core.services.cron import CronTriggers
from mistral_core.services.notices import Notices
from mistral_core.services.notifications import Notifications
from mistral_core.services.recovery import Recovery
from mistral_core.services.unit_of_work import NOTICE, Parts, Transactions, Work

LOG = logging.getLogger(__name__)


class Timers:
    """Applies due timers (the scheduler's sink).

    Args:
        transactions: runs the work.
        parts: the shared parts.
        cron: fires cron triggers.
        recovery: heart-beats and takes over dead engines.
        notices: tries cancel notices again.
        notifications: tries notifications again.
    """

    def __init__(
        self,
        transactions: Transactions,
        parts: Parts,
        cron: CronTriggers,
        recovery: Recovery,
        notices: Notices,
        notifications: Notifications,
    ) -> None:
        self._tx = transactions
        self._parts = parts
        self._cron = cron
        self._recovery = recovery
        self._notices = notices
        self._notifications = notifications

    def fire_timers(self, timers: Sequence[Timer]) -> None:
        """Apply timers that fell due (claimed by this engine): each exactly once."""
        others = sorted((t for t in timers if t.kind != "engine"), key=lambda t: t.due_at)
        if others:
            self._tx.in_batches(others, self._fire_one, _timer_failed)
        for timer in timers:
            if timer.kind == "engine":
                self._recovery.take_over(timer)

    def heartbeat(self) -> None:
        """Say this engine is alive (see :meth:`Recovery.heartbeat`)."""
        self._recovery.heartbeat()

    def _fire_one(self, work: Work, timer: Timer) -> None:
        if not work.store.delete_timer(timer.id):
            return  # cancelled, or fired by another engine
        if timer.kind == "cron":
            self._cron.fire(work, timer)
            return
        if timer.kind == NOTICE:
            self._notices.fire(work, timer)
            return
        if timer.kind == NOTIFICATION:
            self._notifications.fire(work, timer)
            return
        if timer.workflow_execution_id is None:
            return
        try:
            st = work.state(timer.workflow_execution_id)
        except NotFoundError:
            return
        task_id = timer.payload.get("task_id") if timer.kind == "heartbeat" else timer.target_id
        if task_id in st.tasks and timer.kind in ("timeout", "heartbeat"):
            work.actions_of(st, task_id)
        self._parts.conductor.on_timer(st, timer)


def _timer_failed(timer: Timer) -> None:
    LOG.error(
        "timer %s (%s of %s) could not be applied and was dropped", timer.id, timer.kind, timer.target_id
    )
