"""The engine: applies events to workflow executions, one transaction each, effects after commit.

Every public method opens a transaction on the store, locks the workflow
executions concerned, lets the :class:`Conductor` decide, writes what changed and
commits; only then are actions handed to the runner, timers announced to the
scheduler and observers told (an outbox: a crash never loses an accepted result
or runs an action twice). What one execution's change means for another (a
sub-workflow started or ended, a pause passed down) is applied in the same
transaction, through the intents the conductor leaves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from mistral_core.engine.cache import StateCache
from mistral_core.engine.catalog import Catalog
from mistral_core.engine.conductor import Conductor
from mistral_core.engine.definitions import Definitions
from mistral_core.engine.ports import (
    ActionCatalog,
    ActionRunner,
    Clock,
    CronSchedule,
    ExecutionStore,
    HookRelay,
    NoHooks,
    SystemClock,
)
from mistral_core.engine.state import ACTIVE, ExecutionState
from mistral_core.errors import (
    ExpressionError,
    InputError,
    MistralError,
    NotFoundError,
    StateConflictError,
    TransientStoreError,
    WorkflowInputError,
)
from mistral_core.lang.expressions import Evaluator, NoRuntime
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.lang.validation import ParsedWorkflow
from mistral_core.model import (
    DISPATCH_HANDED_OFF,
    DISPATCH_QUEUED,
    DISPATCH_STARTED,
    ActionCompleted,
    ActionDefinition,
    ActionExecution,
    ActionHandedOff,
    CancelAction,
    CronTrigger,
    Environment,
    Event,
    Filter,
    Query,
    RunAction,
    State,
    TaskExecution,
    Timer,
    Workbook,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.model.states import is_action_finished

LOG = logging.getLogger(__name__)
S = State
FINISHED = (S.SUCCESS, S.ERROR, S.CANCELLED)
#: Parameters of an execution (``params``) that a sub-workflow task may pass in its input.
CHILD_PARAMS = ("env", "task_name", "evaluate_env", "notify")


#: An engine that has not heart-beaten for this long is dead: another takes over its actions.
ENGINE_TIMEOUT = dt.timedelta(seconds=120)
#: How many times a transaction the database refused for now (deadlock) is tried.
TRANSIENT_ATTEMPTS = 4
R = TypeVar("R")


def _new_id() -> str:
    return str(uuid.uuid4())


class _EnvOnly(NoRuntime):
    """What ``vars`` see when an execution starts: its input as ``$``, and ``env()``."""

    def __init__(self, env: Any) -> None:
        self._env = env if isinstance(env, dict) else {}

    def env(self) -> dict[str, Any]:
        """The execution's environment."""
        return self._env


class _Work:
    """The executions one transaction touched (locked once each), in the order it touched them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.states: dict[str, ExecutionState] = {}

    def state(self, wf_ex_id: str) -> ExecutionState:
        """The view of an execution, locking and loading it the first time."""
        st = self.states.get(wf_ex_id)
        if st is None:
            st = self.states[wf_ex_id] = self._engine.load_state(
                self._engine.store.lock_workflow_execution(wf_ex_id)
            )
        return st

    def add(self, st: ExecutionState) -> None:
        """A new execution created in this transaction."""
        self.states[st.wf_ex.id] = st

    def owner_of_task(self, task_ex_id: str) -> ExecutionState:
        """The view of the execution a task belongs to."""
        for st in self.states.values():
            if task_ex_id in st.tasks:
                return st
        task = self._engine.store.get_task_execution(task_ex_id)
        return self.state(task.workflow_execution_id)


class Engine:
    """The facade every entry point (API, executors, scheduler) goes through.

    Args:
        store: where definitions and executions live.
        catalog: the actions that exist.
        runner: hands actions to executors (may be attached later with :meth:`attach_runner`).
        clock: the time (UTC).
        hooks: lifecycle observers.
        evaluator: expression evaluator (one per process).
        cron: crontab arithmetic (needed for cron triggers).
        id_factory: makes ids for new records.
    """

    def __init__(
        self,
        store: ExecutionStore,
        catalog: ActionCatalog,
        runner: ActionRunner | None = None,
        *,
        clock: Clock | None = None,
        hooks: HookRelay | None = None,
        evaluator: Evaluator | None = None,
        cron: CronSchedule | None = None,
        id_factory: Callable[[], str] = _new_id,
    ) -> None:
        self.store = store
        self._runner = runner
        self._clock = clock or SystemClock()
        self._hooks = hooks or NoHooks()
        self._evaluator = evaluator or Evaluator()
        self._cron = cron
        self.catalog = Catalog(catalog, store, self._evaluator)
        self._conductor = Conductor(self._evaluator, self.catalog)
        self._new_id = id_factory
        self.definitions = Definitions(
            store,
            self._evaluator,
            self._clock,
            id_factory,
            on_actions_changed=self.catalog.forget,
            python_action_names=lambda: {d.name for d in self.catalog.python_actions()},
        )
        self._cache = StateCache()
        self._timer_listener: Callable[[dt.datetime], None] | None = None
        self.engine_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def attach_runner(self, runner: ActionRunner) -> None:
        """Give the engine its runner (the runner usually needs the engine too)."""
        self._runner = runner

    def on_timers_added(self, listener: Callable[[dt.datetime], None]) -> None:
        """Be told (after commit) the earliest due time of timers a transaction added."""
        self._timer_listener = listener

    # == workflow definitions (delegated) =================================================
    def validate_workflows(self, text: str) -> list[ParsedWorkflow]:
        """Parse and validate a workflow document; raises LanguageError."""
        return self.definitions.validate_workflows(text)

    def create_workflows(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[WorkflowDefinition]:
        """Store every workflow of a document (all or nothing)."""
        return self.definitions.create_workflows(text, namespace, scope)

    def update_workflows(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[WorkflowDefinition]:
        """Replace (or create) every workflow of a document."""
        return self.definitions.update_workflows(text, namespace, scope)

    def delete_workflow(self, identifier: str, namespace: str = "") -> None:
        """Delete a workflow definition."""
        self.definitions.delete_workflow(identifier, namespace)

    def validate_actions(self, text: str) -> Any:
        """Parse and validate an ad-hoc actions document; raises LanguageError."""
        return self.definitions.validate_actions(text)

    def create_actions(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[ActionDefinition]:
        """Store every ad-hoc action of a document (all or nothing)."""
        return self.definitions.create_actions(text, namespace, scope)

    def update_actions(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[ActionDefinition]:
        """Replace (or create) every ad-hoc action of a document."""
        return self.definitions.update_actions(text, namespace, scope)

    def delete_action(self, identifier: str, namespace: str = "") -> None:
        """Delete an ad-hoc action."""
        self.definitions.delete_action(identifier, namespace)

    def validate_workbook(self, text: str) -> Any:
        """Parse and validate a workbook; raises LanguageError."""
        return self.definitions.validate_workbook(text)

    def create_workbook(self, text: str, namespace: str = "", scope: str = "private") -> Workbook:
        """Store a workbook with its workflows and actions."""
        return self.definitions.create_workbook(text, namespace, scope)

    def update_workbook(self, text: str, namespace: str = "", scope: str = "private") -> Workbook:
        """Replace a workbook."""
        return self.definitions.update_workbook(text, namespace, scope)

    def delete_workbook(self, name: str, namespace: str = "") -> None:
        """Delete a workbook with its workflows and actions."""
        self.definitions.delete_workbook(name, namespace)

    def create_environment(
        self, name: str, variables: dict[str, Any], description: str = "", scope: str = "private"
    ) -> Environment:
        """Store a named environment."""
        return self.definitions.create_environment(name, variables, description, scope)

    def update_environment(
        self,
        name: str,
        variables: dict[str, Any] | None = None,
        description: str | None = None,
        scope: str | None = None,
    ) -> Environment:
        """Change an environment."""
        return self.definitions.update_environment(name, variables, description, scope)

    def delete_environment(self, name: str) -> None:
        """Delete an environment."""
        self.definitions.delete_environment(name)

    def list_actions(self) -> list[Any]:
        """The Python actions the catalog knows (for ``GET /v2/actions``)."""
        return self.catalog.python_actions()

    # == starting executions =============================================================
    def start_workflow(
        self,
        workflow_identifier: str,
        namespace: str = "",
        wf_input: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        description: str = "",
        ex_id: str | None = None,
    ) -> WorkflowExecution:
        """Create and start a workflow execution.

        Raises:
            NotFoundError: no such workflow (or environment).
            WorkflowInputError / InputError: input or params not valid.
        """
        return self._with_retries(
            self._start_workflow_once,
            workflow_identifier=workflow_identifier,
            namespace=namespace,
            wf_input=wf_input,
            params=params,
            description=description,
            ex_id=ex_id,
        )

    def _start_workflow_once(
        self,
        workflow_identifier: str,
        namespace: str = "",
        wf_input: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        description: str = "",
        ex_id: str | None = None,
    ) -> WorkflowExecution:
        if ex_id is not None:
            existing = self._existing_execution(ex_id)
            if existing is not None:
                return existing
        wf_def, spec = self.definitions.resolve_workflow(workflow_identifier, namespace)
        full_input = self._check_input(spec, wf_input or {})
        full_params = self._check_params(spec, {"namespace": namespace, "env": {}, **(params or {})})
        full_params["env"] = self._evaluate_env(full_params, full_input)
        work = _Work(self)
        with self.store.atomic():
            st = self._new_execution(wf_def, spec, full_input, full_params, description, ex_id, None)
            work.add(st)
            self._conductor.start(st)
            self._finish(work)
        self._after_commit(work.states.values())
        return st.wf_ex

    def _existing_execution(self, ex_id: str) -> WorkflowExecution | None:
        try:
            return self.store.get_workflow_execution(ex_id)
        except NotFoundError:
            return None

    def _new_execution(
        self,
        wf_def: WorkflowDefinition,
        spec: WorkflowSpec,
        wf_input: dict[str, Any],
        params: dict[str, Any],
        description: str,
        ex_id: str | None,
        parent: tuple[WorkflowExecution, str] | None,
    ) -> ExecutionState:
        now = self._clock.now()
        context = dict(wf_input)
        if spec.vars:
            context.update(
                self._evaluator.evaluate(dict(spec.vars), dict(wf_input), _EnvOnly(params.get("env")))
            )
        wf_ex = WorkflowExecution(
            id=ex_id or self._new_id(),
            workflow_id=wf_def.id,
            workflow_name=wf_def.name,
            spec_checksum=wf_def.spec["checksum"],
            state=S.RUNNING,
            workflow_namespace=wf_def.namespace,
            description=description,
            tags=spec.tags,
            params=params,
            input=wf_input,
            output={},
            context=context,
            created_at=now,
            updated_at=now,
            task_execution_id=parent[1] if parent else None,
            root_execution_id=(parent[0].root_execution_id or parent[0].id) if parent else None,
        )
        st = self._state_of(wf_ex, spec, {}, now)
        st.insert(wf_ex)
        st.notify("mistral_workflow_execution_started", "wf_ex", wf_ex)
        return st

    def _check_input(self, spec: WorkflowSpec, given: dict[str, Any]) -> dict[str, Any]:
        declared = {p.name: p for p in spec.input}
        missing = [p.name for p in spec.input if p.required and p.name not in given]
        unexpected = [k for k in given if k not in declared]
        if missing or unexpected:
            detail = f"missing={missing}" if missing else f"unexpected={unexpected}"
            kind = "DirectWorkflowSpec" if spec.type == "direct" else "ReverseWorkflowSpec"
            raise WorkflowInputError(f"Invalid input [name={spec.name}, class={kind}, {detail}]")
        full = {p.name: self._evaluator.evaluate(p.default, {}) for p in spec.input if not p.required}
        full.update(given)
        return full

    def _evaluate_env(self, params: dict[str, Any], wf_input: dict[str, Any]) -> dict[str, Any]:
        """The env's values are expressions (over the input), unless ``params.evaluate_env`` is false."""
        env: dict[str, Any] = params.get("env") or {}
        if params.get("evaluate_env", True) is False or not env:
            return env
        try:
            evaluated: dict[str, Any] = self._evaluator.evaluate(env, dict(wf_input))
        except ExpressionError as exc:
            raise InputError(f"An expression in the environment failed: {exc}") from None
        return evaluated

    def _check_params(self, spec: WorkflowSpec, params: dict[str, Any]) -> dict[str, Any]:
        env = params.get("env")
        if isinstance(env, str):
            get_env = getattr(self.store, "get_environment", None)
            try:
                params["env"] = get_env(env).variables if get_env else {}
            except NotFoundError:
                raise InputError(f"Environment not found [name={env}]") from None
        elif env is not None and not isinstance(env, dict):
            raise InputError(f"params.env must be an object or the name of an environment, not {env!r}")
        if spec.type == "reverse":
            target = params.get("task_name")
            if not target:
                raise InputError(
                    f"Reverse workflow '{spec.name}' needs the parameter 'task_name' "
                    "(the task to run, with what it requires)"
                )
            if target not in spec.tasks:
                raise InputError(f"Reverse workflow '{spec.name}' has no task '{target}'")
        return params

    # == execution control ===============================================================
    def update_execution(
        self,
        wf_ex_id: str,
        state: State | None = None,
        state_info: str | None = None,
        description: str | None = None,
        env: dict[str, Any] | None = None,
    ) -> WorkflowExecution:
        """Pause, resume, cancel, succeed or fail an execution; change its description or env.

        Raises:
            NotFoundError: no such execution.
            StateConflictError: the change does not fit the execution's state (409).
            InputError: a state that cannot be set this way (400).
        """
        return self._with_retries(
            self._update_execution_once,
            wf_ex_id=wf_ex_id,
            state=state,
            state_info=state_info,
            description=description,
            env=env,
        )

    def _update_execution_once(
        self,
        wf_ex_id: str,
        state: State | None = None,
        state_info: str | None = None,
        description: str | None = None,
        env: dict[str, Any] | None = None,
    ) -> WorkflowExecution:
        work = _Work(self)
        with self.store.atomic():
            st = work.state(wf_ex_id)
            if description is not None:
                st.change(st.wf_ex, description=description)
            if env is not None:
                self._merge_env(st, env)
            if state is not None:
                self._set_state(work, st, state, state_info)
            self._finish(work)
        self._after_commit(work.states.values())
        return st.wf_ex

    def _merge_env(self, st: ExecutionState, env: dict[str, Any]) -> None:
        if st.wf_ex.state not in (S.IDLE, S.PAUSED, S.ERROR, S.RUNNING):
            raise StateConflictError(
                f"Execution {st.wf_ex.id} is {st.wf_ex.state.value}: its env can no longer change",
                st.wf_ex.state.value,
            )
        current = st.wf_ex.params.get("env") or {}
        st.change(st.wf_ex, params={**st.wf_ex.params, "env": {**current, **env}})

    def _set_state(self, work: _Work, st: ExecutionState, state: State, info: str | None) -> None:
        current = st.wf_ex.state
        if state not in (S.RUNNING, S.PAUSED, S.CANCELLED, S.SUCCESS, S.ERROR):
            raise InputError(
                f"An execution's state can be set to RUNNING, PAUSED, CANCELLED, SUCCESS or "
                f"ERROR, not {state.value}"
            )
        if current is state:
            return
        if current in FINISHED:
            raise StateConflictError(
                f"Execution {st.wf_ex.id} is already {current.value}: it cannot be set "
                f"{state.value}" + (" (re-run a failed task instead)" if state is S.RUNNING else ""),
                current.value,
            )
        if state is S.PAUSED:
            self._conductor.pause(st, info)
            self._pause_parents(work, st)
        elif state is S.RUNNING:
            self._conductor.resume(st)
            self._resume_parents(work, st)
        elif state is S.CANCELLED:
            self._conductor.cancel(st, info)
        else:
            self._conductor.finish(st, state, info)

    def _pause_parents(self, work: _Work, st: ExecutionState) -> None:
        """A paused sub-workflow pauses its parent task and the parent workflow (as in Mistral)."""
        while st.wf_ex.task_execution_id:
            task_id = st.wf_ex.task_execution_id
            st = work.owner_of_task(task_id)
            if st.tasks[task_id].state is S.RUNNING:
                st.change(st.tasks[task_id], state=S.PAUSED)
            self._conductor.pause(
                st, f"Paused because sub-workflow of task '{st.tasks[task_id].name}' was paused"
            )

    def _resume_parents(self, work: _Work, st: ExecutionState) -> None:
        while st.wf_ex.task_execution_id:
            st = work.owner_of_task(st.wf_ex.task_execution_id)
            if st.wf_ex.state is not S.PAUSED:
                return
            self._conductor.resume(st)

    def rerun_task(
        self, task_ex_id: str, reset: bool = True, env: dict[str, Any] | None = None
    ) -> TaskExecution:
        """Run a failed task again (``PUT /v2/tasks/<id>`` with state RUNNING) and continue from it."""
        return self._with_retries(self._rerun_task_once, task_ex_id=task_ex_id, reset=reset, env=env)

    def _rerun_task_once(
        self, task_ex_id: str, reset: bool = True, env: dict[str, Any] | None = None
    ) -> TaskExecution:
        work = _Work(self)
        with self.store.atomic():
            st = work.owner_of_task(task_ex_id)
            task = st.tasks[task_ex_id]
            if task.state not in (S.ERROR, S.CANCELLED):
                raise StateConflictError(
                    f"Task {task.name} [{task_ex_id}] is {task.state.value}: only a task in "
                    "ERROR (or CANCELLED) can be re-run",
                    task.state.value,
                )
            if not reset and not st.spec.tasks[task.name].with_items:
                raise InputError(
                    f"Task {task.name} is not a with-items task: only a with-items task can be "
                    "re-run without reset (its failed items only)"
                )
            if st.wf_ex.state is S.PAUSED:
                raise StateConflictError(
                    f"Execution {st.wf_ex.id} is PAUSED: resume it before re-running a task", "PAUSED"
                )
            if env:
                self._merge_env(st, env)
            self._conductor.rerun_task(st, task, reset)
            self._reopen_parents(work, st)
            self._finish(work)
        self._after_commit(work.states.values())
        return st.tasks[task_ex_id]

    def _reopen_parents(self, work: _Work, st: ExecutionState) -> None:
        while st.wf_ex.task_execution_id:
            parent = work.owner_of_task(st.wf_ex.task_execution_id)
            self._conductor.reopen_task(parent, st.wf_ex.task_execution_id)
            st = parent

    def skip_task(self, task_ex_id: str) -> TaskExecution:
        """Skip a failed task (``PUT /v2/tasks/<id>`` with state SKIPPED): the workflow goes on."""
        return self._with_retries(self._skip_task_once, task_ex_id=task_ex_id)

    def _skip_task_once(self, task_ex_id: str) -> TaskExecution:
        work = _Work(self)
        with self.store.atomic():
            st = work.owner_of_task(task_ex_id)
            task = st.tasks[task_ex_id]
            if task.state is not S.ERROR:
                raise StateConflictError(
                    f"Task {task.name} [{task_ex_id}] is {task.state.value}: only a task "
                    "in ERROR can be skipped",
                    task.state.value,
                )
            self._conductor.skip_task(st, task)
            self._finish(work)
        self._after_commit(work.states.values())
        return st.tasks[task_ex_id]

    def delete_workflow_execution(self, wf_ex_id: str, force: bool = False) -> None:
        """Delete a finished workflow execution (or any, with ``force``)."""
        return self._with_retries(self._delete_workflow_execution_once, wf_ex_id=wf_ex_id, force=force)

    def _delete_workflow_execution_once(self, wf_ex_id: str, force: bool = False) -> None:
        with self.store.atomic():
            wf_ex = self.store.lock_workflow_execution(wf_ex_id)
            if wf_ex.state not in FINISHED and not force:
                raise StateConflictError(
                    f"Execution {wf_ex_id} is {wf_ex.state.value}: only a finished execution can be deleted "
                    "(add force=true to delete it anyway)",
                    wf_ex.state.value,
                )
            self.store.delete_workflow_execution(wf_ex_id)  # its pending timers find nothing and are dropped
        self._cache.drop(wf_ex_id)

    # == action results ==================================================================
    def complete_action(self, action_ex_id: str, state: State, output: Any) -> ActionExecution:
        """Deliver an action's result (SUCCESS, ERROR or CANCELLED) and move the workflow on.

        The same result again returns the stored action execution (idempotent).

        Raises:
            NotFoundError: no such action execution.
            StateConflictError: the action finished already with another result (it may have timed out).
        """
        return self._with_retries(
            self._complete_action_once, action_ex_id=action_ex_id, state=state, output=output
        )

    def _complete_action_once(self, action_ex_id: str, state: State, output: Any) -> ActionExecution:
        if state not in (S.SUCCESS, S.ERROR, S.CANCELLED):
            raise InputError(f"an action result must be SUCCESS, ERROR or CANCELLED, not {state.value}")
        work = _Work(self)
        rejected: tuple[ActionExecution, str] | None = None
        with self.store.atomic():
            action_ex, st = self._lock_action(work, action_ex_id)
            if is_action_finished(action_ex.state):
                rejected = self._repeated_result(action_ex, state, output)
                if rejected is None:
                    return action_ex
            elif st is None:
                return self._complete_orphan(action_ex, state, output)
            else:
                action_ex = self._conductor.on_action_completed(st, action_ex, state, output)
                self._finish(work)
        if rejected is not None:  # told after the transaction, like every hook
            self._hooks.notify(
                "mistral_action_result_rejected", action_ex=rejected[0], state=state.value, reason=rejected[1]
            )
            raise StateConflictError(rejected[1] + "; its result cannot be changed", rejected[0].state.value)
        self._after_commit(work.states.values())
        return action_ex

    def _lock_action(self, work: _Work, action_ex_id: str) -> tuple[ActionExecution, ExecutionState | None]:
        action_ex = self.store.get_action_execution(action_ex_id)
        if action_ex.workflow_execution_id is None:
            return action_ex, None
        st = work.state(action_ex.workflow_execution_id)
        return self._action_of(st, action_ex_id), st

    def _action_of(self, st: ExecutionState, action_ex_id: str) -> ActionExecution:
        """The action execution as it is now: from the (current) view, else read under the lock."""
        action_ex = st.actions.get(action_ex_id)
        if action_ex is None:
            action_ex = st.actions[action_ex_id] = self.store.get_action_execution(action_ex_id)
        return action_ex

    @staticmethod
    def _repeated_result(
        action_ex: ActionExecution, state: State, output: Any
    ) -> tuple[ActionExecution, str] | None:
        """None if this is the result already stored (idempotent); else why it is refused."""
        expected = {"result": None if state is S.CANCELLED else output}
        if action_ex.state is state and action_ex.output == expected:
            return None
        reason = f"Action execution {action_ex.id} is already {action_ex.state.value}"
        if action_ex.state_info:
            reason += f" ({action_ex.state_info})"
        return action_ex, reason

    def _complete_orphan(self, action_ex: ActionExecution, state: State, output: Any) -> ActionExecution:
        result = None if state is S.CANCELLED else output
        updated = dataclasses.replace(
            action_ex, state=state, output={"result": result}, accepted=True, updated_at=self._clock.now()
        )
        self.store.update(updated, ("state", "output", "accepted"))
        return updated

    def update_action_state(self, action_ex_id: str, state: State) -> ActionExecution:
        """Pause (async actions only) or resume an action execution."""
        return self._with_retries(self._update_action_state_once, action_ex_id=action_ex_id, state=state)

    def _update_action_state_once(self, action_ex_id: str, state: State) -> ActionExecution:
        if state not in (S.PAUSED, S.RUNNING):
            raise InputError(f"an action can only be set PAUSED or RUNNING this way, not {state.value}")
        work = _Work(self)
        with self.store.atomic():
            action_ex, st = self._lock_action(work, action_ex_id)
            if action_ex.state is state:
                return action_ex
            if is_action_finished(action_ex.state):
                raise StateConflictError(
                    f"Action execution {action_ex_id} is already {action_ex.state.value}",
                    action_ex.state.value,
                )
            if state is S.PAUSED and action_ex.is_sync:
                raise StateConflictError(
                    f"Action execution {action_ex_id} is synchronous: only asynchronous "
                    "actions can be paused",
                    action_ex.state.value,
                )
            if st is None:
                updated = dataclasses.replace(action_ex, state=state, updated_at=self._clock.now())
                self.store.update(updated, ("state",))
                return updated
            updated = st.change(action_ex, state=state)
            self._finish(work)
        self._after_commit(work.states.values())
        return updated

    # == actions outside workflows =======================================================
    def run_action(
        self,
        name: str,
        action_input: dict[str, Any] | None = None,
        save_result: bool = False,
        run_sync: bool | None = None,
        description: str = "",
    ) -> ActionExecution:
        """Run an action outside any workflow (``POST /v2/action_executions``, ``mistral run-action``).

        A sync action runs at once in the calling thread and its result is returned; it is stored
        only with ``save_result``. An async action (or ``save_result`` without ``run_sync``) is
        stored RUNNING and handed to an executor; its result arrives later.

        Raises:
            ActionError: unknown action or bad input.
            InputError: ``run_sync`` asked of an async action.
        """
        action_input = action_input or {}
        prepared = self.catalog.prepare(name, action_input)
        if run_sync and not prepared.is_sync:
            raise InputError(f"Action {prepared.name} is asynchronous: it cannot be run with run_sync")
        action = self._adhoc_action_record(prepared, action_input, description)
        command = Conductor.command_for(action)
        if not save_result and prepared.is_sync:
            return self._finished_record(action, self._run_now(command))
        with self.store.atomic():
            self.store.insert(action)
        if prepared.is_sync and run_sync:
            if not command.safe_rerun:
                self.store.raise_dispatch([action.id], DISPATCH_STARTED)
            self.apply_events([self._run_now(command)])
            return self.store.get_action_execution(action.id)
        if self._runner is not None:
            self._runner.submit([command])
        return action

    def _adhoc_action_record(
        self, prepared: Any, action_input: dict[str, Any], description: str
    ) -> ActionExecution:
        params: dict[str, Any] = {"safe_rerun": True} if prepared.safe_rerun else {}
        if prepared.run_as is not None:
            params.update(run_as=prepared.run_as, run_input=prepared.run_input)
            if prepared.transforms:
                params["transforms"] = list(prepared.transforms)
        now = self._clock.now()
        return ActionExecution(
            id=self._new_id(),
            name=prepared.name,
            state=S.RUNNING,
            runner_id=self.engine_id,
            is_sync=prepared.is_sync,
            input=action_input,
            params=params,
            description=description,
            created_at=now,
            updated_at=now,
        )

    def _run_now(self, command: RunAction) -> Any:
        if self._runner is None:
            raise InputError("This engine has no executor to run actions")
        return self._runner.run_now(command)

    def _finished_record(self, action: ActionExecution, event: Any) -> ActionExecution:
        """The action execution a run that is not saved would have become (never stored)."""
        state = event.state if isinstance(event, ActionCompleted) else S.RUNNING
        output = event.output if isinstance(event, ActionCompleted) else None
        transforms = action.params.get("transforms")
        if transforms and state is S.SUCCESS:
            output = self.catalog.transform(transforms, output)
        return dataclasses.replace(action, state=state, output={"result": output}, accepted=True)

    # == events from executors and timers ================================================
    def apply_events(self, events: Sequence[Event]) -> None:
        """Apply events from executors, many in one transaction; a failing one is retried alone."""
        handed_off = [e.action_execution_id for e in events if isinstance(e, ActionHandedOff)]
        if handed_off:
            self.store.raise_dispatch(handed_off, DISPATCH_HANDED_OFF)
        completed = [e for e in events if isinstance(e, ActionCompleted)]
        if completed:
            self._in_batches(completed, self._apply_completion, self._fail_event)

    def _apply_completion(self, work: _Work, event: ActionCompleted) -> None:
        try:
            wf_id = event.workflow_execution_id
            if wf_id is None:
                wf_id = self.store.get_action_execution(event.action_execution_id).workflow_execution_id
            st = work.state(wf_id) if wf_id else None
            action_ex = (
                self._action_of(st, event.action_execution_id)
                if st is not None
                else self.store.get_action_execution(event.action_execution_id)
            )
        except NotFoundError:
            return  # the execution was deleted meanwhile
        if is_action_finished(action_ex.state):
            return
        if st is None:
            self._complete_orphan(action_ex, event.state, event.output)
        else:
            self._conductor.on_action_completed(st, action_ex, event.state, event.output, event.state_info)

    def fire_timers(self, timers: Sequence[Timer]) -> None:
        """Apply timers that fell due (claimed by this engine): each exactly once."""
        engines = [t for t in timers if t.kind == "engine"]
        others = [t for t in timers if t.kind != "engine"]
        if others:
            self._in_batches(sorted(others, key=lambda t: t.due_at), self._fire_one, self._timer_failed)
        for timer in engines:
            self._take_over(timer)

    # == engines: heartbeats and take-over ================================================
    def heartbeat(self) -> None:
        """Say this engine is alive: its own timer moves ``ENGINE_TIMEOUT`` ahead. If the engine
        dies, the timer falls due and another engine takes over its unfinished actions."""
        due = self._clock.now() + ENGINE_TIMEOUT
        with self.store.atomic():
            self.store.delete_timers(self.engine_id, "engine")
            self.store.insert_timer(
                Timer(
                    id=self._new_id(),
                    due_at=due,
                    kind="engine",
                    target_id=self.engine_id,
                    created_at=self._clock.now(),
                )
            )

    def _take_over(self, timer: Timer) -> None:
        if not self.store.delete_timer(timer.id):
            return  # taken over by another engine already
        if timer.target_id == self.engine_id:
            self.heartbeat()  # we are alive, only late
            return
        touched = self.recover(runner_id=timer.target_id)
        LOG.warning(
            "engine %s stopped heart-beating: took over %d of its action execution(s)",
            timer.target_id,
            touched,
        )

    def _fire_one(self, work: _Work, timer: Timer) -> None:
        if not self.store.delete_timer(timer.id):
            return  # cancelled, or fired by another engine
        if timer.kind == "cron":
            self._fire_cron(work, timer)
            return
        if timer.workflow_execution_id is None:
            return
        try:
            st = work.state(timer.workflow_execution_id)
        except NotFoundError:
            return
        self._conductor.on_timer(st, timer)

    def _in_batches(
        self, items: Sequence[Any], apply: Callable[[_Work, Any], None], on_failure: Callable[[Any], None]
    ) -> None:
        def once() -> _Work:
            work = _Work(self)
            with self.store.atomic():
                for item in items:
                    apply(work, item)
                self._finish(work)
            return work

        try:
            work = self._with_retries(once)
        except Exception:  # one bad item must not lose the others: retry one by one
            if len(items) == 1:
                LOG.exception("could not apply %s", items[0])
                on_failure(items[0])
                return
            LOG.warning("a batch of %d failed; applying them one by one", len(items), exc_info=True)
            for item in items:
                self._in_batches([item], apply, on_failure)
            return
        self._after_commit(work.states.values())

    def _fail_event(self, event: ActionCompleted) -> None:
        if event.state is not S.ERROR:
            self._in_batches(
                [
                    ActionCompleted(
                        event.action_execution_id,
                        S.ERROR,
                        "Internal error while applying the action's result; see the server log",
                        event.workflow_execution_id,
                    )
                ],
                self._apply_completion,
                lambda e: None,
            )

    @staticmethod
    def _timer_failed(timer: Timer) -> None:
        LOG.error(
            "timer %s (%s of %s) could not be applied and was dropped", timer.id, timer.kind, timer.target_id
        )

    # == cron triggers ===================================================================
    def create_cron_trigger(
        self,
        name: str,
        workflow: str,
        pattern: str | None = None,
        workflow_input: dict[str, Any] | None = None,
        workflow_params: dict[str, Any] | None = None,
        first_execution_time: dt.datetime | None = None,
        remaining_executions: int | None = None,
        namespace: str = "",
    ) -> CronTrigger:
        """Create a cron trigger (validated: workflow, input, pattern, times, count).

        Raises:
            InputError: a bad pattern, a time in the past, a count below 1, bad input.
            NotFoundError: no such workflow.
            DuplicateError: the name exists.
        """
        if self._cron is None:
            raise InputError("cron triggers are not available: the engine has no cron schedule")
        if not pattern and first_execution_time is None:
            raise InputError("a cron trigger needs a pattern, a first_execution_time, or both")
        if pattern:
            self._cron.validate(pattern)
        if remaining_executions is not None and remaining_executions < 1:
            raise InputError(f"remaining_executions must be at least 1, not {remaining_executions}")
        now = self._clock.now()
        if first_execution_time is not None and first_execution_time < now:
            raise InputError(f"first_execution_time {first_execution_time:%Y-%m-%d %H:%M} is in the past")
        wf_def, spec = self.definitions.resolve_workflow(workflow, namespace)
        self._check_input(spec, workflow_input or {})
        self._check_params(spec, {"env": {}, **(workflow_params or {})})
        if remaining_executions is None and not pattern:
            remaining_executions = 1
        first = first_execution_time or self._cron.next_after(str(pattern), now)
        trigger = CronTrigger(
            id=self._new_id(),
            name=name,
            workflow_name=wf_def.name,
            workflow_id=wf_def.id,
            pattern=pattern,
            next_execution_time=first,
            workflow_input=workflow_input or {},
            workflow_params=workflow_params or {},
            first_execution_time=first_execution_time,
            remaining_executions=remaining_executions,
            created_at=now,
        )
        with self.store.atomic():
            self.store.create_cron_trigger(trigger)
            self.store.insert_timer(self._cron_timer(trigger))
        if self._timer_listener is not None:
            self._timer_listener(first)
        return trigger

    def delete_cron_trigger(self, identifier: str) -> None:
        """Delete a cron trigger (and its pending firing)."""
        with self.store.atomic():
            trigger = self.store.get_cron_trigger(identifier)
            self.store.delete_cron_trigger(trigger.id)
            self.store.delete_timers(trigger.id, "cron")

    def _cron_timer(self, trigger: CronTrigger) -> Timer:
        return Timer(
            id=self._new_id(),
            due_at=trigger.next_execution_time,
            kind="cron",
            target_id=trigger.id,
            created_at=self._clock.now(),
        )

    def _fire_cron(self, work: _Work, timer: Timer) -> None:
        try:
            trigger = self.store.get_cron_trigger(timer.target_id)
        except NotFoundError:
            return
        try:
            wf_def, spec = self.definitions.resolve_workflow(trigger.workflow_id)
            params = self._check_params(
                spec, {"namespace": wf_def.namespace, "env": {}, **trigger.workflow_params}
            )
            wf_input = self._check_input(spec, trigger.workflow_input)
            params["env"] = self._evaluate_env(params, wf_input)
            st = self._new_execution(
                wf_def,
                spec,
                wf_input,
                params,
                f'{{"triggered_by": {{"type": "cron_trigger", "id": "{trigger.id}", '
                f'"name": "{trigger.name}"}}}}',
                None,
                None,
            )
            work.add(st)
            self._conductor.start(st)
        except MistralError as exc:
            LOG.warning(
                "cron trigger %s could not start workflow %s: %s", trigger.name, trigger.workflow_name, exc
            )
        self._advance_cron(trigger)

    def _advance_cron(self, trigger: CronTrigger) -> None:
        remaining = None if trigger.remaining_executions is None else trigger.remaining_executions - 1
        if remaining == 0 or not trigger.pattern or self._cron is None:
            self.store.delete_cron_trigger(trigger.id)
            return
        after = max(self._clock.now(), trigger.next_execution_time)
        nxt = self._cron.next_after(trigger.pattern, after)
        updated = dataclasses.replace(
            trigger, next_execution_time=nxt, remaining_executions=remaining, updated_at=self._clock.now()
        )
        self.store.update_cron_trigger(updated, ("next_execution_time", "remaining_executions"))
        self.store.insert_timer(self._cron_timer(updated))

    # == recovery ========================================================================
    def recover(self, runner_id: str | None = None) -> int:
        """Re-run what never started or is safe to re-run; fail what is in doubt.

        After a restart of the only engine (``runner_id`` None: every unfinished action
        execution), or when an engine died (``runner_id``: only the ones it ran). Handed-off
        async actions keep waiting. Returns how many action executions were touched.
        """
        commands: list[RunAction] = []
        in_doubt: list[ActionCompleted] = []
        for action_ex in self.store.unfinished_action_executions():
            if action_ex.state is S.IDLE or action_ex.dispatch == DISPATCH_HANDED_OFF:
                continue
            if runner_id is not None and action_ex.runner_id != runner_id:
                continue
            if action_ex.params.get("safe_rerun") or action_ex.dispatch == DISPATCH_QUEUED:
                commands.append(Conductor.command_for(action_ex))
            else:
                message = (
                    f"The server stopped while action {action_ex.name} was running: it may or may not "
                    "have done its work, and its task is not marked safe-rerun, so it was not run again"
                )
                in_doubt.append(
                    ActionCompleted(action_ex.id, S.ERROR, message, action_ex.workflow_execution_id, message)
                )
        if in_doubt:
            self.apply_events(in_doubt)
        if commands and self._runner is not None:
            self._claim([c.action_execution_id for c in commands])
            self._runner.submit(commands)
        return len(commands) + len(in_doubt)

    def _claim(self, action_ex_ids: list[str]) -> None:
        """Make this engine the runner of action executions it is about to run again."""
        with self.store.atomic():
            for action_ex_id in action_ex_ids:
                action_ex = self.store.get_action_execution(action_ex_id)
                self.store.update(dataclasses.replace(action_ex, runner_id=self.engine_id), ("runner_id",))

    # == plumbing ========================================================================
    def _with_retries(self, once: Callable[..., R], **kwargs: Any) -> R:
        """Run one transactional call; run it again if the database refused it for now (a
        deadlock between engines on PostgreSQL). Nothing of a refused attempt was committed."""
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return once(**kwargs)
            except TransientStoreError:
                if attempt == TRANSIENT_ATTEMPTS:
                    raise
                LOG.info("transaction refused for now (attempt %d); running it again", attempt)
                time.sleep(random.uniform(0.002, 0.02) * attempt)
        raise AssertionError("unreachable")

    def load_state(self, wf_ex: WorkflowExecution) -> ExecutionState:
        """The view of a (locked) workflow execution: cached if still current, else read."""
        cached = self._cache.take(wf_ex)
        if cached is not None:
            cached.wf_ex = wf_ex
            cached.begin(self._clock.now())
            return cached
        spec = self.definitions.spec(wf_ex.spec_checksum)
        tasks = {t.id: t for t in self.store.task_executions_of(wf_ex.id)}
        return self._state_of(wf_ex, spec, tasks, self._clock.now())

    def _state_of(
        self, wf_ex: WorkflowExecution, spec: WorkflowSpec, tasks: dict[str, TaskExecution], now: dt.datetime
    ) -> ExecutionState:
        return ExecutionState(
            wf_ex,
            spec,
            tasks,
            now,
            self._new_id,
            self.store.action_executions_of,
            self.store.task_executions_of,
            self._child_ids,
        )

    def _child_ids(self, task_ex_id: str) -> list[str]:
        query = Query(filters=(Filter("task_execution_id", "eq", task_ex_id),), sort=(("created_at", "asc"),))
        return [child.id for child in self.store.list_workflow_executions(query)]

    def _finish(self, work: _Work) -> None:
        """Apply intents between executions until none is left, then write every execution."""
        todo = deque(work.states.values())
        while todo:
            st = todo.popleft()
            intents, st.intents = st.intents, []
            for intent in intents:
                todo.extend(self._apply_intent(work, st, intent))
        for st in work.states.values():
            self._flush(st)

    def _apply_intent(self, work: _Work, st: ExecutionState, intent: tuple[Any, ...]) -> list[ExecutionState]:
        kind = intent[0]
        try:
            if kind == "start_child":
                return self._start_child(work, st, *intent[1:])
            if kind == "completed":
                parent = work.owner_of_task(intent[1])
                self._conductor.on_child_completed(parent, intent[1], *intent[2:])
                return [parent]
            child = work.state(intent[1])
        except NotFoundError:
            return []
        if kind == "pause":
            self._conductor.pause(child, intent[2])
        elif kind == "resume":
            self._conductor.resume(child)
        elif kind == "cancel":
            self._conductor.cancel(child, intent[2])
        return [child]

    def _start_child(
        self,
        work: _Work,
        parent: ExecutionState,
        task_id: str,
        child_id: str,
        name: str,
        given: dict[str, Any],
        index: int | None = None,
    ) -> list[ExecutionState]:
        namespace = parent.wf_ex.workflow_namespace
        try:
            wf_def, spec = self.definitions.resolve_workflow(name, namespace, parent.wf_ex.workflow_name)
            wf_input = self._check_input(spec, {k: v for k, v in given.items() if k not in CHILD_PARAMS})
            params = {
                "namespace": namespace,
                "env": parent.wf_ex.params.get("env", {}),
                **{k: v for k, v in given.items() if k in CHILD_PARAMS},
            }
            params = self._check_params(spec, params)
            if index is not None:
                params["index"] = index
        except (NotFoundError, InputError) as exc:
            message = f"Failed to start sub-workflow '{name}': {exc}"
            if index is None:
                self._conductor.child_failed(parent, task_id, message)
            else:
                self._conductor.on_child_completed(parent, task_id, S.ERROR, message, message, index)
            return [parent]
        child = self._new_execution(wf_def, spec, wf_input, params, "", child_id, (parent.wf_ex, task_id))
        work.add(child)
        self._conductor.start(child)
        return [parent, child]

    def _flush(self, st: ExecutionState) -> None:
        self._cancel_pending_actions(st)
        self._own_dispatched(st)
        for target_id, kind in st.timer_cancels:
            self.store.delete_timers(target_id, kind)
        for timer in st.timers:
            self.store.insert_timer(timer)
        if not st.pending:
            return
        st.change(st.wf_ex, version=st.wf_ex.version + 1)
        for record, fields in st.pending.values():
            if fields is None:
                self.store.insert(record)
            else:
                self.store.update(record, tuple(fields))

    @staticmethod
    def _cancel_pending_actions(st: ExecutionState) -> None:
        """The unfinished action executions of cancelled tasks: CANCELLED, async ones told."""
        for task_id, reason in st.cancel_actions_of:
            for action_ex in st.actions_of(task_id):
                if action_ex.state in (S.RUNNING, S.PAUSED, S.IDLE):
                    st.change(action_ex, state=S.CANCELLED, state_info=reason)
                    if not action_ex.is_sync and action_ex.state is not S.IDLE:
                        st.commands.append(CancelAction.of(action_ex))

    def _own_dispatched(self, st: ExecutionState) -> None:
        """This engine runs what it dispatches: if it dies, another engine knows what to take over."""
        for command in st.commands:
            dispatched = st.actions.get(command.action_execution_id)
            if (
                isinstance(command, RunAction)
                and dispatched is not None
                and dispatched.runner_id != self.engine_id
            ):
                st.change(dispatched, runner_id=self.engine_id)

    def _after_commit(self, states: Iterable[ExecutionState]) -> None:
        commands: list[Any] = []
        earliest: dt.datetime | None = None
        for st in states:
            self._cache.keep(st)
            commands.extend(st.commands)
            for timer in st.timers:
                earliest = timer.due_at if earliest is None else min(earliest, timer.due_at)
            for hook, key, record in st.notifications:
                self._hooks.notify(hook, **{key: record})
        if commands and self._runner is not None:
            self._runner.submit(commands)
        if earliest is not None and self._timer_listener is not None:
            self._timer_listener(earliest)


__all__ = ["ACTIVE", "Engine"]
