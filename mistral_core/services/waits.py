"""The inventory of waits, and bulk actions on many waits at once.

A *wait* is a RUNNING action execution that is asynchronous (its result comes from a third
party), or that has a ``target`` and no executor has started yet (``dispatch`` QUEUED: an action
whose target has no executor waits so, sync or not). ``GET /v2/waits`` lists them with the filters of
:class:`WaitFilters`; ``POST /v2/waits/bulk`` acts on many, named by id or by those filters.

Each item of a bulk action goes through the same service as a single request would
(:meth:`~mistral_core.services.results.Results.complete` for ``complete``, ``fail`` and
``cancel``; the deadline move of a heartbeat's ``extend_by`` for ``extend``), judged as if
alone, and lands in the action execution's history with who asked. Items go up to ``BATCH`` in a
transaction; when one is refused in a way that rolls that transaction back, its batch is done
again one item per transaction, so an item's refusal (404, 409, 422) is its own and the others go
on. At most ``max_bulk_items`` items per request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from mistral_core.engine import heartbeats
from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import ConflictError, InputError, MistralError, NotFoundError, StateConflictError
from mistral_core.model import ActionExecution, Filter, PushOrigin, Query, State, Viewer
from mistral_core.model.history import EXTENDED
from mistral_core.model.states import is_action_finished
from mistral_core.services.history import History
from mistral_core.services.results import Results
from mistral_core.services.unit_of_work import Parts, Transactions, Work

#: What a bulk request may do to each wait.
OPS = ("complete", "fail", "cancel", "extend")
#: The state each result op pushes.
_PUSHED = {"complete": State.SUCCESS, "fail": State.ERROR, "cancel": State.CANCELLED}
#: Waits acted on in one transaction (a refusal that rolls it back sends each alone).
BATCH = 100
#: The longest id a bulk request may name (ids are UUIDs: 36 characters).
MAX_ID_CHARS = 255
#: The most seconds ``older_than`` and ``stale_for`` take (ten years: the clock cannot underflow).
MAX_AGE_S = 10 * 365 * 24 * 3600
#: The filters of the inventory beyond action execution fields, as query parameters and in a body.
SPECIAL_FILTERS = ("older_than", "deadline_before", "stale_for")
_NAMES = ("name", "workflow_name")
_BULK_KEYS = frozenset({"ids", "filter", "op", "output", "extend_by", "dry_run"})


@dataclasses.dataclass(frozen=True, slots=True)
class WaitFilters:
    """Which waits: by action and workflow name, by age, by deadline, by silence.

    Attributes:
        name: the action's name (``std.mistral_http``).
        workflow_name: the workflow's name.
        older_than: started more than this many seconds ago.
        deadline_before: with a deadline before this time (naive UTC).
        stale_for: no heartbeat for this many seconds (the start counts as one).
    """

    name: str | None = None
    workflow_name: str | None = None
    older_than: float | None = None
    deadline_before: dt.datetime | None = None
    stale_for: float | None = None

    def query_filters(self, now: dt.datetime) -> tuple[Filter, ...]:
        """The filters over action execution fields (``stale_for`` is :meth:`stale_before`)."""
        found = [Filter(field, "eq", getattr(self, field)) for field in _NAMES if getattr(self, field)]
        if self.older_than is not None:
            found.append(Filter("created_at", "lt", now - dt.timedelta(seconds=self.older_than)))
        if self.deadline_before is not None:
            found.append(Filter("deadline", "lt", self.deadline_before))
        return tuple(found)

    def stale_before(self, now: dt.datetime) -> dt.datetime | None:
        """The time before which the last heartbeat must be (None: any)."""
        return None if self.stale_for is None else now - dt.timedelta(seconds=self.stale_for)


def parse_filters(raw: Mapping[str, Any], where: str, names: bool = True) -> WaitFilters:
    """The filters of a query string or a bulk body (values may be strings or numbers).

    Args:
        raw: the filters.
        where: how the message names their place (``"parameter"``, ``"filter"``).
        names: whether ``name`` and ``workflow_name`` are read here (a query string gives them
            to the generic listing, operators and all).

    Raises:
        InputError: an unknown filter, or a value that is not one.
    """
    known = (*SPECIAL_FILTERS, *(_NAMES if names else ()))
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise InputError(f"Unknown {where} {unknown[0]!r}; the filters are {', '.join(known)}")
    fields: dict[str, Any] = {}
    for field in _NAMES if names else ():
        value = raw.get(field)
        if value is not None and (not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS):
            raise InputError(f"{where.capitalize()} {field} must be a name (text), not {str(value)[:40]!r}")
        fields[field] = value
    for field in ("older_than", "stale_for"):
        if raw.get(field) is not None:
            fields[field] = _seconds(raw[field], f"{where} {field}")
    if raw.get("deadline_before") is not None:
        fields["deadline_before"] = _time(raw["deadline_before"], f"{where} deadline_before")
    return WaitFilters(**fields)


def _seconds(value: Any, what: str) -> float:
    try:
        number = isinstance(value, str | int | float) and not isinstance(value, bool)
        seconds = float(value) if number else None
    except ValueError:
        seconds = None
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds <= MAX_AGE_S:
        raise InputError(f"Invalid value for {what}: a number of seconds from 0 to {MAX_AGE_S}")
    return seconds


def _time(value: Any, what: str) -> dt.datetime:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InputError(f"Invalid value for {what}: an ISO 8601 time (UTC unless it says)") from None
    return parsed


@dataclasses.dataclass(frozen=True, slots=True)
class Bulk:
    """One checked bulk request: the op, which waits (``ids`` or ``filters``), and its arguments."""

    op: str
    ids: tuple[str, ...] | None = None
    filters: WaitFilters | None = None
    output: Any = None
    extend_by: float | None = None
    dry_run: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class BulkItem:
    """What came of one wait: ``error`` None if it was done (or, in a dry run, would be)."""

    id: str
    error: MistralError | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class BulkOutcome:
    """``matched``: the waits the request named that exist (and the caller sees); one item each,
    and one for each id that does not."""

    matched: int
    items: tuple[BulkItem, ...]


class Waits:
    """Lists waits and acts on many at once.

    Args:
        transactions: runs the work.
        parts: the shared parts.
        results: applies pushed results (complete, fail, cancel).
        history: the history of each action execution.
        max_extend_by: the most seconds one ``extend`` may move a deadline by (a heartbeat's).
        max_bulk_items: the most waits one bulk request may act on.
    """

    def __init__(
        self,
        transactions: Transactions,
        parts: Parts,
        results: Results,
        history: History,
        max_extend_by: float,
        max_bulk_items: int,
    ) -> None:
        self._tx = transactions
        self._parts = parts
        self._results = results
        self._history = history
        self.max_extend_by = max_extend_by
        self.max_bulk_items = max_bulk_items

    def inventory(self, query: Query, filters: WaitFilters) -> list[ActionExecution]:
        """The waits matching ``query`` (its filters, order, page, project) and ``filters``.

        Raises:
            NotFoundError: the marker is not an action execution the query's project sees.
        """
        now = self._parts.clock.now()
        query = dataclasses.replace(query, filters=(*filters.query_filters(now), *query.filters))
        return self._parts.store.list_waits(query, filters.stale_before(now))

    # -- bulk -----------------------------------------------------------------------------
    def check(self, body: Any) -> Bulk:
        """The bulk request a body asks for.

        Raises:
            InputError: not an object; an unknown field or op; neither or both of ``ids`` and
                ``filter``; more ids than ``max_bulk_items``; ``extend_by`` missing or out of
                bounds for ``extend``; an ``output`` over the size limit.
        """
        if not isinstance(body, dict):
            raise InputError('A bulk request is a JSON object: {"op": ..., "ids": [...] or "filter": {...}}')
        unknown = sorted(set(body) - _BULK_KEYS)
        if unknown:
            fields = ", ".join(sorted(_BULK_KEYS))
            raise InputError(f"Unknown field {unknown[0]!r}; a bulk request has {fields}")
        op = body.get("op")
        if op not in OPS:
            raise InputError(f"'op' must be one of {', '.join(OPS)}, not {str(op)[:40]!r}")
        if ("ids" in body) == ("filter" in body):
            raise InputError("A bulk request names its waits by 'ids' or by 'filter' (one of the two)")
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise InputError(f"'dry_run' must be true or false, not {str(dry_run)[:40]!r}")
        return Bulk(
            op,
            self._ids(body["ids"]) if "ids" in body else None,
            self._filter(body["filter"]) if "filter" in body else None,
            self._output(op, body.get("output")),
            self._extend_by(op, body.get("extend_by")),
            dry_run,
        )

    def _ids(self, ids: Any) -> tuple[str, ...]:
        if not isinstance(ids, list) or not ids:
            raise InputError("'ids' must be a non-empty list of action execution ids")
        for item in ids:
            if not isinstance(item, str) or not 0 < len(item) <= MAX_ID_CHARS:
                raise InputError(f"'ids' must hold action execution ids (text), not {str(item)[:40]!r}")
        unique = tuple(dict.fromkeys(ids))  # an id named twice is acted on once
        if len(unique) > self.max_bulk_items:
            raise InputError(
                f"{len(unique)} ids: at most {self.max_bulk_items} per request (setting max_bulk_items)"
            )
        return unique

    @staticmethod
    def _filter(raw: Any) -> WaitFilters:
        if not isinstance(raw, dict):
            raise InputError(f"'filter' must be an object of {', '.join((*_NAMES, *SPECIAL_FILTERS))}")
        for field in ("older_than", "stale_for"):  # JSON has numbers: text is for query strings
            if isinstance(raw.get(field), str):
                raise InputError(f"Invalid value for filter {field}: a number of seconds, not text")
        return parse_filters(raw, "filter")

    def _output(self, op: str, output: Any) -> Any:
        if output is not None and op not in ("complete", "fail"):
            raise InputError(f"'output' goes with op complete or fail, not {op}")
        if op == "complete" and output is None:
            return {}  # as a pushed SUCCESS without output stores it
        if op == "fail" and output in (None, {}):
            return "Unknown error"  # as a pushed ERROR without output stores it
        too_big = self._parts.limits.oversized(output, "'output'")
        if too_big is not None:
            raise InputError(too_big)
        return output

    def _extend_by(self, op: str, extend_by: Any) -> float | None:
        if op != "extend":
            if extend_by is not None:
                raise InputError(f"'extend_by' goes with op extend, not {op}")
            return None
        if (
            isinstance(extend_by, bool)
            or not isinstance(extend_by, int | float)
            or not math.isfinite(extend_by)
            or not 0 < extend_by <= self.max_extend_by
        ):
            raise InputError(
                f"op extend needs 'extend_by': seconds above 0 and at most {self.max_extend_by:g} "
                "(setting max_extend_by)"
            )
        return float(extend_by)

    def bulk(self, bulk: Bulk, viewer: Viewer, origin: PushOrigin) -> BulkOutcome:
        """Do ``bulk.op`` to each wait it names (in a dry run, only judge each), one at a time.

        Raises:
            InputError: the filter matches more than ``max_bulk_items`` waits.
        """
        targets = self._targets(bulk, viewer)
        errors: dict[str, MistralError | None] = {}
        found = [action_ex for _, action_ex in targets if action_ex is not None]
        if bulk.dry_run:
            errors.update((action_ex.id, self._judge(action_ex, bulk)) for action_ex in found)
        else:
            for start in range(0, len(found), BATCH):
                batch = [action_ex.id for action_ex in found[start : start + BATCH]]
                errors.update(zip(batch, self._do_batch(batch, bulk, origin), strict=True))
        items = tuple(
            BulkItem(
                action_ex_id,
                errors[action_ex_id]
                if action_ex is not None
                else NotFoundError(f"ActionExecution not found [id={action_ex_id}]"),
            )
            for action_ex_id, action_ex in targets
        )
        return BulkOutcome(len(found), items)

    def _do_batch(
        self, action_ex_ids: list[str], bulk: Bulk, origin: PushOrigin
    ) -> list[MistralError | None]:
        """Act on these waits in one transaction, each judged as alone; if one is refused in a way
        that rolls the transaction back (an output schema, a conflict found while deciding, the
        store), each is done alone instead, so every refusal is recorded as a single one is."""
        try:
            decided = self._tx.run(lambda work: [self._decide(work, i, bulk, origin) for i in action_ex_ids])
        except MistralError:
            return [self._do(action_ex_id, bulk, origin) for action_ex_id in action_ex_ids]
        return [
            None
            if reason is None or action_ex is None
            else self._results.refusal(action_ex, _PUSHED[bulk.op], reason)
            for action_ex, reason in decided
        ]

    def _decide(
        self, work: Work, action_ex_id: str, bulk: Bulk, origin: PushOrigin
    ) -> tuple[ActionExecution | None, str | None]:
        if bulk.op == "extend":
            assert bulk.extend_by is not None
            self._extend(work, action_ex_id, bulk.extend_by, origin)
            return None, None
        return self._results.push_in(work, action_ex_id, _PUSHED[bulk.op], bulk.output, origin)

    def _targets(self, bulk: Bulk, viewer: Viewer) -> list[tuple[str, ActionExecution | None]]:
        """Each wait named, with its action execution as read now (None: not found for ``viewer``)."""
        if bulk.ids is not None:
            store = self._parts.store
            return [(action_ex_id, _seen(store, action_ex_id, viewer)) for action_ex_id in bulk.ids]
        assert bulk.filters is not None
        query = Query(limit=self.max_bulk_items + 1, project=viewer.only)
        found = self.inventory(query, bulk.filters)
        if len(found) > self.max_bulk_items:
            raise InputError(
                f"More than {self.max_bulk_items} waits match the filter: at most {self.max_bulk_items} "
                "per request (setting max_bulk_items); narrow the filter"
            )
        return [(action_ex.id, action_ex) for action_ex in found]

    def _do(self, action_ex_id: str, bulk: Bulk, origin: PushOrigin) -> MistralError | None:
        try:
            if bulk.op == "extend":
                assert bulk.extend_by is not None
                self.extend(action_ex_id, bulk.extend_by, origin)
            else:
                self._results.complete(action_ex_id, _PUSHED[bulk.op], bulk.output, origin)
        except MistralError as exc:  # this item's refusal (or the store's failure): the others go on
            return exc
        return None

    @staticmethod
    def _judge(action_ex: ActionExecution, bulk: Bulk) -> MistralError | None:
        """A dry run's verdict on one wait: the state checks of the real op (not the output schema)."""
        if action_ex.is_sync:
            return StateConflictError(
                f"Action execution {action_ex.id} ({action_ex.name}) is synchronous: its executor "
                "reports its result",
                action_ex.state.value,
            )
        if is_action_finished(action_ex.state):
            return StateConflictError(
                f"Action execution {action_ex.id} is already {action_ex.state.value}", action_ex.state.value
            )
        if bulk.op == "extend" and action_ex.state is not State.RUNNING:  # PAUSED: as the real one
            return _not_extendable(action_ex)
        if bulk.op == "extend" and action_ex.deadline is None:
            return StateConflictError(
                f"Action execution {action_ex.id} has no deadline to extend (its task has no timeout)",
                action_ex.state.value,
            )
        return None

    # -- extend ---------------------------------------------------------------------------
    def extend(self, action_ex_id: str, extend_by: float, origin: PushOrigin) -> ActionExecution:
        """Move a RUNNING async action's task deadline later, as a heartbeat's ``extend_by`` does
        but without counting as a heartbeat; recorded in its history (refusals too).

        Raises:
            NotFoundError: no such action execution.
            StateConflictError: not a RUNNING async action execution, or its task has no timeout.
        """
        try:
            return self._tx.run(lambda work: self._extend(work, action_ex_id, extend_by, origin))
        except ConflictError as exc:  # judged, then rolled back: recorded on its own
            self._history.reject(action_ex_id, None, origin, exc.message)
            raise

    def _extend(self, work: Work, action_ex_id: str, extend_by: float, origin: PushOrigin) -> ActionExecution:
        action_ex = work.store.get_action_execution(action_ex_id)
        st = work.state(action_ex.workflow_execution_id) if action_ex.workflow_execution_id else None
        if st is not None:
            action_ex = work.action(st, action_ex_id)
        if action_ex.state is not State.RUNNING or action_ex.is_sync:
            raise _not_extendable(action_ex)
        task = st.tasks.get(action_ex.task_execution_id or "") if st is not None else None
        if st is None or task is None:
            raise StateConflictError(
                f"Action execution {action_ex_id} belongs to no task: there is no deadline to extend",
                action_ex.state.value,
            )
        work.actions_of(st, task.id)
        moved = heartbeats.extend(st, action_ex, task, extend_by)
        deadline = moved.deadline.isoformat(" ", "seconds") if moved.deadline else "?"
        reason = f"deadline {extend_by:g} s later: {deadline}"
        self._history.write(action_ex_id, None, origin, EXTENDED, reason)
        return moved


def _not_extendable(action_ex: ActionExecution) -> StateConflictError:
    """Why the deadline of ``action_ex`` (synchronous, or not RUNNING) cannot be extended."""
    kind = "synchronous" if action_ex.is_sync else action_ex.state.value
    return StateConflictError(
        f"Action execution {action_ex.id} is {kind}: only a RUNNING asynchronous action "
        "execution's deadline can be extended",
        action_ex.state.value,
    )


def _seen(store: ExecutionStore, action_ex_id: str, viewer: Viewer) -> ActionExecution | None:
    """The action execution as ``viewer`` sees it; None if it does not (or does not exist)."""
    try:
        return store.get_action_execution(action_ex_id, viewer)
    except NotFoundError:
        return None
