"""Records -> Mistral's JSON, field by field, in Mistral's order.

Each resource has a :class:`View`: its wire fields in order, each with a getter.
Lists, single GETs and create responses differ only in which fields they show
(Mistral omits ``output`` from execution lists, ``result`` from task lists, ...),
so they are views of one table; ``fields=a,b`` is the same table narrowed.

Mistral's conventions kept here:

* JSON-typed fields (``input``, ``output``, ``params``, ``published``,
  ``published_global``, ``runtime_context``, ``result``, ``variables``,
  ``workflow_input``, ``workflow_params``, and a workflow's ``interface`` in GETs) are
  JSON-encoded *strings*, encoded with ``json.dumps``' default separators as
  Mistral does (``{"namespace": "", "env": {}}``).
* Timestamps are ``YYYY-MM-DD HH:MM:SS``; a missing one is ``null``.
* A workflow's ``input`` is Mistral's parameter string (``a, x="1"``).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from mistral_core.model import (
    DISPATCH_HANDED_OFF,
    DISPATCH_QUEUED,
    DISPATCH_STARTED,
    ActionDefinition,
    ActionExecution,
    CronTrigger,
    Environment,
    HistoryEntry,
    State,
    TaskExecution,
    Workbook,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.model.event_triggers import EventTrigger
from mistral_core.model.members import ResourceMember
from mistral_core.model.notifications import NotificationDelivery
from mistral_core.model.states import is_completed

R = TypeVar("R")
Getter = Callable[[R], Any]

# JSON-typed fields as Mistral writes them: ``json.dumps``' default separators; a value JSON cannot
# encode (it should never reach a record) is shown as its text rather than failing the request.
_json_text = json.JSONEncoder(default=str).encode
_attr = operator.attrgetter

#: Where an execution's context keeps what tasks published with the ``global`` scope (the engine's
#: ``engine.runtime.GLOBALS_KEY``; a test pins the two together).
GLOBALS_KEY = "__global"


class View(Generic[R]):
    """An ordered set of wire fields of one resource, each with its getter.

    Args:
        fields: ``(wire name, getter)`` pairs in the order Mistral writes them.
        reads: the record fields each wire field's getter reads, where they are not just the
            field of the same name; ``None``: not declared (the view's :attr:`columns` is then
            ``None``: render whole records). A test renders every declared view from records
            holding only its columns.
    """

    __slots__ = ("_fields", "_reads", "columns", "names")

    def __init__(
        self, fields: Iterable[tuple[str, Getter[R]]], reads: Mapping[str, tuple[str, ...]] | None = None
    ) -> None:
        self._fields = tuple(fields)
        self.names: tuple[str, ...] = tuple(name for name, _ in self._fields)
        self._reads = reads
        #: The record fields this view reads (``None``: not declared: every field).
        self.columns: frozenset[str] | None = None
        if reads is not None:
            self.columns = frozenset(c for name in self.names for c in reads.get(name, (name,)))

    def render(self, record: R) -> dict[str, Any]:
        """The wire document of ``record``."""
        return {name: get(record) for name, get in self._fields}

    def render_all(self, records: Iterable[R]) -> list[dict[str, Any]]:
        """The wire documents of ``records``, in order."""
        fields = self._fields
        return [{name: get(record) for name, get in fields} for record in records]

    def only(self, names: Collection[str]) -> View[R]:
        """This view narrowed to ``names`` (kept in this view's order)."""
        return View((pair for pair in self._fields if pair[0] in names), self._reads)

    def without(self, *names: str) -> View[R]:
        """This view without ``names``."""
        return View((pair for pair in self._fields if pair[0] not in names), self._reads)


class ActionInfo(Protocol):
    """What the API shows of an action of the registry."""

    @property
    def name(self) -> str:
        """The registered name (``std.echo``)."""

    @property
    def description(self) -> str:
        """One line about it."""

    @property
    def is_sync(self) -> bool:
        """Whether ``run()`` produces the result itself."""

    @property
    def input_spec(self) -> str:
        """Its parameters as Mistral lists them: ``output, delay=0``."""


# -- field helpers ---------------------------------------------------------------------
def timestamp(value: Any) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` of a datetime, ``None`` for ``None``."""
    return None if value is None else value.isoformat(" ", "seconds")


def _ts(name: str) -> Getter[Any]:
    get = _attr(name)
    return lambda record: timestamp(get(record))


def _js(name: str) -> Getter[Any]:
    get = _attr(name)
    return lambda record: _json_text(get(record))


#: What an execution's ``params`` shows instead of a publisher's ``secret``, header values and query.
SECRET_SHOWN = "***"


def _params(wf_ex: WorkflowExecution) -> str:
    """An execution's params as text; each publisher of ``notify`` masked (:func:`_shown_publisher`)."""
    return _masked(wf_ex.params)


def _workflow_params(trigger: CronTrigger | EventTrigger) -> str:
    """A trigger's ``workflow_params`` (those of every execution it starts), masked the same way."""
    return _masked(trigger.workflow_params)


def _masked(params: dict[str, Any]) -> str:
    notify = params.get("notify") if params else None
    if isinstance(notify, list) and any(isinstance(p, dict) for p in notify):
        params = {**params, "notify": [_shown_publisher(p) if isinstance(p, dict) else p for p in notify]}
    return _json_text(params)


def _shown_publisher(publisher: dict[str, Any]) -> dict[str, Any]:
    """A publisher as readers see it: its ``secret``, its headers' values and its URL's query
    (where receivers' tokens usually are) masked."""
    shown = dict(publisher)
    if "secret" in shown:
        shown["secret"] = SECRET_SHOWN
    headers = shown.get("headers")
    if isinstance(headers, dict):
        shown["headers"] = {name: SECRET_SHOWN for name in headers}
    url = shown.get("url")
    if isinstance(url, str) and "?" in url:
        shown["url"] = url.split("?", 1)[0] + "?" + SECRET_SHOWN
    return shown


def _state(record: Any) -> str:
    state: State = record.state
    return state.value


def _tags(record: Any) -> list[str] | None:
    tags = record.tags
    return None if tags is None else list(tags)


def workflow_input_text(wf_def: WorkflowDefinition) -> str:
    """Mistral's ``input`` string of a workflow (``a, b="1"``), computed by the engine at upload."""
    text: str = wf_def.spec.get("input", "")
    return text


def workflow_interface(wf_def: WorkflowDefinition) -> dict[str, Any]:
    """Mistral's ``interface`` (declared input as written, output names), computed by the engine at upload."""
    interface: dict[str, Any] = wf_def.spec.get("interface") or {"input": [], "output": []}
    return interface


def _published_global(wf_ex: WorkflowExecution) -> str:
    return _json_text(wf_ex.context.get(GLOBALS_KEY) or {})


def _task_result(task_ex: TaskExecution) -> str:
    # Mistral shows a task that has no result yet as an empty list of action results.
    if task_ex.result is None and not is_completed(task_ex.state):
        return "[]"
    return _json_text(task_ex.result)


def _action_output(action_ex: ActionExecution) -> str | None:
    output = action_ex.output
    return None if output is None else _json_text(output)


def _action_state_info(action_ex: ActionExecution) -> str | None:
    """A waiting async action's ``state_info`` tells its progress, last heartbeat and deadline:
    the fields python-mistralclient's ``action-execution-get`` has no column for."""
    if action_ex.state is not State.RUNNING or action_ex.is_sync or action_ex.state_info:
        return action_ex.state_info
    parts = []
    progress = action_ex.progress or {}
    if progress.get("percent") is not None or progress.get("note"):
        percent = progress.get("percent")
        done = f"{percent:g}%" if isinstance(percent, int | float) else ""
        parts.append(" ".join(p for p in (done, str(progress.get("note") or "")) if p))
    if action_ex.last_heartbeat_at is not None:
        parts.append(f"last heartbeat {timestamp(action_ex.last_heartbeat_at)}")
    if action_ex.deadline is not None:
        parts.append(f"deadline {timestamp(action_ex.deadline)}")
    return "waiting: " + "; ".join(parts) if parts else None


def _iso(name: str) -> Getter[Any]:
    get = _attr(name)
    return lambda record: None if get(record) is None else get(record).isoformat(timespec="seconds") + "Z"


# -- views -----------------------------------------------------------------------------
WORKFLOW: View[WorkflowDefinition] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("namespace", _attr("namespace")),
        ("input", workflow_input_text),
        ("interface", lambda wf_def: _json_text(workflow_interface(wf_def))),
        ("definition", _attr("definition")),
        ("checksum", _attr("checksum")),
        ("tags", _tags),
        ("scope", _attr("scope")),
        ("project_id", _attr("project_id")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""A workflow as GET shows it (``interface`` as a JSON string)."""

_WORKFLOW_WRITTEN: View[WorkflowDefinition] = View(
    ("interface", workflow_interface) if name == "interface" else (name, get)
    for name, get in WORKFLOW._fields
)


def render_written_workflow(wf_def: WorkflowDefinition) -> dict[str, Any]:
    """A workflow as POST/PUT answer it: ``interface`` an object, ``updated_at`` only when set."""
    document = _WORKFLOW_WRITTEN.render(wf_def)
    if document["updated_at"] is None:
        del document["updated_at"]
    return document


EXECUTION: View[WorkflowExecution] = View(
    [
        ("id", _attr("id")),
        ("workflow_id", _attr("workflow_id")),
        ("workflow_name", _attr("workflow_name")),
        ("workflow_namespace", _attr("workflow_namespace")),
        ("description", _attr("description")),
        ("tags", _tags),
        ("params", _params),
        ("task_execution_id", _attr("task_execution_id")),
        ("root_execution_id", _attr("root_execution_id")),
        ("state", _state),
        ("state_info", _attr("state_info")),
        ("input", _js("input")),
        ("output", _js("output")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
        ("project_id", _attr("project_id")),
        ("published_global", _published_global),
    ],
    {"published_global": ("context",)},
)
"""A workflow execution as GET /v2/executions/<id> shows it."""

EXECUTION_CREATED = EXECUTION.without("published_global")
"""A workflow execution as POST /v2/executions answers it."""

EXECUTION_LISTED = EXECUTION.without("output", "published_global")
"""A workflow execution in a list (``include_output=true`` adds ``output``)."""

TASK: View[TaskExecution] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("type", _attr("type")),
        ("workflow_name", _attr("workflow_name")),
        ("workflow_namespace", _attr("workflow_namespace")),
        ("workflow_id", _attr("workflow_id")),
        ("workflow_execution_id", _attr("workflow_execution_id")),
        ("tags", _tags),
        ("state", _state),
        ("state_info", _attr("state_info")),
        ("project_id", _attr("project_id")),
        ("runtime_context", lambda task_ex: _json_text(task_ex.runtime_context.to_json())),
        ("result", _task_result),
        ("published", _js("published")),
        ("processed", _attr("processed")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
        ("started_at", _ts("started_at")),
        ("finished_at", _ts("finished_at")),
    ],
    {"result": ("result", "state")},
)
"""A task execution as GET /v2/tasks/<id> shows it."""

TASK_LISTED = TASK.without("result")
"""A task execution in a list."""

ACTION_EXECUTION: View[ActionExecution] = View(
    [
        ("id", _attr("id")),
        ("workflow_name", _attr("workflow_name")),
        ("workflow_namespace", _attr("workflow_namespace")),
        ("task_name", _attr("task_name")),
        ("task_execution_id", _attr("task_execution_id")),
        ("state", _state),
        ("state_info", _action_state_info),
        ("tags", _tags),
        ("name", _attr("name")),
        ("description", _attr("description")),
        ("project_id", _attr("project_id")),
        ("accepted", _attr("accepted")),
        ("input", _js("input")),
        ("output", _action_output),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
        ("progress", _attr("progress")),
        ("last_heartbeat_at", _iso("last_heartbeat_at")),
        ("deadline", _iso("deadline")),
    ],
    {"state_info": ("state", "is_sync", "state_info", "progress", "last_heartbeat_at", "deadline")},
)
"""An action execution as GET /v2/action_executions/<id> and PUT show it (``progress``,
``last_heartbeat_at`` and ``deadline`` are ours: the life of an async wait)."""

ACTION_EXECUTION_LISTED = ACTION_EXECUTION.without("output")
"""An action execution in a list (``include_output=true`` adds ``output``)."""

_DISPATCH_NAMES = {DISPATCH_QUEUED: "QUEUED", DISPATCH_STARTED: "STARTED", DISPATCH_HANDED_OFF: "HANDED_OFF"}


def _target(action_ex: ActionExecution) -> Any:
    return action_ex.target if action_ex.target is not None else action_ex.params.get("target")


WAIT: View[ActionExecution] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("workflow_name", _attr("workflow_name")),
        ("workflow_execution_id", _attr("workflow_execution_id")),
        ("task_name", _attr("task_name")),
        ("task_execution_id", _attr("task_execution_id")),
        ("state", _state),
        ("is_sync", _attr("is_sync")),
        ("target", _target),
        ("dispatch", lambda action_ex: _DISPATCH_NAMES.get(action_ex.dispatch, str(action_ex.dispatch))),
        ("project_id", _attr("project_id")),
        ("created_at", _ts("created_at")),
        ("deadline", _iso("deadline")),
        ("progress", _attr("progress")),
        ("last_heartbeat_at", _iso("last_heartbeat_at")),
    ]
)
"""A wait in ``GET /v2/waits`` (ours): a RUNNING async action execution, or a targeted one no
executor has started (``dispatch`` QUEUED; ``target`` names the executors it waits for)."""

ACTION: View[ActionInfo] = View(
    [
        ("id", _attr("name")),
        ("name", _attr("name")),
        ("is_system", lambda action: True),
        ("input", _attr("input_spec")),
        ("description", _attr("description")),
        ("tags", lambda action: []),
        ("definition", lambda action: None),
        ("scope", lambda action: "public"),
        ("project_id", lambda action: None),
        ("namespace", lambda action: ""),
        ("is_sync", _attr("is_sync")),
        ("created_at", lambda action: None),
        ("updated_at", lambda action: None),
    ]
)
"""An action of the registry (a system action: no database row, so no definition or timestamps)."""

ADHOC_ACTION: View[ActionDefinition] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("is_system", lambda action_def: False),
        ("input", _attr("input")),
        ("description", _attr("description")),
        ("tags", _tags),
        ("definition", _attr("definition")),
        ("scope", _attr("scope")),
        ("project_id", _attr("project_id")),
        ("namespace", _attr("namespace")),
        # Whether an ad-hoc action is synchronous depends on its base, resolved when it runs.
        ("is_sync", lambda action_def: None),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""An ad-hoc action (YAML, stored): the same fields as a system action, in the same order."""

WORKBOOK: View[Workbook] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("namespace", _attr("namespace")),
        ("definition", _attr("definition")),
        ("tags", _tags),
        ("scope", _attr("scope")),
        ("project_id", _attr("project_id")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""A workbook as GET /v2/workbooks/<name> shows it."""

CRON_TRIGGER: View[CronTrigger] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("workflow_name", _attr("workflow_name")),
        ("workflow_id", _attr("workflow_id")),
        ("workflow_input", _js("workflow_input")),
        ("workflow_params", _workflow_params),
        ("pattern", _attr("pattern")),
        ("first_execution_time", _ts("first_execution_time")),
        ("next_execution_time", _ts("next_execution_time")),
        ("remaining_executions", _attr("remaining_executions")),
        ("scope", _attr("scope")),
        ("project_id", _attr("project_id")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""A cron trigger (``workflow_input`` and ``workflow_params`` as JSON strings)."""

EVENT_TRIGGER: View[EventTrigger] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("workflow_id", _attr("workflow_id")),
        ("workflow_input", _js("workflow_input")),
        ("workflow_params", _workflow_params),
        ("exchange", _attr("exchange")),
        ("topic", _attr("topic")),
        ("event", _attr("event")),
        ("scope", _attr("scope")),
        ("project_id", _attr("project_id")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""An event trigger (``workflow_input`` and ``workflow_params`` as JSON strings, as Mistral 23 sends them)."""

ENVIRONMENT: View[Environment] = View(
    [
        ("id", _attr("id")),
        ("name", _attr("name")),
        ("description", _attr("description")),
        ("variables", _js("variables")),
        ("scope", _attr("scope")),
        ("project_id", _attr("project_id")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""An environment (``variables`` as a JSON string)."""


def _instant(record: HistoryEntry) -> str | None:
    """When an entry was written, to the millisecond (pushes a second apart are common)."""
    at = record.created_at
    return None if at is None else at.isoformat(" ", "milliseconds")


HISTORY_ENTRY: View[HistoryEntry] = View(
    [
        ("at", _instant),
        ("outcome", _attr("outcome")),
        ("reason", _attr("reason")),
        ("state", _attr("state")),
        ("by", _attr("by")),
        ("remote_addr", _attr("remote_addr")),
    ]
)
"""One entry of ``GET /v2/action_executions/<id>/history`` (ours: Mistral has no such resource)."""

NOTIFICATION_DELIVERY: View[NotificationDelivery] = View(
    [
        ("id", _attr("id")),
        ("workflow_execution_id", _attr("workflow_execution_id")),
        ("event", _attr("event")),
        ("entity_id", _attr("entity_id")),
        ("entity_name", _attr("entity_name")),
        ("publisher", _attr("publisher")),
        ("target", _attr("target")),
        ("state", _attr("state")),
        ("attempts", _attr("attempts")),
        ("last_error", _attr("last_error")),
        ("next_try_at", _ts("next_try_at")),
        ("project_id", _attr("project_id")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""A delivery of a notification that failed at least once (``GET /v2/notifications``; ours)."""

MEMBER: View[ResourceMember] = View(
    [
        ("id", _attr("id")),
        ("resource_id", _attr("resource_id")),
        ("resource_type", _attr("resource_type")),
        ("project_id", _attr("project_id")),
        ("member_id", _attr("member_id")),
        ("status", _attr("status")),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ]
)
"""A project a workflow is shared with (``/v2/workflows/<id>/members``)."""
