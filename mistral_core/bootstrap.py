"""The composition root: the one place where settings become wired parts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mistral_core.actions.dynamic import DynamicLoader
from mistral_core.actions.registry import ActionRegistry
from mistral_core.api.app import create_app
from mistral_core.api.browsers import allowed_host_names
from mistral_core.api.context import ApiOptions
from mistral_core.approvals.wiring import HumanWaits
from mistral_core.auth.wiring import build_authenticators, build_sign_in, check_exposure
from mistral_core.config import Settings
from mistral_core.engine.limits import Limits
from mistral_core.engine.notifications import NotifyPolicy
from mistral_core.engine.ports import SystemClock
from mistral_core.errors import InputError, StoreError
from mistral_core.executor import Executor
from mistral_core.hooks import HookManager
from mistral_core.lang.budget import ExpressionLimits
from mistral_core.lang.expressions import Evaluator
from mistral_core.metrics.collectors import ActivityCollector, QueueCollector
from mistral_core.metrics.exposition import Metrics
from mistral_core.metrics.instruments import MeteredHooks
from mistral_core.model import DISPATCH_STARTED
from mistral_core.notifiers.registry import NotifierRegistry
from mistral_core.persistence.sql import open_serving_store
from mistral_core.scheduler import CronTab, Scheduler
from mistral_core.services.engine import Engine
from mistral_core.transport.local import LocalTransport

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Service:
    """A running embedded service: API app, engine, transport, store."""

    settings: Settings
    app: Any
    engine: Engine
    transport: LocalTransport
    scheduler: Scheduler
    store: Any
    human: HumanWaits
    metrics: Metrics
    #: The listener of event triggers (only with a ``transport``).
    events: Any = None

    def stop(self, timeout: float = 30.0) -> None:
        """Let running actions finish (up to ``timeout``), apply their results, close the store."""
        if self.events is not None:
            self.events.stop(timeout)
        self.scheduler.stop()
        if self.transport.stop(timeout):
            try:  # a clean stop: nothing for other engines to take over, nothing to warn about
                self.engine.recovery.stop_heartbeat()
            except StoreError as exc:
                LOG.info("could not remove this engine's heartbeat (%s): it will expire", exc)
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def build_service(
    settings: Settings,
    registry: ActionRegistry | None = None,
    store: Any = None,
    hooks: HookManager | None = None,
) -> Service:
    """Wire store, registry, hooks, engine, executors and API for one process, and recover.

    Args:
        settings: the settings.
        registry: the actions (default: every installed ``mistral.actions`` entry point).
        store: the store (default: opened from ``settings.database_url``; an empty database gets
            the schema, an older one is upgraded only if ``settings.upgrade``, see
            :func:`~mistral_core.persistence.sql.open_serving_store`).
        hooks: lifecycle hooks (default: the ``mistral_core.hooks`` entry points).

    Raises:
        InputError: authentication is off and ``settings.host`` is not loopback (see
            :func:`~mistral_core.auth.wiring.check_exposure`); an unusable setting (the ``notify``
            list is checked by the installed notifiers).
        MistralError: the store cannot be opened.
    """
    check_exposure(settings)
    notifiers = NotifierRegistry.from_entry_points()
    store = store if store is not None else open_serving_store(settings.database_url, settings.upgrade)
    authenticators = build_authenticators(settings, store)
    registry = registry or ActionRegistry.from_entry_points()
    metrics = Metrics.from_environment()  # gunicorn workers of whole services share its files
    engine = build_engine(settings, store, registry, hooks, notifiers, metrics)
    transport = LocalTransport(
        build_executor_core(settings, registry, notifiers, metrics.instruments.action_run),
        workers=settings.executor_threads,
        mark_started=lambda ids: store.raise_dispatch(ids, DISPATCH_STARTED),
        notify_workers=settings.notify_threads,
    )
    engine.attach_runner(transport)
    transport.start(engine.results)
    scheduler = Scheduler(store, engine.timers)
    engine.on_timers_added(scheduler.wake)
    recover(settings, engine)
    scheduler.start()
    metrics.add(ActivityCollector(store, SystemClock()))
    metrics.add(QueueCollector(transport.queue_depths, "local"))
    app, human = build_app(settings, engine, authenticators, metrics)
    events = listen_for_events(settings, engine) if settings.transport else None
    return Service(settings, app, engine, transport, scheduler, store, human, metrics, events)


def listen_for_events(settings: Settings, engine: Engine) -> Any:
    """Start the listener of event triggers on the broker of ``settings.transport`` (engines of the
    split deployment; ``serve`` when it has a ``transport``: actions still run in it)."""
    from mistral_core.transport.events import EventListener  # kombu: the amqp extra

    listener = EventListener(
        settings.transport,
        engine.event_triggers,
        settings.event_max_bytes,
        settings.event_poll,
        settings.event_queue_expires,
        remember_for=settings.event_remember_for,
    )
    listener.start()
    return listener


def build_executor_core(
    settings: Settings,
    registry: ActionRegistry,
    notifiers: NotifierRegistry,
    on_run: Callable[[str, float], None] | None = None,
) -> Executor:
    """The executor of actions as the settings say (dynamic actions run only with ``dynamic_actions``)."""
    dynamic = DynamicLoader(settings.dynamic_code_max_bytes) if settings.dynamic_actions else None
    return Executor(registry, settings.base_url, notifiers, dynamic, on_run)


def build_engine(
    settings: Settings,
    store: Any,
    registry: ActionRegistry,
    hooks: HookManager | None,
    notifiers: NotifierRegistry,
    metrics: Metrics | None = None,
) -> Engine:
    """The engine's services over ``store``, as the settings say (no runner yet); ``metrics``
    (if given) measures its transactions and counts records as they finish.

    Raises:
        InputError: the setting ``notify`` names publishers ``notifiers`` do not accept.
    """
    server_publishers = notifiers.check(list(settings.notify), "setting notify")
    limits = Limits(settings.field_size_limit, settings.with_items_limit, settings.subworkflow_depth_limit)
    evaluator = Evaluator(ExpressionLimits(settings.expression_timeout, settings.expression_max_size))
    relay: Any = hooks or HookManager()
    return Engine(
        store,
        registry,
        hooks=relay if metrics is None else MeteredHooks(relay, metrics.instruments),
        meter=None if metrics is None else metrics.instruments,
        cron=CronTab(),
        evaluator=evaluator,
        limits=limits,
        max_extend_by=settings.max_extend_by,
        max_bulk_items=settings.max_bulk_items,
        callback_token_max_age=dt.timedelta(seconds=settings.callback_token_max_age),
        notice_retry_for=dt.timedelta(seconds=settings.notice_retry_for),
        engine_lease=dt.timedelta(seconds=settings.engine_lease),
        notifiers=notifiers,
        notify_policy=NotifyPolicy.of(
            server_publishers, dt.timedelta(seconds=settings.notify_retry_for), settings.notify_backoff
        ),
        dynamic_code_max_bytes=settings.dynamic_code_max_bytes if settings.dynamic_actions else None,
    )


def recover(settings: Settings, engine: Engine) -> None:
    """Recover what the last stop left unfinished, if this process should (setting ``recover``)."""
    if settings.recovers:
        engine.recovery.recover().log(LOG, "the last stop")
    else:
        LOG.info(
            "not recovering unfinished actions at start-up (recover=%s on %s): other engines may "
            "be running them",
            settings.recover,
            settings.database_url.split(":", 1)[0],
        )


def build_app(
    settings: Settings, engine: Engine, authenticators: Any, metrics: Metrics | None = None
) -> tuple[Any, HumanWaits]:
    """The API's WSGI app over ``engine``, and the approvals behind its pages."""
    sign_in = build_sign_in(settings, authenticators)
    human = HumanWaits.build(
        engine, settings.base_url, secret=settings.ui_secret, link_max_age=settings.respond_link_max_age
    )
    app = create_app(
        engine,
        public_url=settings.base_url,
        max_body_bytes=settings.max_body_bytes,
        allowed_hosts=allowed_host_names(settings.host, settings.base_url, settings.allowed_hosts),
        allowed_origins=settings.allowed_origins,
        authenticators=authenticators,
        human=human,
        session_max_age=settings.ui_session_max_age,
        sign_in=sign_in,
        options=api_options(settings),
        metrics=metrics,
        log_ids=settings.log_format == "json",
    )
    return app, human


#: The largest ``info_file`` read (what ``/info`` answers is a small document about the deployment).
INFO_FILE_MAX_BYTES = 65_536


def api_options(settings: Settings) -> ApiOptions:
    """The settings of single endpoints; the ``info_file`` is read here, once.

    Raises:
        InputError: the ``info_file`` cannot be read, is over 64 KiB, or is not a JSON object.
    """
    return ApiOptions(
        report_max_entries=settings.report_max_entries,
        allow_action_execution_deletion=settings.allow_action_execution_deletion,
        info=read_info_file(settings.info_file) if settings.info_file else None,
    )


def read_info_file(name: str) -> dict[str, Any]:
    """The JSON object of the setting ``info_file``.

    Raises:
        InputError: it cannot be read, is over :data:`INFO_FILE_MAX_BYTES`, or is not a JSON object.
    """
    try:
        with Path(name).open("rb") as stream:
            raw = stream.read(INFO_FILE_MAX_BYTES + 1)
        if len(raw) > INFO_FILE_MAX_BYTES:
            raise InputError(f"setting info_file: {name} is over {INFO_FILE_MAX_BYTES} bytes")
        document = json.loads(raw.decode(), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"setting info_file: cannot read {name} as JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(f"setting info_file: {name} must hold a JSON object, not {type(document).__name__}")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
