"""The local transport: executors as a thread pool, and one engine loop, in this process.

Actions handed to :meth:`LocalTransport.submit` run on the pool; the events they
produce are queued and applied by a single engine thread in batches (many
events, one transaction), which is what makes a busy server fast on SQLite.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, cast

from mistral_core.errors import TransientStoreError
from mistral_core.executor import Executor
from mistral_core.model import (
    ActionCompleted,
    ActionHandedOff,
    CancelAction,
    Command,
    Event,
    Notify,
    RunAction,
    State,
)

LOG = logging.getLogger(__name__)
#: The longest wait between two tries while the database is unavailable.
MAX_BACKOFF_S = 5.0

_STOP = object()


def until_stored(write: Callable[[], None], what: str, stopping: threading.Event) -> None:
    """Run ``write``; while the database refuses or cannot be reached, wait and run it again.

    A fault of the store never turns into a failed action: the work waits for the database.

    Raises:
        TransientStoreError: ``stopping`` is set and the database is still unavailable.
    """
    delay = 0.05
    while True:
        try:
            write()
            return
        except TransientStoreError as exc:
            if stopping.is_set():
                raise
            LOG.warning("database unavailable (%s): %s waiting, tried again in %.2f s", exc, what, delay)
            time.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)


class EventSink(Protocol):
    """Applies events (the engine)."""

    def apply_events(self, events: Sequence[Event]) -> None:
        """Apply a batch of events."""
        ...


class LocalTransport:
    """Runs actions on a pool of threads and feeds their events to the engine from one thread.

    Args:
        executor: runs one action.
        workers: executor threads (actions that block, like std.sleep or std.http, each hold one).
        max_batch: the most events applied in one transaction.
        mark_started: durably records that actions are about to run (before ``run()`` of any action
            that is not safe to re-run), so that a crash can tell "never started" from "in doubt".
        notify_workers: threads that deliver notifications (apart from the actions' threads, so
            that a slow receiver never holds up an action).
        run_now_timeout: seconds an action run outside any workflow (``run_now``) may take before
            its caller gets an error instead (as the broker transport bounds it, and Mistral by
            ``rpc_response_timeout``); the action itself is left to end on its thread.
    """

    def __init__(
        self,
        executor: Executor,
        workers: int = 16,
        max_batch: int = 64,
        mark_started: Callable[[Sequence[str]], None] | None = None,
        notify_workers: int = 4,
        run_now_timeout: float = 60.0,
    ) -> None:
        self._executor = executor
        self._run_now_timeout = run_now_timeout
        # Their own threads: a run never waits behind the workflows' actions, and runs that never
        # end hold at most ``workers`` threads (later ones wait in the queue, then time out).
        self._run_now_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="run-now")
        self._mark_started = mark_started
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="executor")
        self._notify_pool = ThreadPoolExecutor(max_workers=notify_workers, thread_name_prefix="notifier")
        #: Deliveries queued or being tried: a retry timer that falls due meanwhile adds no second.
        self._in_flight: set[str] = set()
        self._events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._engine: EventSink | None = None
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._idle = threading.Condition()
        self._stopping = threading.Event()

    def start(self, engine: EventSink) -> None:
        """Start the engine thread that applies events to ``engine``."""
        self._engine = engine
        self._thread = threading.Thread(target=self._loop, name="engine-loop", daemon=True)
        self._thread.start()

    def submit(self, commands: Sequence[Command]) -> None:
        """Run these actions (tell them they are cancelled, deliver these notifications) on the
        pools; never blocks on their work."""
        deliveries = self._new_deliveries(c for c in commands if isinstance(c, Notify))
        others = [c for c in commands if not isinstance(c, Notify)]
        with self._idle:
            self._pending += len(others) + len(deliveries)
        for cmd in others:
            if isinstance(cmd, RunAction):
                self._pool.submit(self._run, cmd)
            else:
                self._pool.submit(self._notice, cmd)
        for delivery in deliveries:
            self._notify_pool.submit(self._deliver, delivery)

    def _new_deliveries(self, deliveries: Iterable[Notify]) -> list[Notify]:
        """The deliveries not already queued or in flight here (and marks them so)."""
        fresh = []
        with self._idle:
            for delivery in deliveries:
                if delivery.delivery_id not in self._in_flight:
                    self._in_flight.add(delivery.delivery_id)
                    fresh.append(delivery)
        return fresh

    def _deliver(self, cmd: Notify) -> None:
        try:
            event: object = self._executor.notify(cmd)
        except Exception:  # the executor turns notifier failures into events; this is a bug guard
            LOG.exception("executor failed to deliver notification %s", cmd.delivery_id)
            event = None
        with self._idle:
            self._in_flight.discard(cmd.delivery_id)
        if event is None:
            self._done(1)
            return
        self._events.put(event)

    def _notice(self, cmd: CancelAction) -> None:
        try:
            event: object = self._executor.cancel(cmd)
        except Exception:  # the executor turns cancel() failures into events; this is a bug guard
            LOG.exception("executor failed to tell %s it is cancelled", cmd.action_execution_id)
            self._done(1)
            return
        self._events.put(event)

    def run_now(self, cmd: RunAction) -> Event:
        """Run one action outside any workflow and wait for its event, at most ``run_now_timeout``
        seconds: past it, an ERROR event (the action is left to end on its thread)."""
        future = self._run_now_pool.submit(self._executor.run, cmd)
        try:
            return future.result(self._run_now_timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()  # still queued: it never runs
            return ActionCompleted(
                cmd.action_execution_id,
                State.ERROR,
                f"Action {cmd.action_name} did not finish within {self._run_now_timeout:g} s (run it "
                "with params.save_result to let it run in the background)",
                cmd.workflow_execution_id,
            )

    def _run(self, cmd: RunAction) -> None:
        try:
            event = self._start(cmd) or self._executor.run(cmd)
        except Exception:  # the executor already turns action failures into events; this is a bug guard
            LOG.exception("executor failed on %s", cmd.action_execution_id)
            self._done(1)
            return
        if isinstance(event, ActionHandedOff) and cmd.safe_rerun:
            # Nothing to record: after a crash an action safe to re-run is run again anyway, and an
            # async one then simply waits again. Saves a write for every such wait.
            self._done(1)
            return
        self._events.put(event)

    def _start(self, cmd: RunAction) -> Event | None:
        """Record the start of an action that must not run twice; an event if that failed.

        While the database is unavailable the mark is tried again (the action waits); if the
        process stops meanwhile, the action was never started and recovery runs it.
        """
        if cmd.safe_rerun or self._mark_started is None:
            return None
        try:
            self._until_stored(
                functools.partial(self._mark_started, [cmd.action_execution_id]), "an action's start"
            )
        except Exception as exc:  # without the mark the action must not run: fail it instead
            LOG.exception("could not record the start of %s", cmd.action_execution_id)
            return ActionCompleted(
                cmd.action_execution_id,
                State.ERROR,
                f"Could not record the start of the action, so it was not run: {exc}",
                cmd.workflow_execution_id,
            )
        return None

    def _loop(self) -> None:
        assert self._engine is not None
        while True:
            first = self._events.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._events.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._events.put(_STOP)
                    break
                batch.append(item)
            try:
                events = cast(list[Event], batch)
                self._until_stored(
                    functools.partial(self._engine.apply_events, events), f"{len(batch)} event(s)"
                )
            except Exception:  # keep the loop alive whatever happens; the engine logged it
                LOG.exception("applying %d events failed", len(batch))
            self._done(len(batch))

    def _until_stored(self, write: Callable[[], None], what: str) -> None:
        until_stored(write, what, self._stopping)

    def _done(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            if self._pending <= 0:
                self._idle.notify_all()

    def queue_depths(self) -> dict[str, int]:
        """Work waiting in this process (for the metrics endpoint): ``actions``, commands handed to
        the executor threads and not finished (their events not yet applied); ``events``, events
        waiting for the engine thread."""
        return {"actions": max(0, self._pending), "events": self._events.qsize()}

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted action and its event were handled (for tests and shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending <= 0, timeout)

    def stop(self, timeout: float = 30.0) -> bool:
        """Finish running actions (up to ``timeout``), apply their events, stop the threads; whether
        every action finished and every event was applied."""
        idle = self.wait_idle(timeout)
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._run_now_pool.shutdown(wait=False, cancel_futures=True)
        self._notify_pool.shutdown(wait=False, cancel_futures=True)
        self._events.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
            idle = idle and not self._thread.is_alive()
        return idle
