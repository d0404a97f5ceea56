"""The life of one task execution, up to its end: policies, actions, sub-workflows, attempts, timers.

:class:`TaskRunner` takes a task from its creation to its final state: policies
before it (``pause-before``, ``wait-before``), running it (one action, a
sub-workflow, or — through :class:`~mistral_core.engine.items.ItemRunner` — one
of either per item of ``with-items``), each attempt's end (``fail-on``,
``retry``, ``wait-after``) and its timers (``timeout`` and the delays). What
happens after a task ended is the conductor's.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from typing import Any

from mistral_core.engine.calls import ActionCalls, command_for
from mistral_core.engine.catalog import Catalog
from mistral_core.engine.evaluation import TaskExpressions
from mistral_core.engine.intents import StartChild
from mistral_core.engine.items import ItemRunner
from mistral_core.engine.limits import Limits
from mistral_core.engine.policies import Policies, PolicyError
from mistral_core.engine.publishing import publish
from mistral_core.engine.runtime import Runtime
from mistral_core.engine.state import ACTIVE, ExecutionState
from mistral_core.errors import ActionError, ExpressionError
from mistral_core.lang.spec import TaskSpec
from mistral_core.model import (
    EMPTY_FLAGS,
    ActionExecution,
    CancelAction,
    State,
    TaskExecution,
    Trigger,
    WaitAfter,
)
from mistral_core.model.commands import TIMEOUT

S = State
Queue = deque[str]
#: The policies that may leave a timer behind.
TIMED_POLICIES = frozenset({"timeout", "heartbeat-timeout", "retry", "wait-before", "wait-after"})


class TaskRunner:
    """Takes task executions from their creation to their final state.

    Args:
        expressions: evaluates the tasks' expressions.
        catalog: says whether an action exists and its input is valid (Python and ad-hoc actions).
        limits: bounds the size of action inputs and the items of with-items.
    """

    def __init__(self, expressions: TaskExpressions, catalog: Catalog, limits: Limits) -> None:
        self._x = expressions
        self._catalog = catalog
        self._limits = limits
        self.calls = ActionCalls(expressions)
        self.items = ItemRunner(self, expressions, limits)

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

    @staticmethod
    def new_task(
        st: ExecutionState,
        task_spec: TaskSpec,
        state: State,
        in_context: dict[str, Any],
        triggers: tuple[Trigger, ...],
    ) -> TaskExecution:
        """A new task execution in ``st`` (not started yet)."""
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

    def start_task(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        """Start a task: its policies before it, then its run."""
        try:
            policies = self._x.policies(st, task)
        except (PolicyError, ExpressionError) as exc:
            self.fail_workflow(st, task, f"Invalid policy of task '{task.name}': {exc.detail}", queue)
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
        deadline = st.now + dt.timedelta(seconds=policies.timeout) if policies.timeout > 0 else None
        flags = task.runtime_context
        if (flags.deadline, flags.heartbeat_timeout, flags.timed_out) != (
            deadline,
            policies.heartbeat_timeout,
            False,
        ):
            task = st.flag(
                task, deadline=deadline, heartbeat_timeout=policies.heartbeat_timeout, timed_out=False
            )
        if task_spec.with_items:
            self.items.run(st, task, task_spec, policies, queue)
        elif task_spec.workflow:
            self._run_subworkflow(st, task, task_spec, queue)
        else:
            self._run_action(st, task, task_spec, queue)
        if deadline is not None and st.tasks[task.id].state is S.RUNNING:
            st.add_timer_at("timeout", task.id, deadline, timeout=policies.timeout)

    def _run_action(self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec, queue: Queue) -> None:
        try:
            name, action_input = self.calls.call(st, task, task_spec, {})
            self.start_action(st, task, self.new_action(st, task, name, action_input, None, S.RUNNING))
        except (ExpressionError, ActionError) as exc:
            self.fail_workflow(st, task, f"Failed to run task '{task.name}': {exc}", queue)

    def _run_subworkflow(
        self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec, queue: Queue
    ) -> None:
        try:
            name, wf_input = self.calls.call(st, task, task_spec, {}, task_spec.workflow)
        except ExpressionError as exc:
            self.fail_workflow(st, task, f"Failed to run task '{task.name}': {exc}", queue)
            return
        child_id = st.new_id()
        st.flag(task, child_execution_id=child_id)
        st.intents.append(StartChild(task.id, child_id, name, wf_input))

    # == actions =========================================================================

    def new_action(
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
            ActionError: unknown action, bad input, an input over the size limit.
            NeedsData: the name may be an ad-hoc action and the catalog was not checked.
        """
        too_big = self._limits.oversized(action_input, f"The input of action {name}")
        if too_big is not None:
            raise ActionError(too_big)
        prepared = self._catalog.prepare(
            name,
            action_input,
            st.wf_ex.workflow_name,
            lambda: self._x.data(st, task),
            st.catalog_checked,
            st.wf_ex.project_id,
            Runtime(st, task),
        )
        params: dict[str, Any] = {} if index is None else {"index": index}
        if prepared.safe_rerun or self._x.safe_rerun(st, task):
            params["safe_rerun"] = True
        if prepared.run_as is not None:
            params.update(run_as=prepared.run_as, run_input=prepared.run_input)
            if prepared.transforms:
                params["transforms"] = list(prepared.transforms)
        if prepared.dynamic is not None:
            params["dynamic"] = prepared.dynamic
        target = self.calls.target(st, task)
        if target is not None:
            params["target"] = target
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
            deadline=task.runtime_context.deadline,
            target=target,
        )

    def start_action(self, st: ExecutionState, task: TaskExecution, action: ActionExecution) -> None:
        """Add a new action execution to the view; a RUNNING one is sent to an executor after commit."""
        st.insert(action)
        if action.state is S.RUNNING:
            self.dispatch(st, task, action)

    def dispatch(self, st: ExecutionState, task: TaskExecution, action: ActionExecution) -> None:
        """Send a RUNNING action execution to an executor (after commit); an async one's first
        heartbeat window (``heartbeat-timeout``) starts now; a dynamic action's command carries its code."""
        st.commands.append(self._catalog.attach_code(command_for(action), action.params))
        seconds = task.runtime_context.heartbeat_timeout
        if seconds and not action.is_sync:
            st.add_timer("heartbeat", action.id, seconds, task_id=task.id, window=seconds)

    # == the end of an attempt ===========================================================

    def attempt_done(
        self,
        st: ExecutionState,
        task: TaskExecution,
        state: State,
        result: Any,
        info: str | None,
        queue: Queue,
    ) -> None:
        """One attempt of a task ended: ``fail-on``, ``retry``, ``wait-after``, or the task's end."""
        self.cancel_timers(st, task, "timeout")
        task = st.change(task, result=result)
        try:
            policies = self._x.policies(st, task)
            failed_on = (
                state is S.SUCCESS
                and policies.fail_on is not None
                and self._x.truthy(st, task, policies.fail_on)
            )
            if failed_on:
                state, info = S.ERROR, "Failed by 'fail-on' policy"
            retrying = self._should_retry(st, task, policies, state)
        except (PolicyError, ExpressionError) as exc:
            self.fail_workflow(st, task, f"Invalid policy of task '{task.name}': {exc.detail}", queue)
            return
        if failed_on or (retrying and state is S.SUCCESS):
            # As in Mistral 23, an attempt that succeeded publishes what a success publishes before
            # fail-on turns it into an error (then on-error routes it) or continue-on repeats it.
            task = publish(self._x, st, task, st.spec.tasks[task.name], self._limits, S.SUCCESS)
            if task.runtime_context.fails_workflow:
                st.change(task, finished_at=st.now)
                queue.append(task.id)
                return
            if not retrying:
                task = st.flag(task, published=True)
        if retrying:
            self._retry(st, task, policies, queue)
            return
        if policies.wait_after > 0:
            st.change(
                task,
                state=S.DELAYED,
                state_info=info,
                runtime_context=task.runtime_context.set(wait_after=WaitAfter(state, info)),
            )
            st.add_timer("wait-after", task.id, policies.wait_after)
            return
        self.finish_task(st, task, state, info, queue)

    def _should_retry(
        self, st: ExecutionState, task: TaskExecution, policies: Policies, state: State
    ) -> bool:
        retry = policies.retry
        if retry is None or task.runtime_context.retry_no >= retry.count:
            return False
        if state is S.ERROR:
            return retry.break_on is None or not self._x.truthy(st, task, retry.break_on)
        if state is S.SUCCESS:
            return retry.continue_on is not None and self._x.truthy(st, task, retry.continue_on)
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
    def cancel_timers(st: ExecutionState, task: TaskExecution, kind: str | None) -> None:
        """Cancel a task's timers; only tasks with time policies can have any (no cost otherwise)."""
        if st.spec.tasks[task.name].policies.keys() & TIMED_POLICIES:
            st.cancel_timers(task.id, kind)

    def finish_task(
        self, st: ExecutionState, task: TaskExecution, state: State, info: str | None, queue: Queue
    ) -> None:
        """The task ended in ``state``: queued for the conductor to process (publish, transitions)."""
        self.cancel_timers(st, task, "timeout")
        st.change(task, state=state, state_info=info, finished_at=st.now)
        queue.append(task.id)

    def fail_workflow(self, st: ExecutionState, task: TaskExecution, info: str, queue: Queue) -> None:
        """The task cannot go on because of the workflow itself (an expression, an input, its
        action's name, a policy): it ends in ERROR and its workflow fails at once, without
        ``on-error`` or ``publish-on-error``, as Mistral 23 fails it."""
        task = st.flag(task, fails_workflow=True)
        self.finish_task(st, task, S.ERROR, info, queue)

    # == timers and resuming =============================================================

    def timer_fired(
        self, st: ExecutionState, task: TaskExecution, kind: str, payload: dict[str, Any], queue: Queue
    ) -> None:
        """A timer of the task fell due: time out, retry, or end a delay."""
        runtime = task.runtime_context.set(deferred_timer=None)
        if kind == "timeout" and task.state in (S.RUNNING, S.PAUSED):
            self._time_out(st, task, payload.get("timeout"), queue)
        elif kind in ("retry", "wait-before") and task.state is S.DELAYED:
            task = st.change(task, state=S.RUNNING, state_info=None, runtime_context=runtime)
            try:
                self._run(st, task, self._x.policies(st, task), queue)
            except (PolicyError, ExpressionError) as exc:
                self.fail_workflow(st, task, f"Invalid policy of task '{task.name}': {exc.detail}", queue)
        elif kind == "wait-after" and task.state is S.DELAYED:
            saved = runtime.wait_after or WaitAfter(S.SUCCESS)
            task = st.change(task, runtime_context=runtime.set(wait_after=None))
            self.finish_task(st, task, saved.state, saved.info, queue)

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
                if not action_ex.is_sync and action_ex.state in (S.RUNNING, S.PAUSED):
                    st.commands.append(CancelAction.of(action_ex, TIMEOUT))
        task = st.flag(task, with_items=None, timed_out=True)
        self.attempt_done(st, task, S.ERROR, None, message, queue)

    def resume_task(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        """The workflow was resumed: start, continue or process what the pause held back."""
        if task.state is S.IDLE and task.runtime_context.pause_before_done:
            task = st.change(task, state=S.RUNNING, state_info=None)
            self.start_task(st, task, queue)
        elif task.state is S.PAUSED and task.type == "WORKFLOW":
            st.change(task, state=S.RUNNING)  # its sub-workflow is resumed with it
        elif task.runtime_context.deferred_timer:
            self.timer_fired(st, task, task.runtime_context.deferred_timer, {}, queue)
        elif task.state not in ACTIVE and not task.processed:
            queue.append(task.id)
