"""Records of the execution model: frozen dataclasses, stdlib only.

These are what the store returns and what the engine and the API pass around;
ORM rows never leave ``persistence``. JSON-able fields hold plain Python data
(dict/list/str/int/float/bool/None). Times are timezone-naive UTC ``datetime``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from mistral_core.model.flags import EMPTY, TaskFlags
from mistral_core.model.projects import DEFAULT_PROJECT
from mistral_core.model.states import State

JSON = Any


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowDefinition:
    """A stored workflow definition (one workflow of an uploaded document)."""

    id: str
    name: str
    definition: str
    spec: dict[str, JSON]
    checksum: str
    namespace: str = ""
    tags: tuple[str, ...] = ()
    scope: str = "private"
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowExecution:
    """One run of a workflow."""

    id: str
    workflow_id: str
    workflow_name: str
    spec_checksum: str
    state: State
    workflow_namespace: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    params: dict[str, JSON] = dataclasses.field(default_factory=dict)
    input: dict[str, JSON] = dataclasses.field(default_factory=dict)
    output: JSON = dataclasses.field(default_factory=dict)
    context: dict[str, JSON] = dataclasses.field(default_factory=dict)
    state_info: str | None = None
    task_execution_id: str | None = None
    root_execution_id: str | None = None
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    #: Bumped by every engine transaction that changes this execution or its tasks/actions,
    #: so an engine can tell whether its cached view is still current.
    version: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class TaskExecution:
    """One run of a task of a workflow execution."""

    id: str
    workflow_execution_id: str
    name: str
    state: State
    workflow_name: str
    workflow_id: str
    workflow_namespace: str = ""
    type: str = "ACTION"
    state_info: str | None = None
    in_context: dict[str, JSON] = dataclasses.field(default_factory=dict)
    published: dict[str, JSON] = dataclasses.field(default_factory=dict)
    result: JSON = None
    #: The engine's flags of this task (shown as Mistral's ``runtime_context``).
    runtime_context: TaskFlags = EMPTY
    processed: bool = False
    tags: tuple[str, ...] = ()
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


#: ``ActionExecution.dispatch`` values: how far the executor got with ``run()``.
#: QUEUED: decided, not started (safe to start after a crash); STARTED: ``run()`` began
#: (a crash leaves it in doubt); HANDED_OFF: an async ``run()`` returned (wait for the result).
DISPATCH_QUEUED = 0
DISPATCH_STARTED = 1
DISPATCH_HANDED_OFF = 2


@dataclasses.dataclass(frozen=True, slots=True)
class ActionExecution:
    """One call of an action.

    ``output`` is stored as Mistral shows it, ``{"result": <value>}``, once the
    action has finished; ``None`` while it runs. ``dispatch`` says whether an
    async action's ``run()`` has returned (the third party has the work).

    An asynchronous action execution has a callback token (minted each time it is sent to an
    executor): only its SHA-256 (``callback_token_hash``, hex) and the time it stops being
    accepted (``callback_token_expires_at``; revoking it sets that to the time of revocation)
    are kept, never the token itself.
    """

    id: str
    name: str
    state: State
    task_execution_id: str | None = None
    workflow_execution_id: str | None = None
    workflow_name: str | None = None
    workflow_namespace: str = ""
    task_name: str | None = None
    is_sync: bool = True
    accepted: bool = False
    input: dict[str, JSON] = dataclasses.field(default_factory=dict)
    output: JSON = None
    state_info: str | None = None
    description: str = ""
    tags: tuple[str, ...] | None = None
    params: dict[str, JSON] = dataclasses.field(default_factory=dict)
    dispatch: int = DISPATCH_QUEUED
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    #: The engine that handed it to its executors (whose death makes another engine recover it).
    runner_id: str | None = None
    #: What the last heartbeat said of the work: ``{"percent", "note", "details"}`` (each optional).
    progress: dict[str, JSON] | None = None
    #: When the third party last said it was alive (``POST .../heartbeat``).
    last_heartbeat_at: dt.datetime | None = None
    #: When the task's ``timeout`` ends this wait (None: no timeout); a heartbeat may move it.
    deadline: dt.datetime | None = None
    #: The executors it is sent to (its task's ``target``, also in ``params``); None: any. A column
    #: of its own so that the waits' indexes can hold the targeted actions no executor has started.
    target: str | None = None
    #: SHA-256 (hex) of its callback token; ``None`` for a synchronous action.
    callback_token_hash: str | None = None
    #: When its callback token stops being accepted (expiry, or the time it was revoked).
    callback_token_expires_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Timer:
    """A durable delayed call: at ``due_at`` the engine acts on ``target_id``.

    ``kind`` says what to do: ``timeout`` (a task's action waited too long),
    ``retry`` (run a task again), ``wait-before`` / ``wait-after`` (a task's
    delay is over), ``cron`` (fire a cron trigger). A timer is claimed by one
    engine at a time (``claimed_by`` until ``claimed_until``) and deleted in the
    same transaction that applies it, so it fires exactly once.
    """

    id: str
    due_at: dt.datetime
    kind: str
    target_id: str
    workflow_execution_id: str | None = None
    payload: dict[str, JSON] = dataclasses.field(default_factory=dict)
    claimed_by: str | None = None
    claimed_until: dt.datetime | None = None
    created_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CronTrigger:
    """Starts a workflow on a crontab pattern (``remaining_executions`` None: forever)."""

    id: str
    name: str
    workflow_name: str
    workflow_id: str
    pattern: str | None
    next_execution_time: dt.datetime
    workflow_input: dict[str, JSON] = dataclasses.field(default_factory=dict)
    workflow_params: dict[str, JSON] = dataclasses.field(default_factory=dict)
    first_execution_time: dt.datetime | None = None
    remaining_executions: int | None = None
    scope: str = "private"
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Environment:
    """A named set of variables an execution can be started with (``env()``)."""

    id: str
    name: str
    variables: dict[str, JSON] = dataclasses.field(default_factory=dict)
    description: str = ""
    scope: str = "private"
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Workbook:
    """An uploaded workbook document; its workflows and actions are stored as ``<name>.<item>``."""

    id: str
    name: str
    definition: str
    namespace: str = ""
    tags: tuple[str, ...] = ()
    scope: str = "private"
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ActionDefinition:
    """An ad-hoc action written in YAML (``base``, ``base-input``, ``input``, ``output``)."""

    id: str
    name: str
    definition: str
    spec: dict[str, JSON]
    namespace: str = ""
    input: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    workbook_name: str | None = None
    scope: str = "private"
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
