"""The counters and histograms one process keeps, and the hook relay that counts finished records.

Every method here runs on a hot path (a request, a transaction, an action): a label's child is
looked up once and kept, so an observation costs a dictionary lookup and prometheus_client's
own (a lock and an add; in multiprocess mode, a write to a memory-mapped file).
"""

from __future__ import annotations

import enum
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from mistral_core.engine.ports import HookRelay

#: HTTP methods counted by name; any other is counted as ``other`` (labels stay bounded).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The route label of a request that matched no route.
UNMATCHED = "unmatched"

#: Seconds: from a fast read (~1 ms) to a slow request or a long transaction.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Seconds an action runs on an executor: from std.noop to a long std.http.
ACTION_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)

#: Hook name -> (kind of record, keyword of the record) for the records counted as they finish.
_FINISHED = {
    "mistral_workflow_execution_completed": ("workflow", "wf_ex"),
    "mistral_task_execution_completed": ("task", "task_ex"),
    "mistral_action_execution_completed": ("action", "action_ex"),
}


class Instruments:
    """The counters and histograms of one process (a :class:`~mistral_core.engine.ports.Meter`).

    Args:
        registry: where they are registered; ``None`` in prometheus_client's multiprocess mode
            (the scrape reads every process's files instead, see :mod:`.exposition`).
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Histogram(
            "mistral_core_http_request_duration_seconds",
            "Requests to the REST API by method, route template and status code, in seconds.",
            ("method", "route", "status"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.transactions = Histogram(
            "mistral_core_engine_transaction_duration_seconds",
            "Engine transactions (one or more state transitions, committed with their effects), in seconds.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.pushes = Counter(
            "mistral_core_result_pushes",
            "Results pushed to asynchronous action executions, by outcome "
            "(accepted, repeated, rejected, unknown).",
            ("outcome",),
            registry=registry,
        )
        self.started = Counter(
            "mistral_core_workflow_executions_started", "Workflow executions started.", registry=registry
        )
        self.finished = Counter(
            "mistral_core_executions_finished",
            "Workflow, task and action executions finished, by kind and state.",
            ("kind", "state"),
            registry=registry,
        )
        self.actions = Histogram(
            "mistral_core_action_run_duration_seconds",
            "Actions run by this executor (run() of an async action: the hand-off), by outcome, in seconds.",
            ("outcome",),
            buckets=ACTION_BUCKETS,
            registry=registry,
        )
        self._observe_transaction = self.transactions.observe
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # -- the Meter port (services) ----------------------------------------------------------
    def transaction_done(self, seconds: float) -> None:
        """An engine transaction took ``seconds``."""
        self._observe_transaction(seconds)

    def result_pushed(self, outcome: str) -> None:
        """A result push came to ``outcome``."""
        self._child(self.pushes, outcome).inc()

    # -- the API ----------------------------------------------------------------------------
    def request_done(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """A request was answered (``route``: its URI template; None: it matched none)."""
        method = method if method in KNOWN_METHODS else "other"
        self._child(self.requests, method, route or UNMATCHED, str(status)).observe(seconds)

    # -- executors ------------------------------------------------------------------------
    def action_run(self, outcome: str, seconds: float) -> None:
        """An executor ran an action (``outcome``: the state it reported, or ``handed-off``)."""
        self._child(self.actions, outcome).observe(seconds)

    # -- records as they finish (through MeteredHooks) ----------------------------------------
    def record_finished(self, kind: str, state: str) -> None:
        """A record of ``kind`` finished in ``state``."""
        self._child(self.finished, kind, state).inc()


class MeteredHooks:
    """A hook relay that counts records as they start and finish, then tells ``inner``.

    Hooks are called after commit, once per change: the counts are those of committed changes.
    """

    def __init__(self, inner: HookRelay, instruments: Instruments) -> None:
        self._inner = inner
        self._instruments = instruments
        #: (hook name, state key) -> the ``inc`` of its counter: one lookup per hook call. A state
        #: (an enum member, a singleton) is keyed by its id: an enum's hash is Python code.
        self._incs: dict[tuple[str, object], Any] = {}

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Count, then call every implementation of ``hook_name`` (never raises)."""
        finished = _FINISHED.get(hook_name)
        if finished is not None:
            state = getattr(kwargs.get(finished[1]), "state", None)
            key = (hook_name, id(state) if isinstance(state, enum.Enum) else state)
            inc = self._incs.get(key)
            if inc is None:
                child = self._instruments.finished.labels(finished[0], str(getattr(state, "value", state)))
                inc = self._incs[key] = child.inc
            inc()
        elif hook_name == "mistral_workflow_execution_started":
            self._instruments.started.inc()
        self._inner.notify(hook_name, **kwargs)
