"""What a scrape reads when it happens: the store's activity and the depths of queues.

Both are cached for :data:`CACHE_SECONDS`: scrapes coming closer together (several Prometheus
servers, every gunicorn worker scraped in turn) share one read. A read that fails is reported
(``mistral_core_store_up 0``, ``mistral_core_broker_up 0``), never raised: a scrape always
answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric

from mistral_core.engine.ports import Clock, ExecutionStore
from mistral_core.model.activity import (
    ACTIVE_ACTION_STATES,
    ACTIVE_TASK_STATES,
    ACTIVE_WORKFLOW_STATES,
    Activity,
)

LOG = logging.getLogger(__name__)

#: Seconds a read is kept for the scrapes that follow.
CACHE_SECONDS = 5.0
#: The most queues reported (the deepest): targets name queues, and labels must stay bounded.
MAX_QUEUES = 50


class Cached:
    """The value of ``read``, read again at most every ``ttl`` seconds (one reader at a time);
    ``None`` while the last read failed."""

    def __init__(self, read: Callable[[], Any], ttl: float = CACHE_SECONDS) -> None:
        self._read = read
        self._ttl = ttl
        self._lock = threading.Lock()
        self._value: Any = None
        self._at = -float("inf")
        self.seconds = 0.0

    def get(self) -> Any:
        """The value (reading it if the one kept is older than ``ttl``); None if that read failed."""
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self._ttl:
                try:
                    self._value = self._read()
                except Exception as exc:  # the store or broker is away: say so in the scrape
                    LOG.warning("metrics: could not read %s: %s", getattr(self._read, "__name__", "?"), exc)
                    self._value = None
                self._at = now
                self.seconds = time.monotonic() - now
            return self._value


def _gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class ActivityCollector:
    """The unfinished records by state, the waits and the timers due, from the store.

    Args:
        store: the store (its ``activity`` statement walks indexes only).
        clock: the time (for ages).
        ttl: seconds a read is kept.
    """

    def __init__(self, store: ExecutionStore, clock: Clock, ttl: float = CACHE_SECONDS) -> None:
        self._clock = clock
        self._cached = Cached(lambda: (store.activity(clock.now()), clock.now()), ttl)

    def describe(self) -> list[Metric]:
        """Nothing: the store is read at scrape time only (never when the collector is registered)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The gauges of the last read (at most ``ttl`` old)."""
        read = self._cached.get()
        up = _gauge("mistral_core_store_up", "Whether the last read of the store for metrics succeeded.")
        up.add_metric([], 0.0 if read is None else 1.0)
        yield up
        seconds = _gauge(
            "mistral_core_store_read_seconds", "How long the last read of the store's activity took."
        )
        seconds.add_metric([], self._cached.seconds)
        yield seconds
        if read is not None:
            activity, at = read
            yield from _activity_gauges(activity, at)


def _activity_gauges(activity: Activity, at: Any) -> Iterator[Metric]:
    workflows = _gauge(
        "mistral_core_workflow_executions", "Unfinished workflow executions, by state.", ("state",)
    )
    for state in ACTIVE_WORKFLOW_STATES:
        workflows.add_metric([state], activity.workflows.get(state, 0))
    yield workflows
    tasks = _gauge(
        "mistral_core_task_executions",
        "Unfinished task executions of unfinished workflows, by state.",
        ("state",),
    )
    for state in ACTIVE_TASK_STATES:
        tasks.add_metric([state], activity.tasks.get(state, 0))
    yield tasks
    actions = _gauge(
        "mistral_core_action_executions",
        "Action executions in flight, by state and mode (sync: run by an executor; async: a wait).",
        ("state", "mode"),
    )
    for state in ACTIVE_ACTION_STATES:
        for is_sync, mode in ((True, "sync"), (False, "async")):
            actions.add_metric([state, mode], activity.actions.get((state, is_sync), 0))
    yield actions
    waits = _gauge("mistral_core_waits", "Asynchronous action executions waiting for their result.")
    waits.add_metric([], activity.waits)
    yield waits
    yield _age(
        "mistral_core_oldest_wait_age_seconds", "Age of the oldest wait (0: none).", activity.oldest_wait, at
    )
    due = _gauge("mistral_core_timers_due", "Timers due and not done yet (the scheduler's backlog).")
    due.add_metric([], activity.timers_due)
    yield due
    yield _age(
        "mistral_core_oldest_due_timer_age_seconds",
        "How late the most overdue timer is (0: none).",
        activity.oldest_due,
        at,
    )


def _age(name: str, doc: str, since: Any, now: Any) -> Metric:
    gauge = _gauge(name, doc)
    gauge.add_metric([], max(0.0, (now - since).total_seconds()) if since is not None else 0.0)
    return gauge


class QueueCollector:
    """The depths of this process's queues (``depths`` returns queue name -> messages waiting).

    Args:
        depths: reads the depths (a broker call, or counters of this process).
        source: ``broker`` (then ``mistral_core_broker_up`` says whether the read succeeded) or
            ``local``.
        ttl: seconds a read is kept.
    """

    def __init__(
        self, depths: Callable[[], Mapping[str, int]], source: str, ttl: float = CACHE_SECONDS
    ) -> None:
        self._source = source
        self._cached = Cached(depths, ttl if source == "broker" else 0.0)

    def describe(self) -> list[Metric]:
        """Nothing: the queues are read at scrape time only."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The depths of the last read."""
        found = self._cached.get()
        if self._source == "broker":
            up = _gauge(
                "mistral_core_broker_up", "Whether the last read of the broker's queue depths succeeded."
            )
            up.add_metric([], 0.0 if found is None else 1.0)
            yield up
        depth = _gauge(
            "mistral_core_queue_depth", "Work waiting in a queue, by source and queue.", ("source", "queue")
        )
        deepest = sorted((found or {}).items(), key=lambda item: (-item[1], item[0]))[:MAX_QUEUES]
        for queue, count in sorted(deepest):
            depth.add_metric([self._source, queue], count)
        yield depth
