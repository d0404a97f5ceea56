"""The processes of the split deployment, wired: an API worker, an engine, an executor.

``serve`` (:mod:`mistral_core.bootstrap`) runs all of it in one process without a broker.
Here each kind of process gets only its part, over the broker named by the setting
``transport`` (docs/architecture.md, "The split deployment"):

- :func:`build_api`: store, services, the API app; commands go to the broker. A heartbeat
  keeps what it dispatched recoverable should it die.
- :func:`build_engine_process`: store, services, the scheduler, the consumer of events,
  claims and executors' heartbeats, and the listener of event triggers.
- :func:`build_executor`: the action registry and the executor; no database.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from mistral_core.actions.registry import ActionRegistry
from mistral_core.auth.wiring import build_authenticators
from mistral_core.bootstrap import build_app, build_engine, build_executor_core, listen_for_events, recover
from mistral_core.config import Settings
from mistral_core.engine.ports import SystemClock
from mistral_core.errors import InputError
from mistral_core.metrics.collectors import ActivityCollector, QueueCollector
from mistral_core.metrics.exposition import Metrics
from mistral_core.notifiers.registry import NotifierRegistry
from mistral_core.persistence.sql import open_serving_store
from mistral_core.scheduler import Scheduler
from mistral_core.services.engine import Engine

LOG = logging.getLogger(__name__)


class Stoppable(Protocol):
    """A part that runs threads of its own."""

    def stop(self, timeout: float = ...) -> None:
        """Finish what it does (up to ``timeout``) and stop."""
        ...


@dataclasses.dataclass
class Process:
    """A process of the split deployment: its parts, stopped in order by :meth:`stop`.

    ``app`` is the API's WSGI app (API workers only); ``engine`` the services (not executors);
    ``runner`` the broker runner of API workers and engines (its ``queue_depths()`` is there
    for the metrics endpoint).
    """

    settings: Settings
    parts: list[Stoppable]
    app: Any = None
    engine: Engine | None = None
    runner: Any = None
    store: Any = None
    #: The id this process is known by (its heartbeat timer's target).
    ident: str = ""
    metrics: Metrics | None = None
    #: The listener of event triggers (engines only).
    events: Any = None

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every part (running actions finish, results are applied or published), then
        close the store."""
        for part in self.parts:
            part.stop(timeout)
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


class Heartbeat:
    """Calls ``beat`` every ``every`` seconds on its own thread (an API worker's heartbeat)."""

    def __init__(self, beat: Callable[[], None], every: float) -> None:
        self._beat = beat
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def start(self) -> None:
        """Beat now, then every ``every`` seconds."""
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                self._beat()
            except Exception:  # the database may be away: beat again next time
                LOG.exception("heartbeat failed")
            if self._stopping.wait(self._every):
                return

    def stop(self, timeout: float = 5.0) -> None:
        """Stop beating (the timer stays: another engine takes over after the lease)."""
        self._stopping.set()
        self._thread.join(timeout)


def beat_every(settings: Settings) -> float:
    """Seconds between two heartbeats of an engine or API worker (a quarter of its lease, at most 10)."""
    return min(10.0, settings.engine_lease / 4)


def _needs_transport(settings: Settings, role: str) -> None:
    if not settings.transport:
        raise InputError(f"mistral-core {role} needs a broker: --transport amqp://… (setting transport)")


def _broker_runner(settings: Settings) -> Any:
    from mistral_core.transport.broker import BrokerRunner

    runner = BrokerRunner(settings.transport)
    runner.start()
    return runner


def _engine_over_store(
    settings: Settings, registry: ActionRegistry | None, metrics: Metrics
) -> tuple[Any, Engine]:
    store = open_serving_store(settings.database_url, settings.upgrade)
    registry = registry or ActionRegistry.from_entry_points()
    engine = build_engine(settings, store, registry, None, NotifierRegistry.from_entry_points(), metrics)
    return store, engine


def _observed(metrics: Metrics, store: Any, runner: Any) -> Metrics:
    """``metrics`` reading the store's activity and the broker's queue depths at each scrape."""
    if store is not None:
        metrics.add(ActivityCollector(store, SystemClock()))
    if runner is not None:
        metrics.add(QueueCollector(runner.queue_depths, "broker"))
    return metrics


def _serve_metrics(settings: Settings, metrics: Metrics, parts: list[Stoppable]) -> None:
    """Serve ``/metrics`` on the setting ``metrics_port`` (engines, executors), if set."""
    if settings.metrics_port:
        try:
            metrics.serve(settings.metrics_host, settings.metrics_port)
        except OSError as exc:
            for part in parts:
                part.stop(5.0)
            raise InputError(
                f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: {exc.strerror}"
            ) from None
        parts.append(metrics)


def build_api(settings: Settings, registry: ActionRegistry | None = None) -> Process:
    """An API worker: requests in their own transactions; commands to the broker.

    Raises:
        InputError: no ``transport``.
        MistralError: the store cannot be opened (or its schema is older: ``db upgrade``).
    """
    _needs_transport(settings, "api")
    metrics = Metrics.from_environment()  # gunicorn's workers: multiprocess mode
    store, engine = _engine_over_store(settings, registry, metrics)
    runner = _broker_runner(settings)
    engine.attach_runner(runner)
    heartbeat = Heartbeat(engine.recovery.heartbeat, beat_every(settings))
    heartbeat.start()
    app, _ = build_app(
        settings, engine, build_authenticators(settings, store), _observed(metrics, store, runner)
    )
    parts: list[Stoppable] = [heartbeat, runner]
    return Process(settings, parts, app, engine, runner, store, engine.engine_id, metrics)


def build_engine_process(settings: Settings, registry: ActionRegistry | None = None) -> Process:
    """An engine: applies executors' events, answers their claims, fires timers, takes over the
    dispatches of dead engines, API workers and executors.

    Raises:
        InputError: no ``transport``.
        MistralError: the store cannot be opened.
    """
    _needs_transport(settings, "engine")
    from mistral_core.transport.broker import EngineConsumer

    metrics = Metrics()
    store, engine = _engine_over_store(settings, registry, metrics)
    runner = _broker_runner(settings)
    engine.attach_runner(runner)
    scheduler = Scheduler(store, engine.timers, heartbeat_every=beat_every(settings))
    engine.on_timers_added(scheduler.wake)
    recover(settings, engine)
    consumer = EngineConsumer(settings.transport, engine.results, engine.claims)
    consumer.start()
    scheduler.start()
    events = listen_for_events(settings, engine)
    parts: list[Stoppable] = [events, consumer, scheduler, runner]
    _serve_metrics(settings, _observed(metrics, store, runner), parts)
    return Process(settings, parts, None, engine, runner, store, engine.engine_id, metrics, events=events)


def build_executor(
    settings: Settings,
    targets: tuple[str, ...] = (),
    default: bool = True,
    registry: ActionRegistry | None = None,
) -> Process:
    """An executor: runs the actions of the default queue (unless ``default`` is False) and of
    its ``targets``; never opens the database.

    Raises:
        InputError: no ``transport``, or a target that cannot name executors.
    """
    _needs_transport(settings, "executor")
    from mistral_core.model.commands import target_error
    from mistral_core.transport.executors import ExecutorConsumer

    for target in targets:
        problem = target_error(target)
        if problem is not None:
            raise InputError(problem)
    metrics = Metrics()
    executor = build_executor_core(
        settings,
        registry or ActionRegistry.from_entry_points(),
        NotifierRegistry.from_entry_points(),
        metrics.instruments.action_run,
    )
    consumer = ExecutorConsumer(
        executor,
        settings.transport,
        targets,
        default,
        threads=settings.executor_threads,
        lease=settings.executor_lease,
    )
    consumer.start()
    parts: list[Stoppable] = [consumer]
    _serve_metrics(settings, metrics, parts)
    return Process(settings, parts, ident=consumer.id, metrics=metrics)
