"""The engine: applies events to workflow executions, one transaction each, effects after commit.

Every public method opens a transaction on the store, locks the workflow
execution concerned, lets the :class:`Conductor` decide, writes what changed and
commits; only then are actions handed to the runner and observers told (an
outbox: a crash never loses an accepted result or runs an action twice).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mistral_core.engine.cache import StateCache
from mistral_core.engine.conductor import Conductor
from mistral_core.engine.ports import ActionCatalog, ActionRunner, Clock, ExecutionStore, HookRelay, NoHooks, SystemClock
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import InputError, MistralError, NotFoundError, StateConflictError, WorkflowInputError
from mistral_core.lang.expressions import Evaluator
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.lang.validation import ParsedWorkflow, parse_workflows
from mistral_core.model import (
    DISPATCH_HANDED_OFF,
    ActionCompleted,
    ActionExecution,
    ActionHandedOff,
    Event,
    State,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.model.states import is_action_finished

LOG = logging.getLogger(__name__)
S = State


def _new_id() -> str:
    return str(uuid.uuid4())


class Engine:
    """The facade every entry point (API, executors, scheduler) goes through.

    Args:
        store: where definitions and executions live.
        catalog: the actions that exist.
        runner: hands actions to executors (may be attached later with :meth:`attach_runner`).
        clock: the time (UTC).
        hooks: lifecycle observers.
        evaluator: expression evaluator (one per process).
        id_factory: makes ids for new records.
    """

    def __init__(self, store: ExecutionStore, catalog: ActionCatalog, runner: ActionRunner | None = None,
                 *, clock: Clock | None = None, hooks: HookRelay | None = None,
                 evaluator: Evaluator | None = None, id_factory: Callable[[], str] = _new_id) -> None:
        self.store = store
        self.catalog = catalog
        self._runner = runner
        self._clock = clock or SystemClock()
        self._hooks = hooks or NoHooks()
        self._evaluator = evaluator or Evaluator()
        self._conductor = Conductor(self._evaluator, catalog)
        self._new_id = id_factory
        self._spec = functools.lru_cache(maxsize=512)(self._load_spec)
        self._cache = StateCache()

    def attach_runner(self, runner: ActionRunner) -> None:
        """Give the engine its runner (the runner usually needs the engine too)."""
        self._runner = runner

    # -- workflow definitions ---------------------------------------------------------
    def validate_workflows(self, text: str) -> list[ParsedWorkflow]:
        """Parse and validate a workflow document; raises LanguageError."""
        return parse_workflows(text, self._evaluator)

    def create_workflows(self, text: str, namespace: str = "", scope: str = "private") -> list[WorkflowDefinition]:
        """Store every workflow of a document. DuplicateError if a name exists (nothing stored)."""
        parsed = self.validate_workflows(text)
        with self.store.atomic():
            defs = [self._definition(p, text, namespace, scope, None) for p in parsed]
            for wf_def in defs:
                self.store.create_workflow_definition(wf_def)
        return defs

    def update_workflows(self, text: str, namespace: str = "", scope: str = "private") -> list[WorkflowDefinition]:
        """Replace (or create) every workflow of a document; running executions keep their old spec."""
        parsed = self.validate_workflows(text)
        result = []
        with self.store.atomic():
            for p in parsed:
                try:
                    old: WorkflowDefinition | None = self.store.get_workflow_definition(p.name, namespace)
                except NotFoundError:
                    old = None
                wf_def = self._definition(p, text, namespace, scope, old)
                if old is None:
                    self.store.create_workflow_definition(wf_def)
                else:
                    self.store.update_workflow_definition(wf_def)
                result.append(wf_def)
        return result

    def _definition(self, parsed: ParsedWorkflow, text: str, namespace: str, scope: str,
                    old: WorkflowDefinition | None) -> WorkflowDefinition:
        self.store.save_spec(parsed.checksum, {"name": parsed.name, "body": parsed.body})
        now = self._clock.now()
        return WorkflowDefinition(
            id=old.id if old else self._new_id(), name=parsed.name, definition=text,
            spec={"checksum": parsed.checksum, "interface": parsed.spec.interface(),
                  "input": parsed.spec.input_text()},
            checksum=hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
            namespace=namespace, tags=parsed.spec.tags, scope=scope,
            created_at=old.created_at if old else now, updated_at=now if old else None,
        )

    def delete_workflow(self, identifier: str, namespace: str = "") -> None:
        """Delete a workflow definition (its executions keep running on their snapshot)."""
        with self.store.atomic():
            self.store.delete_workflow_definition(identifier, namespace)

    def _load_spec(self, checksum: str) -> WorkflowSpec:
        stored = self.store.get_spec(checksum)
        return WorkflowSpec.build(stored["name"], stored["body"])

    # -- executions ---------------------------------------------------------------------
    def start_workflow(self, workflow_identifier: str, namespace: str = "", wf_input: dict[str, Any] | None = None,
                       params: dict[str, Any] | None = None, description: str = "",
                       ex_id: str | None = None) -> WorkflowExecution:
        """Create and start a workflow execution.

        Raises:
            NotFoundError: no such workflow.
            WorkflowInputError: input missing or unexpected.
        """
        if ex_id is not None:
            existing = self._existing_execution(ex_id)
            if existing is not None:
                return existing
        wf_def = self.store.get_workflow_definition(workflow_identifier, namespace)
        checksum = wf_def.spec["checksum"]
        spec = self._spec(checksum)
        full_input = self._check_input(spec, wf_input or {})
        params = {"namespace": namespace, "env": {}, **(params or {})}
        wf_ex = self._new_execution(wf_def, spec, checksum, full_input, params, description, ex_id)
        with self.store.atomic():
            st = ExecutionState(wf_ex, spec, {}, wf_ex.created_at or self._clock.now(), self._new_id)
            st.insert(wf_ex)
            st.notify("mistral_workflow_execution_started", "wf_ex", wf_ex)
            self._conductor.start(st)
            self._flush(st)
        self._after_commit([st])
        return st.wf_ex

    def _existing_execution(self, ex_id: str) -> WorkflowExecution | None:
        try:
            return self.store.get_workflow_execution(ex_id)
        except NotFoundError:
            return None

    def _new_execution(self, wf_def: WorkflowDefinition, spec: WorkflowSpec, checksum: str,
                       wf_input: dict[str, Any], params: dict[str, Any], description: str,
                       ex_id: str | None) -> WorkflowExecution:
        now = self._clock.now()
        context = dict(wf_input)
        if spec.vars:
            context.update(self._evaluator.evaluate(dict(spec.vars), dict(wf_input)))
        return WorkflowExecution(
            id=ex_id or self._new_id(), workflow_id=wf_def.id, workflow_name=wf_def.name,
            spec_checksum=checksum, state=S.RUNNING, workflow_namespace=wf_def.namespace,
            description=description, tags=spec.tags, params=params, input=wf_input, output={},
            context=context, created_at=now, updated_at=now,
        )

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

    def delete_workflow_execution(self, wf_ex_id: str, force: bool = False) -> None:
        """Delete a finished workflow execution (or any, with ``force``)."""
        with self.store.atomic():
            wf_ex = self.store.lock_workflow_execution(wf_ex_id)
            if wf_ex.state not in (S.SUCCESS, S.ERROR, S.CANCELLED) and not force:
                raise StateConflictError(
                    f"Execution {wf_ex_id} is {wf_ex.state.value}: only a finished execution can be deleted "
                    "(add force=true to delete it anyway)", wf_ex.state.value)
            self.store.delete_workflow_execution(wf_ex_id)

    # -- action results -------------------------------------------------------------------
    def complete_action(self, action_ex_id: str, state: State, output: Any) -> ActionExecution:
        """Deliver an action's result (SUCCESS, ERROR or CANCELLED) and move the workflow on.

        The same result again returns the stored action execution (idempotent).

        Raises:
            NotFoundError: no such action execution.
            StateConflictError: the action finished already with another result.
        """
        if state not in (S.SUCCESS, S.ERROR, S.CANCELLED):
            raise InputError(f"an action result must be SUCCESS, ERROR or CANCELLED, not {state.value}")
        with self.store.atomic():
            action_ex, st = self._lock_action(action_ex_id)
            if is_action_finished(action_ex.state):
                return self._repeated_result(action_ex, state, output)
            if st is None:
                return self._complete_orphan(action_ex, state, output)
            action_ex = self._conductor.on_action_completed(st, action_ex, state, output)
            self._flush(st)
        self._after_commit([st])
        return action_ex

    def _lock_action(self, action_ex_id: str) -> tuple[ActionExecution, ExecutionState | None]:
        action_ex = self.store.get_action_execution(action_ex_id)
        if action_ex.workflow_execution_id is None:
            return action_ex, None
        st = self._load_state(self.store.lock_workflow_execution(action_ex.workflow_execution_id))
        return self._action_of(st, action_ex_id), st

    def _action_of(self, st: ExecutionState, action_ex_id: str) -> ActionExecution:
        """The action execution as it is now: from the (current) view, else read under the lock."""
        action_ex = st.actions.get(action_ex_id)
        if action_ex is None:
            action_ex = st.actions[action_ex_id] = self.store.get_action_execution(action_ex_id)
        return action_ex

    def _repeated_result(self, action_ex: ActionExecution, state: State, output: Any) -> ActionExecution:
        expected = {"result": None if state is S.CANCELLED else output}
        if action_ex.state is state and action_ex.output == expected:
            return action_ex
        reason = f"Action execution {action_ex.id} is already {action_ex.state.value}"
        if action_ex.state_info:
            reason += f" ({action_ex.state_info})"
        self._hooks.notify("mistral_action_result_rejected", action_ex=action_ex, state=state.value, reason=reason)
        raise StateConflictError(reason + "; its result cannot be changed", action_ex.state.value)

    def _complete_orphan(self, action_ex: ActionExecution, state: State, output: Any) -> ActionExecution:
        now = self._clock.now()
        result = None if state is S.CANCELLED else output
        updated = dataclasses.replace(action_ex, state=state, output={"result": result}, accepted=True,
                                      updated_at=now)
        self.store.update(updated, ("state", "output", "accepted"))
        return updated

    def update_action_state(self, action_ex_id: str, state: State) -> ActionExecution:
        """Pause (async actions only) or resume an action execution."""
        if state not in (S.PAUSED, S.RUNNING):
            raise InputError(f"an action can only be set PAUSED or RUNNING this way, not {state.value}")
        with self.store.atomic():
            action_ex, st = self._lock_action(action_ex_id)
            if action_ex.state is state:
                return action_ex
            if is_action_finished(action_ex.state):
                raise StateConflictError(f"Action execution {action_ex_id} is already {action_ex.state.value}",
                                         action_ex.state.value)
            if state is S.PAUSED and action_ex.is_sync:
                raise StateConflictError(f"Action execution {action_ex_id} is synchronous: only asynchronous "
                                         "actions can be paused", action_ex.state.value)
            if st is None:
                updated = dataclasses.replace(action_ex, state=state, updated_at=self._clock.now())
                self.store.update(updated, ("state",))
                return updated
            updated = st.change(action_ex, state=state)  # type: ignore[assignment]
            self._flush(st)
        self._after_commit([st])
        return updated

    def apply_events(self, events: Sequence[Event]) -> None:
        """Apply events from executors, many in one transaction; a failing one is retried alone."""
        try:
            states = self._apply_batch(events)
        except Exception:  # one bad event must not lose the others: retry one by one
            if len(events) == 1:
                self._fail_event(events[0])
                return
            LOG.exception("a batch of %d events failed; applying them one by one", len(events))
            for event in events:
                self.apply_events([event])
            return
        self._after_commit(states)

    def _apply_batch(self, events: Sequence[Event]) -> list[ExecutionState]:
        states: dict[str, ExecutionState] = {}
        with self.store.atomic():
            for event in sorted(events, key=lambda e: e.action_execution_id):
                self._apply_one(event, states)
            for st in states.values():
                self._flush(st)
        return list(states.values())

    def _apply_one(self, event: Event, states: dict[str, ExecutionState]) -> None:
        try:
            wf_id = event.workflow_execution_id
            if wf_id is None:
                wf_id = self.store.get_action_execution(event.action_execution_id).workflow_execution_id
            st = states.get(wf_id) if wf_id else None
            if wf_id and st is None:
                st = states[wf_id] = self._load_state(self.store.lock_workflow_execution(wf_id))
            action_ex = (self._action_of(st, event.action_execution_id) if st is not None
                         else self.store.get_action_execution(event.action_execution_id))
        except NotFoundError:
            return  # the execution was deleted meanwhile
        if isinstance(event, ActionHandedOff):
            if action_ex.state in (S.RUNNING, S.PAUSED):
                self._hand_off(st, action_ex)
        elif isinstance(event, ActionCompleted) and not is_action_finished(action_ex.state):
            if st is None:
                self._complete_orphan(action_ex, event.state, event.output)
            else:
                self._conductor.on_action_completed(st, action_ex, event.state, event.output)

    def _hand_off(self, st: ExecutionState | None, action_ex: ActionExecution) -> None:
        if st is not None:
            st.change(action_ex, dispatch=DISPATCH_HANDED_OFF)
        else:
            self.store.update(dataclasses.replace(action_ex, dispatch=DISPATCH_HANDED_OFF), ("dispatch",))

    def _fail_event(self, event: Event) -> None:
        LOG.exception("could not apply %s", event)
        if isinstance(event, ActionCompleted) and event.state is not S.ERROR:
            try:
                self.apply_events([ActionCompleted(event.action_execution_id, S.ERROR,
                                                   "Internal error while applying the action's result; "
                                                   "see the server log")])
            except MistralError:
                LOG.exception("could not fail action execution %s", event.action_execution_id)

    # -- recovery -----------------------------------------------------------------------
    def recover(self) -> int:
        """After a restart: fail actions left in doubt (or re-run safe ones). Returns how many were touched."""
        touched = 0
        for action_ex in self.store.unfinished_action_executions():
            if action_ex.dispatch == DISPATCH_HANDED_OFF:
                continue  # an async action whose third party has the work: keep waiting
            touched += 1
            self.apply_events([ActionCompleted(
                action_ex.id, S.ERROR,
                f"The server stopped while action {action_ex.name} was being run; it may or may not have "
                "run, and its task is not marked safe-rerun, so it was not run again")])
        return touched

    # -- plumbing -------------------------------------------------------------------------
    def _load_state(self, wf_ex: WorkflowExecution) -> ExecutionState:
        """The view of a (locked) workflow execution: cached if still current, else read."""
        cached = self._cache.take(wf_ex)
        if cached is not None:
            cached.wf_ex = wf_ex
            cached.begin(self._clock.now())
            return cached
        spec = self._spec(wf_ex.spec_checksum)
        tasks = {t.id: t for t in self.store.task_executions_of(wf_ex.id)}
        return ExecutionState(wf_ex, spec, tasks, self._clock.now(), self._new_id)

    def _flush(self, st: ExecutionState) -> None:
        for task_id, reason in st.cancel_actions_of:
            for action_ex in self.store.action_executions_of(task_id):
                current = st.actions.get(action_ex.id, action_ex)
                if current.state in (S.RUNNING, S.PAUSED):
                    st.change(current, state=S.CANCELLED, state_info=reason)
        if not st.pending:
            return
        st.change(st.wf_ex, version=st.wf_ex.version + 1)
        for record, fields in st.pending.values():
            if fields is None:
                self.store.insert(record)
            else:
                self.store.update(record, tuple(fields))

    def _after_commit(self, states: Iterable[ExecutionState]) -> None:
        commands = []
        for st in states:
            self._cache.keep(st)
            commands.extend(st.commands)
            for hook, key, record in st.notifications:
                self._hooks.notify(hook, **{key: record})
        if commands and self._runner is not None:
            self._runner.submit(commands)

    def list_actions(self) -> list[Any]:
        """The actions the catalog knows (for ``GET /v2/actions``)."""
        lister = getattr(self.catalog, "list", None)
        return list(lister()) if lister else []

