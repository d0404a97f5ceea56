"""The conductor: workflow logic with no I/O.

It reads and changes an :class:`ExecutionState` (spec + records) in answer to an
event and leaves behind the records to write, the timers to set and the commands
to send. Finished tasks are processed from a work queue, never by recursion, so
long chains of tasks that end at once do not deepen the stack.

A task's life: created (RUNNING, or WAITING for a ``join``) → policies before
(``pause-before``: IDLE and the workflow PAUSED; ``wait-before``: DELAYED until a
timer) → run (one action, one action per item of ``with-items``, or a
sub-workflow) with a ``timeout`` timer → each attempt's end → ``fail-on``,
``retry`` (DELAYED until a timer, then a new attempt), ``wait-after`` (DELAYED) →
finished → publish → transitions (or, in reverse workflows, the tasks that
required it) → the workflow ends when no task is active.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from mistral_core.engine import items as wi
from mistral_core.engine.catalog import Catalog
from mistral_core.engine.policies import Policies, PolicyError, evaluate_policies
from mistral_core.engine.runtime import GLOBALS_KEY, Runtime, error_text, failure_message
from mistral_core.engine.state import ACTIVE, ExecutionState
from mistral_core.errors import ActionError, ExpressionError
from mistral_core.lang.expressions import Evaluator, has_expression
from mistral_core.lang.spec import Clause, TaskSpec, Transition
from mistral_core.model import ActionExecution, CancelAction, RunAction, State, TaskExecution, Timer

S = State
Queue = deque[str]
RETRY_KEY = "retry_task_policy"
#: The policies that may leave a timer behind.
TIMED_POLICIES = frozenset({"timeout", "retry", "wait-before", "wait-after"})


class Conductor:
    """Decides what happens next in a workflow execution.

    Args:
        evaluator: evaluates expressions.
        catalog: says whether an action exists and its input is valid (Python and ad-hoc actions).
    """

    def __init__(self, evaluator: Evaluator, catalog: Catalog) -> None:
        self._evaluator = evaluator
        self._catalog = catalog

    # == events ==========================================================================
    def start(self, st: ExecutionState) -> None:
        """Start a new workflow execution (already RUNNING in ``st``): run its start tasks."""
        queue: Queue = deque()
        if st.spec.type == "reverse":
            for name in self._reverse_ready(st):
                self._spawn(st, name, {}, None, queue)
        else:
            for name in st.spec.start_tasks:
                self._spawn(st, name, {}, None, queue)
        self._settle(st, queue)

    def on_action_completed(
        self, st: ExecutionState, action_ex: ActionExecution, state: State, output: Any
    ) -> ActionExecution:
        """Store an action's result and move its task and workflow on; return the stored action."""
        result = None if state is S.CANCELLED else output
        transforms = action_ex.params.get("transforms")
        if transforms and state is S.SUCCESS:
            try:
                result = self._catalog.transform(transforms, result)
            except ExpressionError as exc:
                state, result = S.ERROR, f"Action {action_ex.name}: its output transformation failed: {exc}"
        action_ex = st.change(action_ex, state=state, output={"result": result}, accepted=True)
        st.notify("mistral_action_execution_completed", "action_ex", action_ex)
        task = st.tasks.get(action_ex.task_execution_id or "")
        if task is None or task.state not in (S.RUNNING, S.PAUSED):
            return action_ex
        queue: Queue = deque()
        if wi.KEY in task.runtime_context:
            self._item_done(st, task, action_ex, queue)
        else:
            info = (
                None
                if state is S.SUCCESS
                else ("Action was cancelled" if state is S.CANCELLED else error_text(result))
            )
            self._attempt_done(st, task, state, result, info, queue)
        self._settle(st, queue)
        return action_ex

    def on_timer(self, st: ExecutionState, timer: Timer) -> None:
        """A durable timer of this execution fell due."""
        task = st.tasks.get(timer.target_id)
        if task is None or st.wf_ex.state not in (S.RUNNING, S.PAUSED):
            return
        if st.wf_ex.state is S.PAUSED and timer.kind != "timeout":
            st.change(task, runtime_context={**task.runtime_context, "deferred_timer": timer.kind})
            return
        queue: Queue = deque()
        self._timer_fired(st, task, timer.kind, timer.payload, queue)
        self._settle(st, queue)

    def pause(self, st: ExecutionState, info: str | None = None) -> None:
        """Pause: no new task starts; running actions may still finish (their results are kept)."""
        if st.wf_ex.state is not S.RUNNING:
            return
        st.change(st.wf_ex, state=S.PAUSED, state_info=info)
        self._to_children(st, "pause", info)

    def resume(self, st: ExecutionState) -> None:
        """Resume a paused execution: start what the pause held back, process what finished meanwhile."""
        if st.wf_ex.state is not S.PAUSED:
            return
        st.change(st.wf_ex, state=S.RUNNING, state_info=None)
        queue: Queue = deque()
        for task in list(st.tasks.values()):
            self._resume_task(st, task, queue)
        self._to_children(st, "resume", None)
        self._settle(st, queue)

    def cancel(self, st: ExecutionState, info: str | None = None) -> None:
        """Cancel: every pending task and action execution becomes CANCELLED, async actions are told."""
        if st.wf_ex.state in (S.RUNNING, S.PAUSED, S.IDLE):
            self._end(st, S.CANCELLED, info or "Cancelled by the user")

    def finish(self, st: ExecutionState, state: State, info: str | None = None) -> None:
        """End the execution now with SUCCESS or ERROR (``PUT /v2/executions/<id>``)."""
        if st.wf_ex.state in (S.RUNNING, S.PAUSED, S.IDLE):
            self._end(st, state, info)

    def rerun_task(self, st: ExecutionState, task: TaskExecution, reset: bool = True) -> None:
        """Run a failed (or cancelled) task again and continue the workflow from it."""
        for action_ex in st.actions_of(task.id):
            if action_ex.accepted and (reset or action_ex.state is not S.SUCCESS):
                st.change(action_ex, accepted=False)
        runtime = {
            k: v
            for k, v in task.runtime_context.items()
            if k in ("triggered_by",) or (k == wi.KEY and not reset)
        }
        task = st.change(
            task, state=S.RUNNING, state_info=None, processed=False, runtime_context=runtime, finished_at=None
        )
        if st.wf_ex.state is not S.RUNNING:
            st.change(st.wf_ex, state=S.RUNNING, state_info=None, output={})
        queue: Queue = deque()
        if not reset and wi.KEY in runtime:
            self._rerun_failed_items(st, task, queue)
        else:
            self._start_task(st, task, queue)
        self._settle(st, queue)

    def skip_task(self, st: ExecutionState, task: TaskExecution) -> None:
        """Skip a failed task: it becomes SKIPPED and the workflow goes on through ``on-skip``."""
        st.change(
            task,
            state=S.SKIPPED,
            processed=False,
            runtime_context={k: v for k, v in task.runtime_context.items() if k != "error_handled"},
        )
        if st.wf_ex.state is not S.RUNNING:
            st.change(st.wf_ex, state=S.RUNNING, state_info=None, output={})
        self._settle(st, deque([task.id]))

    # == starting tasks ==================================================================
    def _spawn(
        self,
        st: ExecutionState,
        name: str,
        in_context: dict[str, Any],
        trigger: dict[str, str] | None,
        queue: Queue,
    ) -> None:
        task_spec = st.spec.tasks[name]
        if task_spec.join is not None and st.spec.type == "direct":
            self._join(st, task_spec, in_context, trigger, queue)
            return
        task = self._new_task(st, task_spec, S.RUNNING, in_context, [trigger] if trigger else [])
        self._start_task(st, task, queue)

    def _new_task(
        self,
        st: ExecutionState,
        task_spec: TaskSpec,
        state: State,
        in_context: dict[str, Any],
        triggers: list[dict[str, str]],
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
            runtime_context={"triggered_by": triggers} if triggers else {},
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
        runtime = task.runtime_context
        if policies.pause_before and not runtime.get("pause_before_done"):
            st.change(
                task,
                state=S.IDLE,
                state_info="Set by 'pause-before' policy",
                runtime_context={**runtime, "pause_before_done": True},
            )
            st.change(
                st.wf_ex,
                state=S.PAUSED,
                state_info=f"Paused before task '{task.name}' ('pause-before' policy)",
            )
            return
        if policies.wait_before > 0 and not runtime.get("wait_before_done"):
            st.change(task, state=S.DELAYED, runtime_context={**runtime, "wait_before_done": True})
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
            self._create_action(st, task, name, action_input, None, S.RUNNING)
        except (ExpressionError, ActionError) as exc:
            self._finish_task(st, task, S.ERROR, f"Failed to run task '{task.name}': {exc}", queue)

    def _create_action(
        self,
        st: ExecutionState,
        task: TaskExecution,
        name: str,
        action_input: dict[str, Any],
        index: int | None,
        state: State,
    ) -> ActionExecution:
        prepared = self._catalog.prepare(name, action_input, st.wf_ex.workflow_name)
        params: dict[str, Any] = {} if index is None else {"index": index}
        if prepared.safe_rerun or self._task_safe_rerun(st, task):
            params["safe_rerun"] = True
        if prepared.run_as is not None:
            params.update(run_as=prepared.run_as, run_input=prepared.run_input)
            if prepared.transforms:
                params["transforms"] = list(prepared.transforms)
        action = ActionExecution(
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
        st.insert(action)
        if state is S.RUNNING:
            st.commands.append(self._command_for(st, task, action))
        return action

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
        st.change(task, runtime_context={**task.runtime_context, "child_execution_id": child_id})
        st.intents.append(("start_child", task.id, child_id, name, wf_input))

    def on_child_completed(
        self, st: ExecutionState, task_id: str, state: State, output: Any, info: str | None
    ) -> None:
        """A sub-workflow of task ``task_id`` ended: its output is the task's result."""
        task = st.tasks.get(task_id)
        if task is None or task.state not in (S.RUNNING, S.PAUSED):
            return
        queue: Queue = deque()
        self._attempt_done(st, task, state, output, None if state is S.SUCCESS else info, queue)
        self._settle(st, queue)

    def child_failed(self, st: ExecutionState, task_id: str, message: str) -> None:
        """A sub-workflow could not even start (unknown workflow, bad input): the task fails."""
        queue: Queue = deque()
        self._finish_task(st, st.tasks[task_id], S.ERROR, message, queue)
        self._settle(st, queue)

    def reopen_task(self, st: ExecutionState, task_id: str) -> None:
        """A sub-workflow of this task is running again (re-run inside it): wait for it again."""
        task = st.tasks.get(task_id)
        if task is None or task.state in (S.RUNNING, S.PAUSED):
            return
        st.change(
            task,
            state=S.RUNNING,
            state_info=None,
            processed=False,
            finished_at=None,
            runtime_context={k: v for k, v in task.runtime_context.items() if k != "error_handled"},
        )
        if st.wf_ex.state is not S.RUNNING:
            st.change(st.wf_ex, state=S.RUNNING, state_info=None, output={})

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
            return name, {**self._eval(st, task, dict(task_spec.inline_input), extra=extra), **evaluated}
        merged = {**task_spec.inline_input, **raw_input}
        return name, self._eval(st, task, merged, extra=extra) if merged else {}

    # == with-items ======================================================================
    def _run_items(
        self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec, policies: Policies, queue: Queue
    ) -> None:
        try:
            variables = wi.collections_of(task_spec.with_items, lambda v: self._eval(st, task, v))
            calls = [self._action_call(st, task, task_spec, item) for item in variables]
        except ExpressionError as exc:
            self._finish_task(st, task, S.ERROR, f"Failed to run task '{task.name}': {exc}", queue)
            return
        counters = wi.new_counters(len(calls), policies.concurrency)
        task = st.change(task, runtime_context={**task.runtime_context, wi.KEY: counters})
        if not calls:
            self._attempt_done(st, task, S.SUCCESS, [], None, queue)
            return
        try:
            for index, (name, action_input) in enumerate(calls):
                state = S.RUNNING if index < counters["concurrency"] else S.IDLE
                self._create_action(st, task, name, action_input, index, state)
        except ActionError as exc:
            st.commands.clear()
            self._finish_task(st, task, S.ERROR, f"Failed to run task '{task.name}': {exc}", queue)
            return
        counters["started"] = counters["concurrency"]

    def _item_done(
        self, st: ExecutionState, task: TaskExecution, action_ex: ActionExecution, queue: Queue
    ) -> None:
        counters = dict(task.runtime_context[wi.KEY])
        counters["done"] += 1
        counters["failed"] += action_ex.state is S.ERROR
        counters["cancelled"] += action_ex.state is S.CANCELLED
        if counters["started"] < counters["count"] and self._start_next_item(st, task):
            counters["started"] += 1
        task = st.change(task, runtime_context={**task.runtime_context, wi.KEY: counters})
        if counters["done"] >= counters["count"]:
            results = wi.results_in_order(st.actions_of(task.id), counters["count"])
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
        counters = dict(task.runtime_context[wi.KEY])
        counters.update(done=counters["count"] - len(failed), failed=0, cancelled=0)
        st.change(task, runtime_context={**task.runtime_context, wi.KEY: counters})
        for action_ex in failed:
            try:
                self._create_action(
                    st, task, action_ex.name, action_ex.input, wi.item_index(action_ex), S.RUNNING
                )
            except ActionError as exc:
                self._finish_task(st, task, S.ERROR, f"Failed to run task '{task_spec.name}': {exc}", queue)
                return

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
                runtime_context={**task.runtime_context, "wait_after": {"state": state.value, "info": info}},
            )
            st.add_timer("wait-after", task.id, policies.wait_after)
            return
        self._finish_task(st, task, state, info, queue)

    def _should_retry(
        self, st: ExecutionState, task: TaskExecution, policies: Policies, state: State
    ) -> bool:
        retry = policies.retry
        if retry is None or task.runtime_context.get(RETRY_KEY, {}).get("retry_no", 0) >= retry.count:
            return False
        if state is S.ERROR:
            return retry.break_on is None or not self._truthy(st, task, retry.break_on)
        if state is S.SUCCESS:
            return retry.continue_on is not None and self._truthy(st, task, retry.continue_on)
        return False

    def _retry(self, st: ExecutionState, task: TaskExecution, policies: Policies, queue: Queue) -> None:
        assert policies.retry is not None
        number = task.runtime_context.get(RETRY_KEY, {}).get("retry_no", 0) + 1
        for action_ex in st.actions_of(task.id):
            if action_ex.accepted:
                st.change(action_ex, accepted=False)
        runtime = {k: v for k, v in task.runtime_context.items() if k != wi.KEY}
        runtime[RETRY_KEY] = {"retry_no": number}
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
        runtime = {k: v for k, v in task.runtime_context.items() if k != "deferred_timer"}
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
            saved = runtime.pop("wait_after", {"state": "SUCCESS", "info": None})
            task = st.change(task, runtime_context=runtime)
            self._finish_task(st, task, S(saved["state"]), saved["info"], queue)

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
        runtime = {k: v for k, v in task.runtime_context.items() if k != wi.KEY}
        task = st.change(task, runtime_context=runtime)
        self._attempt_done(st, task, S.ERROR, None, message, queue)

    def _tell_cancelled(self, st: ExecutionState, action_ex: ActionExecution) -> None:
        if not action_ex.is_sync and action_ex.state in (S.RUNNING, S.PAUSED):
            st.commands.append(
                CancelAction(
                    action_ex.id,
                    action_ex.name,
                    action_ex.input,
                    action_ex.workflow_execution_id,
                    action_ex.task_execution_id,
                )
            )

    def _resume_task(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        if task.state is S.IDLE and task.runtime_context.get("pause_before_done"):
            task = st.change(task, state=S.RUNNING, state_info=None)
            self._start_task(st, task, queue)
        elif task.runtime_context.get("deferred_timer"):
            self._timer_fired(st, task, task.runtime_context["deferred_timer"], {}, queue)
        elif task.state not in ACTIVE and not task.processed:
            queue.append(task.id)

    # == after a task finished ===========================================================
    def _settle(self, st: ExecutionState, queue: Queue) -> None:
        while True:
            while queue:
                task = st.tasks[queue.popleft()]
                if st.wf_ex.state is S.RUNNING and not task.processed and task.state not in ACTIVE:
                    self._after_task(st, task, queue)
            if not self._fail_stuck_joins(st, queue):
                break
        self._check_completion(st)

    def _after_task(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        task_spec = st.spec.tasks[task.name]
        runtime = dict(task.runtime_context)
        if not runtime.get("published"):
            task = self._publish(st, task, task_spec)
            runtime = dict(task.runtime_context)
        if st.spec.type == "reverse":
            self._task_processed(st, task, runtime, task_spec)
            if task.state is S.SUCCESS:
                self._reverse_next(st, queue)
            return
        fired = self._fired_transitions(st, task, task_spec)
        if any(key == "on-error" for _, key in fired):
            runtime["error_handled"] = True
        start_at = runtime.pop("resume_at", 0)
        for index, (transition, key) in enumerate(fired[start_at:], start=start_at):
            if st.wf_ex.state is not S.RUNNING:
                break
            if transition.is_command and transition.target == "pause":
                self._pause_command(st, task, transition, runtime, index)
                return
            self._follow(st, task, transition, key, queue)
        self._task_processed(st, task, runtime, task_spec)

    def _task_processed(
        self, st: ExecutionState, task: TaskExecution, runtime: dict[str, Any], task_spec: TaskSpec
    ) -> None:
        runtime.pop("published", None)
        fields: dict[str, Any] = {"processed": True, "runtime_context": runtime}
        if task_spec.keep_result is False:
            fields["result"] = None
        task = st.change(task, **fields)
        st.notify("mistral_task_execution_completed", "task_ex", task)

    def _pause_command(
        self,
        st: ExecutionState,
        task: TaskExecution,
        transition: Transition,
        runtime: dict[str, Any],
        index: int,
    ) -> None:
        msg = self._command_params(st, task, transition).get("msg")
        st.change(task, runtime_context={**runtime, "resume_at": index + 1, "published": True})
        st.change(st.wf_ex, state=S.PAUSED, state_info=msg or f"Paused by task '{task.name}'")
        self._to_children(st, "pause", msg)

    def _publish(self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec) -> TaskExecution:
        spec_value = {
            S.SUCCESS: task_spec.publish,
            S.ERROR: task_spec.publish_on_error,
            S.SKIPPED: task_spec.publish_on_skip,
        }.get(task.state)
        scoped = self._clause_publish(task, task_spec)
        runtime = {**task.runtime_context, "published": True}
        if not spec_value and not scoped:
            return st.change(task, runtime_context=runtime)
        try:
            published = dict(self._eval(st, task, spec_value) or {}) if spec_value else {}
            for scope, values in scoped.items():
                evaluated = self._eval(st, task, dict(values)) if values else {}
                if scope == "global":
                    globals_ = {**st.wf_ex.context.get(GLOBALS_KEY, {}), **evaluated}
                    st.change(st.wf_ex, context={**st.wf_ex.context, GLOBALS_KEY: globals_})
                else:
                    published.update(evaluated)
        except (ExpressionError, TypeError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, ExpressionError) else str(exc)
            return st.change(
                task,
                state=S.ERROR,
                runtime_context=runtime,
                state_info=f"Failed to publish variables of task '{task.name}': {detail}",
            )
        return st.change(task, published=published, runtime_context=runtime)

    @staticmethod
    def _clause_publish(task: TaskExecution, task_spec: TaskSpec) -> dict[str, dict[str, Any]]:
        """``publish`` of advanced clauses: branch (as ``publish``), global, atomic (as branch)."""
        merged: dict[str, dict[str, Any]] = {}
        branch = {
            S.SUCCESS: task_spec.on_success,
            S.ERROR: task_spec.on_error,
            S.SKIPPED: task_spec.on_skip,
        }.get(task.state)
        for clause in (task_spec.on_complete, branch):
            if clause is None or not clause.publish:
                continue
            publish = clause.publish
            scopes = publish if set(publish) <= {"branch", "global", "atomic"} else {"branch": publish}
            for scope, values in scopes.items():
                key = "global" if scope == "global" else "branch"
                merged.setdefault(key, {}).update(values or {})
        return merged

    def _fired_transitions(
        self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec
    ) -> list[tuple[Transition, str]]:
        fired = []
        for key, clause in self._clauses_for(task, task_spec):
            for transition in clause.transitions:
                if self._guard_passes(st, task, transition):
                    fired.append((transition, key))
        return fired

    @staticmethod
    def _clauses_for(task: TaskExecution, task_spec: TaskSpec) -> list[tuple[str, Clause]]:
        if task.state is S.SUCCESS:
            return [("on-success", task_spec.on_success), ("on-complete", task_spec.on_complete)]
        if task.state is S.ERROR:
            return [("on-error", task_spec.on_error), ("on-complete", task_spec.on_complete)]
        if task.state is S.SKIPPED:
            skip = task_spec.on_skip if task_spec.on_skip.transitions else task_spec.on_success
            return [("on-skip", skip)]
        return []

    def _guard_passes(self, st: ExecutionState, task: TaskExecution, transition: Transition) -> bool:
        if transition.guard is None:
            return True
        try:
            return bool(self._eval(st, task, transition.guard, with_published=True))
        except ExpressionError:
            return False

    def _follow(
        self, st: ExecutionState, task: TaskExecution, transition: Transition, key: str, queue: Queue
    ) -> None:
        if not transition.is_command:
            context = {**task.in_context, **task.published}
            self._spawn(st, transition.target, context, {"task_id": task.id, "event": key}, queue)
            return
        msg = self._command_params(st, task, transition).get("msg")
        if transition.target == "fail":
            self._end(st, S.ERROR, msg or f"Failed by 'fail' command of task '{task.name}'")
        elif transition.target == "succeed":
            self._end(st, S.SUCCESS, msg)

    def _command_params(
        self, st: ExecutionState, task: TaskExecution, transition: Transition
    ) -> dict[str, Any]:
        if not transition.params:
            return {}
        try:
            params = self._eval(st, task, dict(transition.params), with_published=True)
        except ExpressionError as exc:
            return {"msg": f"(message could not be evaluated: {exc.detail})"}
        return params if isinstance(params, dict) else {}

    # == join ============================================================================
    def _join(
        self,
        st: ExecutionState,
        task_spec: TaskSpec,
        in_context: dict[str, Any],
        trigger: dict[str, str] | None,
        queue: Queue,
    ) -> None:
        source = st.tasks[trigger["task_id"]].name if trigger else ""
        task = self._join_instance(st, task_spec.name, source)
        if task is None:
            task = self._new_task(st, task_spec, S.WAITING, {}, [])
        triggers = [*task.runtime_context.get("triggered_by", []), *([trigger] if trigger else [])]
        merged = {**task.in_context, **in_context}
        task = st.change(
            task, in_context=merged, runtime_context={**task.runtime_context, "triggered_by": triggers}
        )
        if task.state is not S.WAITING:
            return
        sources = {st.tasks[t["task_id"]].name for t in triggers if t["task_id"] in st.tasks}
        inbound = st.spec.inbound.get(task_spec.name, ())
        needed = (
            len(inbound)
            if task_spec.join == "all"
            else 1
            if task_spec.join == "one"
            else int(task_spec.join or 0)
        )
        if len(sources) >= needed:
            task = st.change(task, state=S.RUNNING, state_info=None, started_at=st.now)
            self._start_task(st, task, queue)
        else:
            missing = sorted(set(inbound) - sources)
            st.change(task, state_info=f"Blocked by tasks: {missing}")

    @staticmethod
    def _join_instance(st: ExecutionState, name: str, source: str) -> TaskExecution | None:
        """The join task execution a trigger from ``source`` belongs to (None: a new one)."""
        latest = st.latest_task(name)
        if latest is None:
            return None
        seen = {
            st.tasks[t["task_id"]].name
            for t in latest.runtime_context.get("triggered_by", [])
            if t["task_id"] in st.tasks
        }
        if source in seen:
            return None  # a loop came round again: a new instance
        return latest if latest.state is S.WAITING or len(seen) < len(st.spec.inbound.get(name, ())) else None

    @staticmethod
    def _fail_stuck_joins(st: ExecutionState, queue: Queue) -> bool:
        """Joins that can never be satisfied (nothing else is active) fail; True if any did."""
        active = list(st.active_tasks())
        if not active or any(t.state is not S.WAITING for t in active):
            return False
        for task in active:
            st.change(
                task,
                state=S.ERROR,
                finished_at=st.now,
                state_info=f"Join of task '{task.name}' can never be satisfied: "
                f"{task.state_info or 'its inbound tasks did not all lead to it'}",
            )
            queue.append(task.id)
        return True

    # == reverse workflows ===============================================================
    @staticmethod
    def reverse_closure(st: ExecutionState) -> set[str]:
        """The tasks the target task (``params.task_name``) needs, itself included."""
        target = str(st.wf_ex.params.get("task_name"))
        needed: set[str] = set()
        todo = [target] if target in st.spec.tasks else []
        while todo:
            name = todo.pop()
            if name not in needed:
                needed.add(name)
                todo.extend(st.spec.tasks[name].requires)
        return needed

    def _reverse_ready(self, st: ExecutionState) -> list[str]:
        done = {t.name for t in st.tasks.values() if t.state is S.SUCCESS}
        started = {t.name for t in st.tasks.values()}
        return [
            name
            for name in st.spec.tasks
            if name in self.reverse_closure(st)
            and name not in started
            and all(r in done for r in st.spec.tasks[name].requires)
        ]

    def _reverse_next(self, st: ExecutionState, queue: Queue) -> None:
        latest = {t.name: t for t in st.tasks.values()}
        for name in self._reverse_ready(st):
            context: dict[str, Any] = {}
            for required in st.spec.tasks[name].requires:
                context.update({**latest[required].in_context, **latest[required].published})
            triggers = [{"task_id": latest[r].id, "event": "requires"} for r in st.spec.tasks[name].requires]
            task = self._new_task(st, st.spec.tasks[name], S.RUNNING, context, triggers)
            self._start_task(st, task, queue)

    # == the workflow as a whole =========================================================
    def _check_completion(self, st: ExecutionState) -> None:
        if st.wf_ex.state is not S.RUNNING or any(True for _ in st.active_tasks()):
            return
        tasks = list(st.tasks.values())
        cancelled = [t.name for t in tasks if t.state is S.CANCELLED]
        failed = [t for t in tasks if t.state is S.ERROR and not t.runtime_context.get("error_handled")]
        if cancelled:
            self._end(st, S.CANCELLED, f"Cancelled tasks: {', '.join(cancelled)}")
        elif failed:
            self._end(st, S.ERROR, failure_message(failed))
        else:
            self._end(st, S.SUCCESS, None)

    def _end(self, st: ExecutionState, state: State, info: str | None) -> None:
        self._to_children(st, "cancel", info)
        self._cancel_leftovers(st, info or state.value)
        data = self._final_data(st)
        output: Any
        if state is S.SUCCESS:
            output = self._workflow_output(st, st.spec.output, data)
            if isinstance(output, ExpressionError):
                state, info, output = S.ERROR, str(output), {"result": str(output)}
        else:
            output = {"result": info}
            if st.spec.output_on_error:
                extra = self._workflow_output(st, st.spec.output_on_error, data)
                if not isinstance(extra, ExpressionError):
                    output.update(extra if isinstance(extra, dict) else {"output": extra})
        wf_ex = st.change(st.wf_ex, state=state, state_info=info, output=output)
        st.notify("mistral_workflow_execution_completed", "wf_ex", wf_ex)
        if wf_ex.task_execution_id:
            st.intents.append(("completed", wf_ex.task_execution_id, state, output, info))

    def _final_data(self, st: ExecutionState) -> dict[str, Any]:
        context = self._final_context(st)
        return {**st.wf_ex.context, **context, "__execution": self._execution_view(st)}

    def _workflow_output(self, st: ExecutionState, spec_output: Any, data: dict[str, Any]) -> Any:
        if spec_output is None:
            return self._final_context(st)
        try:
            return self._evaluator.evaluate(spec_output, data, Runtime(st, None))
        except ExpressionError as exc:
            return ExpressionError(f"Failed to evaluate the workflow output: {exc}")

    @staticmethod
    def _final_context(st: ExecutionState) -> dict[str, Any]:
        triggering = {
            trigger["task_id"]
            for t in st.tasks.values()
            for trigger in t.runtime_context.get("triggered_by", ())
        }
        context: dict[str, Any] = {}
        for task in st.tasks.values():
            if task.id not in triggering:
                context.update(task.in_context)
                context.update(task.published)
        return context

    def _cancel_leftovers(self, st: ExecutionState, reason: str) -> None:
        for task in list(st.active_tasks()):
            st.change(task, state=S.CANCELLED, state_info=f"Workflow ended: {reason}", finished_at=st.now)
            self._cancel_timers(st, task, None)
            st.cancel_actions_of.append((task.id, f"Workflow ended: {reason}"))

    @staticmethod
    def _to_children(st: ExecutionState, what: str, info: str | None) -> None:
        for task in st.tasks.values():
            child = task.runtime_context.get("child_execution_id")
            if child and (task.state in ACTIVE or what == "resume"):
                st.intents.append((what, child, info))

    # == expressions =====================================================================
    def _policies(self, st: ExecutionState, task: TaskExecution) -> Policies:
        raw = st.spec.tasks[task.name].policies
        return evaluate_policies(raw, lambda v: self._eval(st, task, v)) if raw else Policies()

    def _truthy(self, st: ExecutionState, task: TaskExecution, value: Any) -> bool:
        return bool(self._eval(st, task, value, with_published=True))

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
