"""The durable scheduler: fires the timers kept in the database (timeouts, retries, waits, cron).

Nothing per timer lives in memory: one thread asks the store for timers that
fell due (an indexed query, claimed so that only one engine fires each), hands
them to the engine, and sleeps until the next due time (at most ``max_sleep``),
or until the engine announces an earlier timer. A timer is deleted in the
transaction that applies it, so it fires exactly once, also after a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from typing import Protocol

import croniter

from mistral_core.engine.ports import Clock, ExecutionStore, SystemClock
from mistral_core.errors import InputError
from mistral_core.model import Timer

LOG = logging.getLogger(__name__)


class TimerSink(Protocol):
    """Applies due timers (the engine)."""

    def fire_timers(self, timers: list[Timer]) -> None:
        """Apply these timers."""
        ...

    def heartbeat(self) -> None:
        """Say the engine is alive."""
        ...


class CronTab:
    """Crontab arithmetic with croniter (the engine's CronSchedule port).

    A pattern must fire: one that matches no date (``0 0 31 2 *``) is refused when the
    trigger is created. croniter looks at most :attr:`LOOK_AHEAD_YEARS` ahead for the next
    firing; the rarest pattern that fires, February 29, waits 8 years across 2100.
    """

    LOOK_AHEAD_YEARS = 10

    def validate(self, pattern: str) -> None:
        """Raise InputError if ``pattern`` is not a valid 5-field crontab that fires."""
        if len(pattern.split()) != 5 or not croniter.croniter.is_valid(pattern):
            raise InputError(
                f"Invalid cron pattern '{pattern[:60]}': expected 5 fields (minute hour "
                "day-of-month month day-of-week), e.g. '*/5 * * * *'"
            )
        self.next_after(pattern, dt.datetime.now(dt.UTC).replace(tzinfo=None))

    def next_after(self, pattern: str, after: dt.datetime) -> dt.datetime:
        """The first time strictly after ``after`` that ``pattern`` matches.

        Raises:
            InputError: the pattern never fires (no date within :attr:`LOOK_AHEAD_YEARS`), or
                croniter cannot read it.
        """
        try:
            schedule = croniter.croniter(pattern, after, max_years_between_matches=self.LOOK_AHEAD_YEARS)
            nxt: dt.datetime = schedule.get_next(dt.datetime)
        except croniter.CroniterBadDateError:
            raise InputError(
                f"Invalid cron pattern '{pattern[:60]}': it never fires (no date matches it "
                f"within {self.LOOK_AHEAD_YEARS} years)"
            ) from None
        except (croniter.CroniterError, ValueError, OverflowError) as exc:
            raise InputError(f"Invalid cron pattern '{pattern[:60]}': {exc}") from None
        return nxt


class Scheduler:
    """Claims and fires due timers from one thread.

    Args:
        store: where timers live.
        engine: applies them.
        clock: the time.
        batch: the most timers claimed at once.
        lease: seconds a claim holds before another engine may take the timer over (a claim left by
            a process that died is taken over after this; claiming and firing are milliseconds apart).
        max_sleep: the longest wait between two looks at the store.
        heartbeat_every: seconds between two heartbeats of the engine (None: none, for tests that
            drive the clock themselves).
    """

    def __init__(
        self,
        store: ExecutionStore,
        engine: TimerSink,
        clock: Clock | None = None,
        batch: int = 500,
        lease: float = 10.0,
        max_sleep: float = 1.0,
        heartbeat_every: float | None = 10.0,
    ) -> None:
        self._store = store
        self._engine = engine
        self._clock = clock or SystemClock()
        self._batch = batch
        self._lease = dt.timedelta(seconds=lease)
        self._max_sleep = max_sleep
        self._heartbeat_every = None if heartbeat_every is None else dt.timedelta(seconds=heartbeat_every)
        self._last_heartbeat: dt.datetime | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the scheduler thread."""
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def wake(self, due_at: dt.datetime | None = None) -> None:
        """A timer was added (due at ``due_at``): look again now."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current round."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> int:
        """Heart-beat if it is time, claim and fire what is due now; how many timers were fired."""
        now = self._clock.now()
        every = self._heartbeat_every
        if every is not None and (self._last_heartbeat is None or now - self._last_heartbeat >= every):
            self._engine.heartbeat()
            self._last_heartbeat = now
        timers = self._store.claim_due_timers(now, self.owner, now + self._lease, self._batch)
        if timers:
            self._engine.fire_timers(timers)
        return len(timers)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.run_once() >= self._batch:
                    continue  # more may be due: no sleep
                self._wake.wait(self._pause())
            except Exception:  # the loop must survive a database hiccup
                LOG.exception("scheduler round failed")
                self._wake.wait(self._max_sleep)
            self._wake.clear()

    def _pause(self) -> float:
        nxt = self._store.next_timer_due()
        if nxt is None:
            return self._max_sleep
        return max(0.0, min(self._max_sleep, (nxt - self._clock.now()).total_seconds()))
