"""How records map to table rows: one column per dataclass field, with a kind.

Every backend stores the same *neutral row*: a tuple in field order where
JSON-able fields are compact JSON text, tags are a JSON list (or ``None``),
states are their string value, times are naive UTC ``datetime``. Filters and
sorting work on these neutral values, so the in-memory store and the SQL
stores compare exactly the same things. A backend may add one more layer (the
SQLite store keeps times as ISO text).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import json
import operator
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from mistral_core.errors import InputError, NotFoundError, StoreError
from mistral_core.model import (
    ActionDefinition,
    ActionExecution,
    ApiKey,
    ApprovalResponse,
    CodeSource,
    CronTrigger,
    DynamicActionDefinition,
    Environment,
    HistoryEntry,
    ServerSecret,
    State,
    TaskExecution,
    TaskFlags,
    Timer,
    Workbook,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.model.event_triggers import EventMessage, EventTrigger
from mistral_core.model.maintenance import MaintenanceMode, MaintenancePause
from mistral_core.model.members import ResourceMember
from mistral_core.model.notifications import NotificationDelivery

AnyRecord = (
    WorkflowDefinition
    | WorkflowExecution
    | TaskExecution
    | ActionExecution
    | Timer
    | CronTrigger
    | Environment
    | Workbook
    | ActionDefinition
    | ApiKey
    | HistoryEntry
    | ApprovalResponse
    | ServerSecret
    | NotificationDelivery
    | ResourceMember
    | MaintenanceMode
    | MaintenancePause
    | CodeSource
    | DynamicActionDefinition
    | EventTrigger
    | EventMessage
)
Row = tuple[Any, ...]
Convert = Callable[[Any], Any]


class Kind(enum.Enum):
    """What a column holds, which decides its encoding and the filters it takes."""

    TEXT = "text"
    STATE = "state"
    BOOL = "bool"
    INT = "int"
    DATETIME = "datetime"
    JSON = "json"
    TAGS = "tags"
    FLAGS = "flags"


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """One column: a record field and its kind."""

    name: str
    kind: Kind


@dataclasses.dataclass(frozen=True, slots=True)
class TableSpec:
    """A table of one record type."""

    name: str
    record_type: type[AnyRecord]
    label: str
    columns: tuple[Column, ...]
    names: tuple[str, ...] = ()
    positions: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        names = tuple(column.name for column in self.columns)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "positions", {name: i for i, name in enumerate(names)})

    def column(self, name: str) -> Column | None:
        """The column called ``name``, or ``None``."""
        position = self.positions.get(name)
        return None if position is None else self.columns[position]

    def index_of(self, name: str) -> int:
        """Position of column ``name`` in a row."""
        return self.positions[name]


def not_found(table: TableSpec, record_id: str) -> NotFoundError:
    """Mistral's message for a missing id: ``WorkflowExecution not found [id=...]``."""
    return NotFoundError(f"{table.label} not found [id={record_id}]")


_ENCODER = json.JSONEncoder(separators=(",", ":"))


_DECODE_JSON = json.JSONDecoder().decode


def dumps(value: Any) -> str:
    """Compact JSON text, the one encoding of every JSON field."""
    # Empty containers and None are most of the JSON fields a transition writes.
    if value is None:
        return "null"
    if not value and type(value) in (dict, list):
        return "{}" if type(value) is dict else "[]"
    return _ENCODER.encode(value)


def _json_out(text: str | None) -> Any:
    if text == "{}":
        return {}
    if text is None:  # a column added by an upgrade, null in the rows that were there
        return None
    return _DECODE_JSON(text)


def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime as naive UTC (aware values are converted, naive ones trusted)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


_STATES: dict[str, State] = {state.value: state for state in State}


def _state_in(value: Any) -> str:
    return value.value if isinstance(value, State) else str(value)


def _state_out(value: str) -> State:
    return _STATES[value]


def _tags_in(value: Any) -> str | None:
    return None if value is None else dumps(list(value))


def _tags_out(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(json.loads(value))


def _same(value: Any) -> Any:
    return value


def _flags_in(value: TaskFlags) -> str:
    return dumps(value.to_json())


def _flags_out(text: str) -> TaskFlags:
    return TaskFlags.from_json(_json_out(text))


ENCODE: dict[Kind, Convert] = {
    Kind.TEXT: _same,
    Kind.STATE: _state_in,
    Kind.BOOL: bool,
    Kind.INT: _same,
    Kind.DATETIME: naive_utc,
    Kind.JSON: dumps,
    Kind.TAGS: _tags_in,
    Kind.FLAGS: _flags_in,
}

DECODE: dict[Kind, Convert] = {
    Kind.TEXT: _same,
    Kind.STATE: _state_out,
    Kind.BOOL: bool,
    Kind.INT: _same,
    Kind.DATETIME: _same,
    Kind.JSON: _json_out,
    Kind.TAGS: _tags_out,
    Kind.FLAGS: _flags_out,
}


def _kind_of(hint: Any) -> Kind:
    """The column kind of a dataclass field's type."""
    if hint is Any:
        return Kind.JSON
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _kind_of(members[0])
    origin = typing.get_origin(hint)
    simple = {
        State: Kind.STATE,
        str: Kind.TEXT,
        bool: Kind.BOOL,
        int: Kind.INT,
        dt.datetime: Kind.DATETIME,
        TaskFlags: Kind.FLAGS,
    }
    if hint in simple:
        return simple[hint]
    if origin is dict:
        return Kind.JSON
    if origin is tuple:
        return Kind.TAGS
    raise TypeError(f"no column kind for type {hint!r}")


def _table(name: str, record_type: type[AnyRecord], label: str) -> TableSpec:
    hints = typing.get_type_hints(record_type)
    columns = tuple(
        Column(field.name, _kind_of(hints[field.name])) for field in dataclasses.fields(record_type)
    )
    return TableSpec(name, record_type, label, columns)


WORKFLOW_DEFINITIONS = _table("workflow_definitions", WorkflowDefinition, "Workflow")
WORKFLOW_EXECUTIONS = _table("workflow_executions", WorkflowExecution, "WorkflowExecution")
TASK_EXECUTIONS = _table("task_executions", TaskExecution, "TaskExecution")
ACTION_EXECUTIONS = _table("action_executions", ActionExecution, "ActionExecution")
TIMERS = _table("timers", Timer, "Timer")
CRON_TRIGGERS = _table("cron_triggers", CronTrigger, "CronTrigger")
ENVIRONMENTS = _table("environments", Environment, "Environment")
WORKBOOKS = _table("workbooks", Workbook, "Workbook")
ACTION_DEFINITIONS = _table("action_definitions", ActionDefinition, "Action")
API_KEYS = _table("api_keys", ApiKey, "ApiKey")
NOTIFICATION_DELIVERIES = _table("notification_deliveries", NotificationDelivery, "NotificationDelivery")
RESOURCE_MEMBERS = _table("resource_members", ResourceMember, "ResourceMember")
EVENT_TRIGGERS = _table("event_triggers", EventTrigger, "EventTrigger")
#: The messages event triggers took (one row per trigger and message: the key of exactly once).
EVENT_MESSAGES = _table("event_messages", EventMessage, "EventMessage")
#: Not a table of records with ids: entries are only appended and read by action execution, in
#: the order they were written (``seq``). No ``id``, so no unique index to keep on the hot path.
ACTION_HISTORY = _table("action_history", HistoryEntry, "HistoryEntry")
APPROVAL_RESPONSES = _table("approval_responses", ApprovalResponse, "ApprovalResponse")
SERVER_SECRETS = _table("server_secrets", ServerSecret, "ServerSecret")
MAINTENANCE = _table("maintenance", MaintenanceMode, "Maintenance")
MAINTENANCE_PAUSES = _table("maintenance_pauses", MaintenancePause, "MaintenancePause")
CODE_SOURCES = _table("code_sources", CodeSource, "CodeSource")
DYNAMIC_ACTIONS = _table("dynamic_actions", DynamicActionDefinition, "DynamicAction")

EXECUTION_TABLES: dict[type[Any], TableSpec] = {
    WorkflowExecution: WORKFLOW_EXECUTIONS,
    TaskExecution: TASK_EXECUTIONS,
    ActionExecution: ACTION_EXECUTIONS,
}

#: Every table, referenced tables before the tables that refer to them.
ALL_TABLES = (
    WORKFLOW_DEFINITIONS,
    WORKFLOW_EXECUTIONS,
    TASK_EXECUTIONS,
    ACTION_EXECUTIONS,
    TIMERS,
    CRON_TRIGGERS,
    ENVIRONMENTS,
    WORKBOOKS,
    ACTION_DEFINITIONS,
    API_KEYS,
    APPROVAL_RESPONSES,
    SERVER_SECRETS,
    NOTIFICATION_DELIVERIES,
    RESOURCE_MEMBERS,
    MAINTENANCE,
    MAINTENANCE_PAUSES,
    CODE_SOURCES,
    DYNAMIC_ACTIONS,
    EVENT_TRIGGERS,
    EVENT_MESSAGES,
)


_UpdatePlan = tuple[tuple[str, ...], Callable[[Any], Any], list[Convert]]


class Codec:
    """Turns records into rows of one backend and back.

    Args:
        table: the table.
        datetime_in: how this backend stores a naive UTC datetime.
        datetime_out: how it reads one back.
    """

    def __init__(self, table: TableSpec, datetime_in: Convert = _same, datetime_out: Convert = _same) -> None:
        self.table = table
        self.names = table.names
        self._type = table.record_type
        self._fields = operator.attrgetter(*self.names)
        self.encoders = [self._encoder(c.kind, datetime_in) for c in table.columns]
        decoders = [self._decoder(c.kind, datetime_out) for c in table.columns]
        # Only columns that need converting are touched on the hot path.
        self._encoding = [(i, f) for i, f in enumerate(self.encoders) if f is not _same]
        self._decoding = [(i, f) for i, f in enumerate(decoders) if f is not _same]
        self._created_at = table.index_of("created_at")
        # Timers are never updated field by field, and have no updated_at.
        updated_at = table.positions.get("updated_at")
        self._encode_updated_at = None if updated_at is None else self.encoders[updated_at]
        self._update_plans: dict[tuple[str, ...], _UpdatePlan] = {}
        self._partials: dict[tuple[int, ...], Callable[[Row], Any]] = {}

    @staticmethod
    def _encoder(kind: Kind, datetime_in: Convert) -> Convert:
        if kind is Kind.DATETIME and datetime_in is not _same:
            return lambda value: None if value is None else datetime_in(naive_utc(value))
        return ENCODE[kind]

    @staticmethod
    def _decoder(kind: Kind, datetime_out: Convert) -> Convert:
        if kind is Kind.DATETIME and datetime_out is not _same:
            return lambda value: None if value is None else datetime_out(value)
        return DECODE[kind]

    def row(self, record: Any) -> Row:
        """The row of ``record``.

        Raises:
            StoreError: a field cannot be encoded (not JSON-able, say).
        """
        try:
            values = list(self._fields(record))
            for i, encode in self._encoding:
                values[i] = encode(values[i])
            return tuple(values)
        except (TypeError, ValueError, AttributeError):
            for name in self.names:
                self.value(name, record)
            raise

    def update_values(
        self, record: Any, fields: Iterable[str], now: Callable[[], dt.datetime]
    ) -> tuple[tuple[str, ...], list[Any]]:
        """The columns to write for ``update(record, fields)`` and their values.

        ``updated_at`` is always written: the record's own value, else ``now()``.

        Raises:
            InputError: an unknown field, or ``id``.
            StoreError: a value cannot be encoded.
        """
        encode_updated_at = self._encode_updated_at
        if encode_updated_at is None:
            raise InputError(f"{self.table.label} records cannot be updated field by field")
        key = tuple(fields)
        plan = self._update_plans.get(key) or self._update_plan(key)
        names, getter, encoders = plan
        try:
            current = getter(record)
            values = [encode(value) for encode, value in zip(encoders, current, strict=False)]
        except (TypeError, ValueError, AttributeError):
            for name in names:
                self.value(name, record)
            raise
        updated_at = current[-1]
        values.append(encode_updated_at(updated_at if updated_at is not None else now()))
        return (*names, "updated_at"), values

    def _update_plan(self, fields: tuple[str, ...]) -> _UpdatePlan:
        names = tuple(name for name in dict.fromkeys(fields) if name != "updated_at")
        for name in names:
            if name == "id" or name not in self.table.positions:
                raise InputError(f"Field '{name}' of {self.table.label} cannot be updated")
        encoders = [self.encoders[self.table.positions[name]] for name in names]
        # ``id`` is fetched too so that the getter always returns a tuple.
        plan = (names, operator.attrgetter(*names, "id", "updated_at"), encoders)
        self._update_plans[fields] = plan
        return plan

    def insert_row(self, record: Any, now: Callable[[], dt.datetime]) -> Row:
        """The row of a new record, with ``created_at`` set to ``now()`` if it has none."""
        row = self.row(record)
        at = self._created_at
        if row[at] is None:
            row = (*row[:at], self.encoders[at](now()), *row[at + 1 :])
        return row

    def value(self, name: str, record: Any) -> Any:
        """The stored value of one field of ``record``.

        Raises:
            StoreError: the value cannot be encoded.
        """
        try:
            return self.encoders[self.table.positions[name]](getattr(record, name))
        except (TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"Cannot store {self.table.label}.{name}: {exc}") from exc

    def record(self, row: Row) -> Any:
        """The record a row holds."""
        values = list(row)
        for i, decode in self._decoding:
            values[i] = decode(values[i])
        return self._type(*values)

    def partial(self, positions: tuple[int, ...]) -> Callable[[Row], Any]:
        """Turns a row of only the columns at ``positions`` (in table order) into a record of
        just those fields (a named tuple: reading any other field raises AttributeError), for
        callers that read only those (a list's ``fields``)."""
        decoder = self._partials.get(positions)
        if decoder is None:
            decoder = self._partials[positions] = self._partial(positions)
        return decoder

    def _partial(self, positions: tuple[int, ...]) -> Callable[[Row], Any]:
        names = [self.names[at] for at in positions]
        shape: Any = collections.namedtuple(f"Partial{self._type.__name__}", names)  # type: ignore[misc]
        make = shape._make
        decoders = dict(self._decoding)
        steps = [(slot, decoders[at]) for slot, at in enumerate(positions) if at in decoders]

        def decode(row: Row) -> Any:
            values = list(row)
            for slot, convert in steps:
                values[slot] = convert(values[slot])
            return make(values)

        return decode
