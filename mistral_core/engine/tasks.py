"""The life of one task execution, up to its end: policies, actions, items, sub-workflows, attempts.

:class:`TaskRunner` is the half of the conductor that takes a task from its
creation to its final state: policies before it (``pause-before``,
``wait-before``), running it (one action, one action per item of ``with-items``
with ``concurrency``, or a sub-workflow), each attempt's end (``fail-on``,
``retry``, ``wait-after``) and its timers (``timeout`` and the delays). What
happens after a task ended is :class:`~mistral_core.engine.conductor.Conductor`'s.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

from mistral_core.engine import items as wi
from mistral_core.engine.catalog import Catalog
from mistral_core.engine.intents import StartChild
from mistral_core.engine.policies import Policies, PolicyError, evaluate_policies
from mistral_core.engine.runtime import Runtime
from mistral_core.engine.state import ACTIVE, ExecutionState
from mistral_core.errors import ActionError, ExpressionError
from mistral_core.lang.expressions import Evaluator, has_expression
from mistral_core.lang.spec import TaskSpec
from mistral_core.model import (
    EMPTY_FLAGS,
    ActionExecution,
    CancelAction,
    ItemCounters,
    RunAction,
    State,
    TaskExecution,
    Trigger,
    WaitAfter,
    WaitingItem,
)

S = State
Queue = deque[str]
#: The policies that may leave a timer behind.
TIMED_POLICIES = frozenset({"timeout", "retry", "wait-before", "wait-after"})


class TaskRunner:
    """Takes task executions from their creation to their final state.

    Args:
        evaluator: evaluates expressions.
        catalog: says whether an action exists and its input is valid (Python and ad-hoc actions).
    """

    def __init__(self, evaluator: Evaluator, catalog: Catalog) -> None:
        self._evaluator = evaluator
        self._catalog = catalog

    @staticmethod
    def reads_actions_of(st: ExecutionState, task: TaskExecution) -> bool:
        """Whether the end of one of the task's actions reads its other action executions.

        For the unit of work, which loads them beforehand (else the conductor would ask for them:
        :class:`~mistral_core.errors.NeedsData`).
        """
        task_spec = st.spec.tasks.get(task.name)
        if task_spec is None or task.runtime_context.with_items is not None:
            return True
        return "retry" in task_spec.policies or task_spec.keep_result is False

    # == starting tasks ==================================================================

    def _new_task(
        self,
        st: ExecutionState,
        task_spec: TaskSpec,
        state: State,
        in_context: dict[str, Any],
        triggers: tuple[Trigger, ...],
    ) -> TaskExecution:
        wf_ex = st.wf_ex
        task = TaskExecution(
            id=st.new_id(),
            workflow_execution_id=wf_ex.id,
            name=task_spec.name,
            state=state,
            workflow_name=wf_ex.workflow_name,
            workflow_id=wf_ex.workflow_id,
            workflow_namespace=wf_ex.workflow_namespace,
            type=task_spec.type,
            in_context=in_context,
            runtime_context=EMPTY_FLAGS.set(triggered_by=triggers) if triggers else EMPTY_FLAGS,
            tags=task_spec.tags,
            project_id=wf_ex.project_id,
            created_at=st.now,
            updated_at=st.now,
            started_at=st.now if state is S.RUNNING else None,
        )
        st.insert(task)
        return task

    def _start_task(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        try:
            policies = self._policies(st, task)
        except (PolicyError, ExpressionError) as exc:
            self._finish_task(st, task, S.ERROR, f"Invalid policy of task '{task.name}': {exc.detail}", queue)
            return
        flags = task.runtime_context
        if policies.pause_before and not flags.pause_before_done:
            st.change(
                task,
                state=S.IDLE,
                state_info="Set by 'pause-before' policy",
                runtime_context=flags.set(pause_before_done=True),
            )
            st.change(
                st.wf_ex,
                state=S.PAUSED,
                state_info=f"Paused before task '{task.name}' ('pause-before' policy)",
            )
            return
        if policies.wait_before > 0 and not flags.wait_before_done:
            st.change(task, state=S.DELAYED, runtime_context=flags.set(wait_before_done=True))
            st.add_timer("wait-before", task.id, policies.wait_before)
            return
        self._run(st, task, policies, queue)

    def _run(self, st: ExecutionState, task: TaskExecution, policies: Policies, queue: Queue) -> None:
        task_spec = st.spec.tasks[task.name]
        if task.started_at is None or task.state is not S.RUNNING:
            task = st.change(task, state=S.RUNNING, started_at=task.started_at or st.now)
        if task_spec.with_items:
            self._run_items(st, task, task_spec, policies, queue)
        elif task_spec.workflow:
            self._run_subworkflow(st, task, task_spec, queue)
        else:
            self._run_action(st, task, task_spec, queue)
        if policies.timeout > 0 and st.tasks[task.id].state is S.RUNNING:
            st.add_timer("timeout", task.id, policies.timeout, timeout=policies.timeout)

    def _run_action(self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec, queue: Queue) -> None:
        try:
            name, action_input = self._action_call(st, task, task_spec, {})
            self._start_action(st, task, self._new_action(st, task, name, action_input, None, S.RUNNING))
        except (ExpressionError, ActionError) as exc:
            self._finish_task(st, task, S.ERROR, f"Failed to run task '{task.name}': {exc}", queue)

    def _new_action(
        self,
        st: ExecutionState,
        task: TaskExecution,
        name: str,
        action_input: dict[str, Any],
        index: int | None,
        state: State,
    ) -> ActionExecution:
        """The action execution of one call of an action by a task (not yet in the view).

        Raises:
            ActionError: unknown action or bad input.
        """
        prepared = self._catalog.prepare(
            name, action_input, st.wf_ex.workflow_name, lambda: self._data(st, task), st.catalog_checked
        )
        params: dict[str, Any] = {} if index is None else {"index": index}
        if prepared.safe_rerun or self._task_safe_rerun(st, task):
            params["safe_rerun"] = True
        if prepared.run_as is not None:
            params.update(run_as=prepared.run_as, run_input=prepared.run_input)
            if prepared.transforms:
                params["transforms"] = list(prepared.transforms)
        return ActionExecution(
            id=st.new_id(),
            name=prepared.name,
            state=state,
            task_execution_id=task.id,
            workflow_execution_id=task.workflow_execution_id,
            workflow_name=task.workflow_name,
            workflow_namespace=task.workflow_namespace,
            task_name=task.name,
            is_sync=prepared.is_sync,
            input=action_input,
            params=params,
            project_id=task.project_id,
            created_at=st.now,
            updated_at=st.now,
        )

    def _start_action(self, st: ExecutionState, task: TaskExecution, action: ActionExecution) -> None:
        """Add a new action execution to the view; a RUNNING one is sent to an executor after commit."""
        st.insert(action)
        if action.state is S.RUNNING:
            st.commands.append(self._command_for(st, task, action))

    def _task_safe_rerun(self, st: ExecutionState, task: TaskExecution) -> bool:
        try:
            return bool(self._eval(st, task, st.spec.tasks[task.name].safe_rerun))
        except ExpressionError:
            return False

    @staticmethod
    def command_for(action: ActionExecution, target: str | None = None) -> RunAction:
        """The command that runs an action execution (also used to re-run one after a crash)."""
        return RunAction(
            action_execution_id=action.id,
            action_name=action.params.get("run_as", action.name),
            input=action.params.get("run_input", action.input),
            is_sync=action.is_sync,
            workflow_name=action.workflow_name,
            workflow_execution_id=action.workflow_execution_id,
            task_execution_id=action.task_execution_id,
            safe_rerun=bool(action.params.get("safe_rerun")),
            target=target,
        )

    def _command_for(self, st: ExecutionState, task: TaskExecution, action: ActionExecution) -> RunAction:
        return self.command_for(action, st.spec.tasks[task.name].target)

    def _run_subworkflow(
        self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec, queue: Queue
    ) -> None:
        try:
            name, wf_input = self._action_call(st, task, task_spec, {}, task_spec.workflow)
        except ExpressionError as exc:
            self._finish_task(st, task, S.ERROR, f"Failed to run task '{task.name}': {exc}", queue)
            return
        child_id = st.new_id()
        st.flag(task, child_execution_id=child_id)
        st.intents.append(StartChild(task.id, child_id, name, wf_input))

    def _action_call(
        self,
        st: ExecutionState,
        task: TaskExecution,
        task_spec: TaskSpec,
        extra: dict[str, Any],
        name_text: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        name = name_text or task_spec.action or "std.noop"
        if has_expression(name):
            name = str(self._eval(st, task, name, extra=extra))
        raw_input = task_spec.input
        if isinstance(raw_input, str):
            evaluated = self._eval(st, task, raw_input, extra=extra)
            if not isinstance(evaluated, dict):
                raise ExpressionError(f"'input' must evaluate to an object, got {type(evaluated).__name__}")
            given = {**self._eval(st, task, dict(task_spec.inline_input), extra=extra), **evaluated}
        else:
            merged = {**task_spec.inline_input, **raw_input}
            given = self._eval(st, task, merged, extra=extra) if merged else {}
        if name_text is None:
            given = {**self._action_defaults(st, name), **given}
        return name, given

    @staticmethod
    def _action_defaults(st: ExecutionState, name: str) -> dict[str, Any]:
        """``env.__actions.<action>``: default input of an action in this execution (the call's wins)."""
        env = st.wf_ex.params.get("env")
        defaults = env.get("__actions") if isinstance(env, dict) else None
        if not isinstance(defaults, dict):
            return {}
        found = defaults.get(name, defaults.get(f"std.{name}") if "." not in name else None)
        return dict(found) if isinstance(found, dict) else {}

    # == with-items ======================================================================

    def _run_items(
        self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec, policies: Policies, queue: Queue
    ) -> None:
        try:
            variables = wi.collections_of(task_spec.with_items, lambda v: self._eval(st, task, v))
            calls = [self._action_call(st, task, task_spec, item, task_spec.workflow) for item in variables]
        except ExpressionError as exc:
            self._finish_task(st, task, S.ERROR, f"Failed to run task '{task.name}': {exc}", queue)
            return
        counters = ItemCounters.new(len(calls), policies.concurrency)
        task = st.flag(task, with_items=counters)
        if not calls:
            self._attempt_done(st, task, S.SUCCESS, [], None, queue)
            return
        if task_spec.workflow:
            self._run_child_items(st, task, calls, counters)
            return
        try:  # every call is checked before any is started: a bad one leaves nothing behind
            actions = [
                self._new_action(
                    st, task, name, action_input, index, S.RUNNING if index < counters.concurrency else S.IDLE
                )
                for index, (name, action_input) in enumerate(calls)
            ]
        except ActionError as exc:
            self._finish_task(st, task, S.ERROR, f"Failed to run task '{task.name}': {exc}", queue)
            return
        for action in actions:
            self._start_action(st, task, action)
        st.flag(task, with_items=dataclasses.replace(counters, started=counters.concurrency))

    def _run_child_items(
        self,
        st: ExecutionState,
        task: TaskExecution,
        calls: list[tuple[str, dict[str, Any]]],
        counters: ItemCounters,
    ) -> None:
        """with-items over a sub-workflow: one child execution per item, ``concurrency`` at a time.

        The items still to start and the results of finished children live in the task's
        flags (sub-workflow fan-outs are small; actions use pre-created IDLE rows).
        """
        waiting = [WaitingItem(index, name, given) for index, (name, given) in enumerate(calls)]
        first, rest = waiting[: counters.concurrency], waiting[counters.concurrency :]
        task = st.flag(
            task,
            with_items=dataclasses.replace(counters, started=len(first)),
            items_waiting=tuple(rest),
            item_results={},
        )
        for item in first:
            self._start_child_item(st, task, item)

    @staticmethod
    def _start_child_item(st: ExecutionState, task: TaskExecution, item: WaitingItem) -> None:
        st.intents.append(StartChild(task.id, st.new_id(), item.workflow, item.given, item.index))

    def child_item_done(
        self, st: ExecutionState, task: TaskExecution, state: State, output: Any, index: int, queue: Queue
    ) -> None:
        """One child execution of a with-items sub-workflow task ended."""
        flags = task.runtime_context
        assert flags.with_items is not None
        counters = flags.with_items.finished_one(state)
        results = {**flags.item_results, str(index): output}
        waiting = flags.items_waiting
        if waiting:
            self._start_child_item(st, task, waiting[0])
            counters = dataclasses.replace(counters, started=counters.started + 1)
            waiting = waiting[1:]
        task = st.flag(task, with_items=counters, items_waiting=waiting, item_results=results)
        if counters.all_done:
            ordered = [results.get(str(i)) for i in range(counters.count)]
            final, info = wi.outcome(counters)
            task = st.flag(task, items_waiting=(), item_results={})
            self._attempt_done(st, task, final, ordered, info, queue)

    def _item_done(
        self, st: ExecutionState, task: TaskExecution, action_ex: ActionExecution, queue: Queue
    ) -> None:
        assert task.runtime_context.with_items is not None
        counters = task.runtime_context.with_items.finished_one(action_ex.state)
        if counters.started < counters.count and self._start_next_item(st, task):
            counters = dataclasses.replace(counters, started=counters.started + 1)
        task = st.flag(task, with_items=counters)
        if counters.all_done:
            results = wi.results_in_order(st.actions_of(task.id), counters.count)
            state, info = wi.outcome(counters)
            self._attempt_done(st, task, state, results, info, queue)

    def _start_next_item(self, st: ExecutionState, task: TaskExecution) -> bool:
        idle = [a for a in st.actions_of(task.id) if a.state is S.IDLE]
        if not idle:
            return False
        action = st.change(min(idle, key=wi.item_index), state=S.RUNNING)
        st.commands.append(self._command_for(st, task, action))
        return True

    def _rerun_failed_items(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        task_spec = st.spec.tasks[task.name]
        failed = [a for a in st.actions_of(task.id) if not a.accepted and a.state is not S.SUCCESS]
        counters = task.runtime_context.with_items
        assert counters is not None
        counters = dataclasses.replace(counters, done=counters.count - len(failed), failed=0, cancelled=0)
        task = st.flag(task, with_items=counters)
        try:
            actions = [
                self._new_action(st, task, a.name, a.input, wi.item_index(a), S.RUNNING) for a in failed
            ]
        except ActionError as exc:
            self._finish_task(st, task, S.ERROR, f"Failed to run task '{task_spec.name}': {exc}", queue)
            return
        for action in actions:
            self._start_action(st, task, action)

    # == the end of an attempt ===========================================================

    def _attempt_done(
        self,
        st: ExecutionState,
        task: TaskExecution,
        state: State,
        result: Any,
        info: str | None,
        queue: Queue,
    ) -> None:
        self._cancel_timers(st, task, "timeout")
        task = st.change(task, result=result)
        try:
            policies = self._policies(st, task)
            if (
                state is S.SUCCESS
                and policies.fail_on is not None
                and self._truthy(st, task, policies.fail_on)
            ):
                state, info = S.ERROR, "Failed by 'fail-on' policy"
            if self._should_retry(st, task, policies, state):
                self._retry(st, task, policies, queue)
                return
        except (PolicyError, ExpressionError) as exc:
            state, info, policies = S.ERROR, f"Invalid policy of task '{task.name}': {exc.detail}", Policies()
        if policies.wait_after > 0:
            st.change(
                task,
                state=S.DELAYED,
                state_info=info,
                runtime_context=task.runtime_context.set(wait_after=WaitAfter(state, info)),
            )
            st.add_timer("wait-after", task.id, policies.wait_after)
            return
        self._finish_task(st, task, state, info, queue)

    def _should_retry(
        self, st: ExecutionState, task: TaskExecution, policies: Policies, state: State
    ) -> bool:
        retry = policies.retry
        if retry is None or task.runtime_context.retry_no >= retry.count:
            return False
        if state is S.ERROR:
            return retry.break_on is None or not self._truthy(st, task, retry.break_on)
        if state is S.SUCCESS:
            return retry.continue_on is not None and self._truthy(st, task, retry.continue_on)
        return False

    def _retry(self, st: ExecutionState, task: TaskExecution, policies: Policies, queue: Queue) -> None:
        assert policies.retry is not None
        number = task.runtime_context.retry_no + 1
        for action_ex in st.actions_of(task.id):
            if action_ex.accepted:
                st.change(action_ex, accepted=False)
        runtime = task.runtime_context.set(with_items=None, retry_no=number)
        if policies.retry.delay > 0:
            st.change(
                task,
                state=S.DELAYED,
                state_info=f"Retry {number} of {policies.retry.count} in {policies.retry.delay:g} s",
                runtime_context=runtime,
            )
            st.add_timer("retry", task.id, policies.retry.delay)
            return
        task = st.change(task, state_info=None, runtime_context=runtime)
        self._run(st, task, policies, queue)

    @staticmethod
    def _cancel_timers(st: ExecutionState, task: TaskExecution, kind: str | None) -> None:
        """Cancel a task's timers; only tasks with time policies can have any (no cost otherwise)."""
        if st.spec.tasks[task.name].policies.keys() & TIMED_POLICIES:
            st.cancel_timers(task.id, kind)

    def _finish_task(
        self, st: ExecutionState, task: TaskExecution, state: State, info: str | None, queue: Queue
    ) -> None:
        self._cancel_timers(st, task, "timeout")
        st.change(task, state=state, state_info=info, finished_at=st.now)
        queue.append(task.id)

    def _timer_fired(
        self, st: ExecutionState, task: TaskExecution, kind: str, payload: dict[str, Any], queue: Queue
    ) -> None:
        runtime = task.runtime_context.set(deferred_timer=None)
        if kind == "timeout" and task.state in (S.RUNNING, S.PAUSED):
            self._time_out(st, task, payload.get("timeout"), queue)
        elif kind in ("retry", "wait-before") and task.state is S.DELAYED:
            task = st.change(task, state=S.RUNNING, state_info=None, runtime_context=runtime)
            try:
                self._run(st, task, self._policies(st, task), queue)
            except (PolicyError, ExpressionError) as exc:
                self._finish_task(
                    st, task, S.ERROR, f"Invalid policy of task '{task.name}': {exc.detail}", queue
                )
        elif kind == "wait-after" and task.state is S.DELAYED:
            saved = runtime.wait_after or WaitAfter(S.SUCCESS)
            task = st.change(task, runtime_context=runtime.set(wait_after=None))
            self._finish_task(st, task, saved.state, saved.info, queue)

    def _time_out(self, st: ExecutionState, task: TaskExecution, seconds: Any, queue: Queue) -> None:
        message = f"Task timed out [timeout(s)={seconds}]: no result within {seconds} s"
        for action_ex in st.actions_of(task.id):
            if action_ex.state in (S.RUNNING, S.PAUSED, S.IDLE):
                st.change(
                    action_ex,
                    state=S.ERROR,
                    state_info=message,
                    output={"result": message},
                    accepted=action_ex.state is not S.IDLE,
                )
                self._tell_cancelled(st, action_ex)
        task = st.flag(task, with_items=None)
        self._attempt_done(st, task, S.ERROR, None, message, queue)

    def _tell_cancelled(self, st: ExecutionState, action_ex: ActionExecution) -> None:
        if not action_ex.is_sync and action_ex.state in (S.RUNNING, S.PAUSED):
            st.commands.append(CancelAction.of(action_ex))

    def _resume_task(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        if task.state is S.IDLE and task.runtime_context.pause_before_done:
            task = st.change(task, state=S.RUNNING, state_info=None)
            self._start_task(st, task, queue)
        elif task.state is S.PAUSED and task.type == "WORKFLOW":
            st.change(task, state=S.RUNNING)  # its sub-workflow is resumed with it
        elif task.runtime_context.deferred_timer:
            self._timer_fired(st, task, task.runtime_context.deferred_timer, {}, queue)
        elif task.state not in ACTIVE and not task.processed:
            queue.append(task.id)

    # == expressions =====================================================================

    def _policies(self, st: ExecutionState, task: TaskExecution) -> Policies:
        raw = st.spec.tasks[task.name].policies
        return evaluate_policies(raw, lambda v: self._eval(st, task, v)) if raw else Policies()

    def _truthy(self, st: ExecutionState, task: TaskExecution, value: Any) -> bool:
        return bool(self._eval(st, task, value, with_published=True))

    def _data(self, st: ExecutionState, task: TaskExecution) -> dict[str, Any]:
        """What ``$`` is for a task's expressions: workflow context, then the task's in-context."""
        return {**st.wf_ex.context, **task.in_context, "__execution": self._execution_view(st)}

    def _eval(
        self,
        st: ExecutionState,
        task: TaskExecution,
        value: Any,
        with_published: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> Any:
        if not _needs_evaluation(value):
            return value
        data = {**st.wf_ex.context, **task.in_context}
        if with_published:
            data.update(task.published)
        if extra:
            data.update(extra)
        data["__execution"] = self._execution_view(st)
        return self._evaluator.evaluate(value, data, Runtime(st, task))

    @staticmethod
    def _execution_view(st: ExecutionState) -> dict[str, Any]:
        return {"id": st.wf_ex.id, "input": st.wf_ex.input, "params": st.wf_ex.params}


def _needs_evaluation(value: Any) -> bool:
    if isinstance(value, str):
        return has_expression(value)
    return isinstance(value, dict | list) and bool(value)
