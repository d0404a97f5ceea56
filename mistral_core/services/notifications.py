"""Notifications after their first try: what came of each, and the tries again.

The first try of each delivery goes out right after the commit that decided its event
(:mod:`mistral_core.engine.notifications`), with a durable timer written in that same
transaction in case the try is lost. Here the outcome of each try is recorded: a delivered one
deletes its timer; a failed one moves the timer to the next try of the backoff schedule (a
``Retry-After`` the receiver sent is honoured when longer) and keeps a row that
``GET /v2/notifications`` lists, until a try is delivered or ``notify_retry_for`` passes (or the
publisher said trying again is pointless). When a timer falls due the delivery is tried again,
with the same id: a receiver that got it already drops the repeat.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
from collections.abc import Sequence
from urllib.parse import urlsplit

from mistral_core.engine.notifications import LOST_AFTER, NOTIFICATION, resolve, timer_payload
from mistral_core.errors import NotFoundError
from mistral_core.model import NotificationSent, Notify, Timer
from mistral_core.model.notifications import DELIVERED, FAILED, RETRYING, NotificationDelivery
from mistral_core.services.unit_of_work import Parts, Transactions, Work

LOG = logging.getLogger(__name__)
#: The most a backoff delay is stretched at random, so that retries of many deliveries that
#: failed together do not all come back at once (Standard Webhooks recommends jitter).
JITTER = 0.1


class Notifications:
    """Records the outcomes of notification tries and tries failed ones again.

    Args:
        transactions: runs the work.
        parts: the shared parts.
    """

    def __init__(self, transactions: Transactions, parts: Parts) -> None:
        self._tx = transactions
        self._parts = parts

    # -- outcomes -----------------------------------------------------------------
    def record(self, events: Sequence[NotificationSent]) -> None:
        """What came of tries: delivered ones are done; failed ones are tried again later."""
        self._tx.in_batches(events, self._record_one, _unrecorded)

    def _record_one(self, work: Work, event: NotificationSent) -> None:
        command: Notify = event.command
        work.store.delete_timers(command.delivery_id, NOTIFICATION)
        if event.delivered:
            if command.attempt > 1:  # it failed before, so it has a row: say it got through
                self._save(work, command, DELIVERED)
            return
        detail = f"try {command.attempt}: {event.detail or 'not delivered'}"
        if self._already_delivered(work, command):
            return  # a late outcome of a try overtaken by a later, delivered one
        give_up_at = dt.datetime.fromisoformat(command.give_up_at)
        delay = self._parts.notify_policy.delay(command.attempt) * (1 + random.uniform(0, JITTER))
        next_try = work.now + dt.timedelta(seconds=max(delay, event.retry_after or 0.0))
        if not event.retry or next_try > give_up_at:
            why = "not tried again" if not event.retry else f"given up after {command.attempt} tries"
            LOG.warning("notification %s (%s) %s: %s", command.delivery_id, command.event, why, detail)
            self._save(work, command, FAILED, f"{detail} ({why})")
            return
        self._keep_timer(work, command, next_try, "retry")
        self._save(work, command, RETRYING, detail, next_try)

    # -- timers -------------------------------------------------------------------
    def fire(self, work: Work, timer: Timer) -> None:
        """A delivery's timer fell due (it was deleted): try again, and keep a timer for the try."""
        payload = timer.payload
        try:
            wf_ex = work.store.get_workflow_execution(str(timer.workflow_execution_id))
        except NotFoundError:
            return  # deleted with its execution: nobody is told any more
        policy = self._parts.notify_policy
        ref = str(payload["ref"])
        tried = int(payload["attempt"])
        command = Notify(
            timer.target_id,
            tried + 1,
            str(payload["event"]),
            dict(payload["body"]),
            resolve(wf_ex, ref, policy) or {"type": payload.get("type")},
            ref,
            wf_ex.id,
            str(payload["give_up_at"]),
            wf_ex.project_id,
        )
        earlier = dataclasses.replace(command, attempt=tried)
        if payload.get("next") != "retry":  # the try in flight had no outcome in time
            self._save(work, earlier, RETRYING, f"try {tried}: no outcome within {LOST_AFTER:g} s")
        if resolve(wf_ex, ref, policy) is None:
            self._save(work, earlier, FAILED, "the publisher is no longer in the server's notify setting")
            return
        if work.now > dt.datetime.fromisoformat(command.give_up_at):
            self._save(work, earlier, FAILED, f"given up after {tried} tries")
            return
        work.commands.append(command)
        self._keep_timer(work, command, work.now + dt.timedelta(seconds=LOST_AFTER), "lost")

    def _keep_timer(self, work: Work, command: Notify, due_at: dt.datetime, why: str) -> None:
        work.store.insert_timer(
            Timer(
                id=self._parts.new_id(),
                due_at=due_at,
                kind=NOTIFICATION,
                target_id=command.delivery_id,
                workflow_execution_id=command.workflow_execution_id,
                payload={**timer_payload(command), "next": why},
                created_at=work.now,
            )
        )

    # -- the rows of troubled deliveries -----------------------------------------------
    def _already_delivered(self, work: Work, command: Notify) -> bool:
        row = work.store.get_notification_delivery(command.delivery_id)
        return row is not None and row.state == DELIVERED

    def _save(
        self,
        work: Work,
        command: Notify,
        state: str,
        error: str | None = None,
        next_try: dt.datetime | None = None,
    ) -> None:
        store = work.store
        row = store.get_notification_delivery(command.delivery_id)
        body = command.body
        store.save_notification_delivery(
            NotificationDelivery(
                id=command.delivery_id,
                workflow_execution_id=command.workflow_execution_id,
                event=command.event,
                entity_id=str(body.get("id")),
                entity_name=str(body.get("name")),
                publisher=str(command.publisher.get("type")),
                target=(row.target if row is not None else "") or _shown(self._parts, command),
                state=state,
                attempts=max(command.attempt, row.attempts if row is not None else 0),
                last_error=error or (row.last_error if row is not None else None),
                next_try_at=next_try,
                project_id=command.project_id,
                created_at=row.created_at if row is not None else work.now,
                updated_at=work.now,
            )
        )


def _shown(parts: Parts, command: Notify) -> str:
    """Where the delivery goes, as the notifier describes it (a URL without query or password)."""
    target = parts.notifiers.target(command.publisher)
    if "://" not in target:
        return target
    url = urlsplit(target)
    return f"{url.scheme}://{url.hostname or ''}{f':{url.port}' if url.port else ''}{url.path}"


def _unrecorded(event: NotificationSent) -> None:
    LOG.error(
        "the outcome of try %d of notification %s could not be recorded",
        event.command.attempt,
        event.command.delivery_id,
    )
