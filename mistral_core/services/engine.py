"""The engine as a whole: the services over one store, wired once.

Each service has one job; they share the :class:`~mistral_core.services.unit_of_work.Parts`
and run their decisions through one :class:`~mistral_core.services.unit_of_work.Transactions`.
Callers use the services directly: ``engine.definitions.create_workflows(...)``,
``engine.executions.start(...)``, ``engine.results.complete(...)`` — there is no
layer of forwards.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable

from mistral_core.engine.catalog import Catalog
from mistral_core.engine.conductor import Conductor
from mistral_core.engine.dynamic import DynamicActions
from mistral_core.engine.limits import Limits
from mistral_core.engine.notifications import NotifyPolicy
from mistral_core.engine.ports import (
    ActionCatalog,
    ActionRunner,
    Clock,
    CronSchedule,
    ExecutionStore,
    HookRelay,
    Meter,
    NoHooks,
    NotifierCatalog,
    SystemClock,
)
from mistral_core.lang.expressions import Evaluator
from mistral_core.model.ids import new_id
from mistral_core.services.action_runs import ActionRuns
from mistral_core.services.callbacks import CallbackTokens
from mistral_core.services.claims import Claims
from mistral_core.services.control import Executions
from mistral_core.services.cron import CronTriggers
from mistral_core.services.definitions import Definitions
from mistral_core.services.dynamic import DynamicDefinitions
from mistral_core.services.environments import Environments
from mistral_core.services.event_triggers import EventTriggers
from mistral_core.services.heartbeats import Heartbeats
from mistral_core.services.history import History
from mistral_core.services.intents import IntentApplier
from mistral_core.services.launcher import Launcher
from mistral_core.services.maintenance import Maintenance
from mistral_core.services.members import Members
from mistral_core.services.notices import Notices
from mistral_core.services.notifications import Notifications
from mistral_core.services.recovery import Recovery
from mistral_core.services.reports import Reports
from mistral_core.services.results import Results
from mistral_core.services.timing import Timers
from mistral_core.services.unit_of_work import Parts, Transactions
from mistral_core.services.waits import Waits


class Engine:
    """The services of one engine over a store.

    Args:
        store: where definitions and executions live.
        actions: the Python actions that exist (the registry).
        runner: hands actions to executors (may be attached later with :meth:`attach_runner`).
        clock: the time (UTC).
        hooks: lifecycle observers.
        evaluator: expression evaluator (one per process).
        cron: crontab arithmetic (needed for cron triggers).
        id_factory: makes ids for new records.
        limits: what one workflow may make the engine store or start (defaults: see ``Limits``).
        max_extend_by: the most seconds one heartbeat may move a deadline by.
        max_bulk_items: the most waits one bulk request may act on (``POST /v2/waits/bulk``).
        callback_token_max_age: how long the callback token of an asynchronous action execution
            is accepted (default: :data:`~mistral_core.auth.callbacks.DEFAULT_MAX_AGE`).
        notice_retry_for: how long a cancel notice that fails is tried again (default: a day).
        engine_lease: how long this engine's heartbeat holds (default two minutes): after it,
            another engine takes over what it dispatched.
        notifiers: the kinds of publisher ``notify`` lists may name (default: none).
        notify_policy: the server's publishers, and how long and how often a failing
            notification is tried again (default: none; a day, Standard Webhooks' schedule).
        dynamic_code_max_bytes: the largest code source (the ``dynamic_code_max_bytes`` setting);
            None (default): dynamic actions are off (``dynamic`` is None, none resolves).
        meter: measures transactions and result pushes (default: nothing measured).

    Attributes:
        definitions: workflows, ad-hoc actions, workbooks.
        environments: named environments (``params.env``).
        members: the projects workflows are shared with.
        executions: start, pause, resume, cancel, stop, re-run, skip, delete executions.
        results: action results pushed over the API, and events from executors.
        history: the history of pushes of each action execution.
        callback_tokens: revokes the callback tokens of asynchronous action executions.
        action_runs: actions run outside any workflow.
        cron: cron triggers.
        event_triggers: event triggers, and the executions messages on the broker start.
        timers: applies due timers (the scheduler's sink).
        recovery: start-up recovery, heartbeats, take-over of dead engines.
        heartbeats: the heartbeats of async actions' third parties (progress, deadlines).
        waits: the inventory of waits and bulk actions on them.
        claims: claims and heartbeats of executors without a database (split deployment).
        maintenance: the maintenance mode (pausing the whole service for an upgrade).
        reports: execution reports (statistics and the tree of tasks, actions and sub-workflows).
        catalog: the actions (Python, ad-hoc, dynamic) as the conductor resolves them.
        dynamic: code sources and dynamic actions (None: they are off).
    """

    def __init__(
        self,
        store: ExecutionStore,
        actions: ActionCatalog,
        runner: ActionRunner | None = None,
        *,
        clock: Clock | None = None,
        hooks: HookRelay | None = None,
        evaluator: Evaluator | None = None,
        cron: CronSchedule | None = None,
        id_factory: Callable[[], str] = new_id,
        limits: Limits | None = None,
        max_extend_by: float = 7 * 24 * 3600,
        max_bulk_items: int = 10_000,
        callback_token_max_age: dt.timedelta | None = None,
        notice_retry_for: dt.timedelta | None = None,
        engine_lease: dt.timedelta | None = None,
        notifiers: NotifierCatalog | None = None,
        notify_policy: NotifyPolicy | None = None,
        dynamic_code_max_bytes: int | None = None,
        meter: Meter | None = None,
    ) -> None:
        evaluator = evaluator or Evaluator()
        limits = limits or Limits()
        clock = clock or SystemClock()
        self.store = store
        dynamic = None if dynamic_code_max_bytes is None else DynamicActions(dynamic_code_max_bytes)
        self.catalog = Catalog(actions, evaluator, dynamic)
        self.dynamic = (
            None
            if dynamic_code_max_bytes is None
            else DynamicDefinitions(
                store, clock, id_factory, dynamic_code_max_bytes, self.catalog.python_names
            )
        )
        self.definitions = Definitions(
            store, evaluator, clock, id_factory, python_action_names=self.catalog.python_names
        )
        self.environments = Environments(store, clock, id_factory)
        self.members = Members(store, id_factory)
        self._parts = Parts(
            store=store,
            conductor=Conductor(evaluator, self.catalog, limits),
            catalog=self.catalog,
            definitions=self.definitions,
            clock=clock,
            hooks=hooks or NoHooks(),
            new_id=id_factory,
            engine_id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            runner=runner,
            limits=limits,
        )
        if callback_token_max_age is not None:
            self._parts.callback_token_max_age = callback_token_max_age
        if notice_retry_for is not None:
            self._parts.notice_retry_for = notice_retry_for
        if engine_lease is not None:
            self._parts.engine_lease = engine_lease
        if notifiers is not None:
            self._parts.notifiers = notifiers
        if notify_policy is not None:
            self._parts.notify_policy = notify_policy
        if meter is not None:
            self._parts.meter = meter
        launcher = Launcher(self._parts, evaluator)
        transactions = Transactions(self._parts, IntentApplier(self._parts, launcher))
        self.executions = Executions(transactions, self._parts, launcher)
        self.history = History(self._parts)
        notices = Notices(transactions, self._parts, self.history)
        notifications = Notifications(transactions, self._parts)
        self.results = Results(transactions, self._parts, self.history, notices, notifications)
        self.callback_tokens = CallbackTokens(transactions, self._parts)
        self.action_runs = ActionRuns(self._parts, self.results)
        self.cron = CronTriggers(self._parts, launcher, cron)
        self.event_triggers = EventTriggers(transactions, self._parts, launcher)
        self.recovery = Recovery(self._parts, self.results)
        self.timers = Timers(transactions, self._parts, self.cron, self.recovery, notices, notifications)
        self.heartbeats = Heartbeats(transactions, self._parts, max_extend_by)
        self.waits = Waits(
            transactions, self._parts, self.results, self.history, max_extend_by, max_bulk_items
        )
        self.claims = Claims(self._parts)
        self.maintenance = Maintenance(transactions, self._parts)
        self.reports = Reports(self._parts)

    @property
    def engine_id(self) -> str:
        """This engine's name among engines (host:pid:random): the runner of what it dispatches."""
        return self._parts.engine_id

    def attach_runner(self, runner: ActionRunner) -> None:
        """Give the engine its runner (the runner usually needs the engine too)."""
        self._parts.runner = runner

    def on_timers_added(self, listener: Callable[[dt.datetime], None]) -> None:
        """Be told (after commit) the earliest due time of timers a transaction added."""
        self._parts.timer_listener = listener
