"""The conductor: workflow logic with no I/O.

It reads and changes an :class:`ExecutionState` (spec + records) in answer to an
event and leaves behind the records to write, the timers to set, the commands
to send and the intents for other executions. It never reads a store: what it
was not given it asks for (:class:`~mistral_core.errors.NeedsData`). Finished
tasks are processed from a work queue, never by recursion, so long chains of
tasks that end at once do not deepen the stack.

A task's life: created (RUNNING, or WAITING for a ``join``) → policies before
(``pause-before``: IDLE and the workflow PAUSED; ``wait-before``: DELAYED until a
timer) → run (one action, one action per item of ``with-items``, or a
sub-workflow) with a ``timeout`` timer → each attempt's end → ``fail-on``,
``retry`` (DELAYED until a timer, then a new attempt), ``wait-after`` (DELAYED) →
finished → publish → transitions (or, in reverse workflows, the tasks that
required it) → the workflow ends when no task is active.

The parts: :class:`~.tasks.TaskRunner` (a task up to its end), :class:`~.items.ItemRunner`
(with-items), :class:`~.joins.Joins`, :mod:`~.reverse`, :mod:`~.publishing`,
:class:`~.ending.WorkflowEnd`; this module holds the events and the transitions.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from mistral_core.engine import heartbeats, result_schema, reverse
from mistral_core.engine.calls import command_for
from mistral_core.engine.catalog import Catalog
from mistral_core.engine.ending import WorkflowEnd, to_children
from mistral_core.engine.evaluation import TaskExpressions
from mistral_core.engine.intents import PauseChild, ResumeChild
from mistral_core.engine.joins import Joins
from mistral_core.engine.limits import Limits
from mistral_core.engine.publishing import drop_result, publish
from mistral_core.engine.runtime import error_text
from mistral_core.engine.state import ACTIVE, ExecutionState
from mistral_core.engine.tasks import Queue, TaskRunner
from mistral_core.errors import ExpressionError
from mistral_core.lang.expressions import Evaluator
from mistral_core.lang.spec import Clause, TaskSpec, Transition
from mistral_core.model import ActionExecution, CancelAction, State, TaskExecution, TaskFlags, Timer, Trigger
from mistral_core.model.commands import HEARTBEAT_TIMEOUT

__all__ = ["Conductor"]
S = State


class Conductor:
    """Decides what happens next in a workflow execution.

    Args:
        evaluator: evaluates expressions.
        catalog: says whether an action exists and its input is valid (Python and ad-hoc actions).
        limits: what a workflow may make the engine store or start.
    """

    def __init__(self, evaluator: Evaluator, catalog: Catalog, limits: Limits | None = None) -> None:
        self._x = TaskExpressions(evaluator)
        self._catalog = catalog
        self._limits = limits or Limits()
        self._tasks = TaskRunner(self._x, catalog, self._limits)
        self._joins = Joins(self._tasks)
        self._end = WorkflowEnd(self._x, self._limits)

    command_for = staticmethod(command_for)
    reads_actions_of = staticmethod(TaskRunner.reads_actions_of)

    # == events ==========================================================================

    def start(self, st: ExecutionState) -> None:
        """Start a new workflow execution (already RUNNING in ``st``): run its start tasks."""
        queue: Queue = deque()
        names = reverse.ready(st) if st.spec.type == "reverse" else st.spec.start_tasks
        for name in names:
            self._spawn(st, name, {}, None, queue)
        self._settle(st, queue)

    def result_mismatch(self, st: ExecutionState, action_ex: ActionExecution, result: Any) -> str | None:
        """Why a SUCCESS result of ``action_ex`` does not count (its task's or class's output-schema)."""
        task = st.tasks.get(action_ex.task_execution_id or "")
        task_spec = st.spec.tasks.get(task.name) if task is not None else None
        if task_spec is not None and task_spec.output_schema:
            return result_schema.mismatch(task_spec.output_schema, result, f"task '{task_spec.name}'")
        return result_schema.mismatch(
            self._catalog.output_schema(action_ex), result, f"action {action_ex.name}"
        )

    def on_action_completed(
        self,
        st: ExecutionState,
        action_ex: ActionExecution,
        state: State,
        output: Any,
        info: str | None = None,
        checked: bool = False,
    ) -> ActionExecution:
        """Store an action's result and move its task and workflow on; return the stored action.

        ``info`` becomes the action execution's ``state_info`` (why the engine decided the result).
        A SUCCESS result that does not match its output-schema fails the action, unless ``checked``
        says the caller checked it already.
        """
        if state is S.SUCCESS and not checked:
            wrong = self.result_mismatch(st, action_ex, output)
            if wrong is not None:
                state, output, info = S.ERROR, wrong, wrong
        result = None if state is S.CANCELLED else output
        transforms = action_ex.params.get("transforms")
        if transforms and state is S.SUCCESS:
            try:
                result = self._catalog.transform(transforms, result)
            except ExpressionError as exc:
                state, result = S.ERROR, f"Action {action_ex.name}: its output transformation failed: {exc}"
        too_big = self._limits.oversized(result, f"The result of action {action_ex.name}")
        if too_big is not None:
            state, result = S.ERROR, too_big
        fields: dict[str, Any] = {"state_info": info} if info else {}
        action_ex = st.change(action_ex, state=state, output={"result": result}, accepted=True, **fields)
        st.notify("mistral_action_execution_completed", "action_ex", action_ex)
        task = st.tasks.get(action_ex.task_execution_id or "")
        if task is not None and task.runtime_context.heartbeat_timeout and not action_ex.is_sync:
            st.cancel_timers(action_ex.id, "heartbeat")
        if task is None or task.state not in (S.RUNNING, S.PAUSED):
            return action_ex
        if task.state is S.PAUSED and not any(a.state is S.PAUSED for a in st.actions_of(task.id)):
            task = st.change(task, state=S.RUNNING)  # its paused action has its result (the workflow
            # stays as it is: paused, it moves on when resumed), as a task of a paused workflow does
        queue: Queue = deque()
        if task.runtime_context.with_items is not None:
            self._tasks.items.action_done(st, task, action_ex, queue)
        else:
            info = (
                None
                if state is S.SUCCESS
                else ("Action was cancelled" if state is S.CANCELLED else error_text(result))
            )
            self._tasks.attempt_done(st, task, state, result, info, queue)
        self._settle(st, queue)
        return action_ex

    def on_timer(self, st: ExecutionState, timer: Timer) -> None:
        """A durable timer of this execution fell due."""
        if timer.kind == "heartbeat":
            self._heartbeat_lost(st, timer)
            return
        task = st.tasks.get(timer.target_id)
        if task is None or st.wf_ex.state not in (S.RUNNING, S.PAUSED):
            return
        if st.wf_ex.state is S.PAUSED and timer.kind != "timeout":
            st.flag(task, deferred_timer=timer.kind)
            return
        queue: Queue = deque()
        self._tasks.timer_fired(st, task, timer.kind, timer.payload, queue)
        self._settle(st, queue)

    def on_heartbeat(
        self,
        st: ExecutionState,
        action_ex: ActionExecution,
        progress: dict[str, Any] | None,
        extend_by: float | None,
    ) -> ActionExecution:
        """A RUNNING async action's third party said it is alive (see :mod:`.heartbeats`)."""
        return heartbeats.beat(
            st, action_ex, st.tasks[action_ex.task_execution_id or ""], progress, extend_by
        )

    def _heartbeat_lost(self, st: ExecutionState, timer: Timer) -> None:
        """An async action's ``heartbeat-timeout`` window ended without a heartbeat: it fails."""
        action_ex = st.actions.get(timer.target_id)
        if action_ex is None or action_ex.state is not S.RUNNING:
            return
        task = st.tasks.get(action_ex.task_execution_id or "")
        if task is not None and task.runtime_context.with_items is None:
            st.flag(task, timed_out=True)
        st.commands.append(CancelAction.of(action_ex, HEARTBEAT_TIMEOUT))
        message = heartbeats.lost_message(timer)
        self.on_action_completed(st, action_ex, S.ERROR, message, message)

    def pause(self, st: ExecutionState, info: str | None = None) -> None:
        """Pause: no new task starts; running actions may still finish (their results are kept).
        Sub-workflows are paused, and so are the tasks that run them."""
        if st.wf_ex.state is not S.RUNNING:
            return
        st.change(st.wf_ex, state=S.PAUSED, state_info=info)
        for task in list(st.tasks.values()):
            if task.state is S.RUNNING and task.runtime_context.child_execution_id:
                st.change(task, state=S.PAUSED)
        to_children(st, PauseChild, info)

    def action_state_set(
        self, st: ExecutionState, action_ex: ActionExecution, state: State
    ) -> ActionExecution:
        """An async action execution was set PAUSED or RUNNING (``PUT /v2/action_executions/<id>``).

        As in Mistral 23: PAUSED pauses its task and its workflow; RUNNING resumes the task (unless
        another of its actions is still paused) and the workflow (unless a task is still paused).
        """
        action_ex = st.change(action_ex, state=state)
        task = st.tasks.get(action_ex.task_execution_id or "")
        if task is None:
            return action_ex
        if state is S.PAUSED:
            if task.state is S.RUNNING:
                st.change(task, state=S.PAUSED)
            self.pause(st)
        elif task.state is S.PAUSED and not any(a.state is S.PAUSED for a in st.actions_of(task.id)):
            st.change(task, state=S.RUNNING)
            if st.wf_ex.state is S.PAUSED and not any(t.state is S.PAUSED for t in st.tasks.values()):
                self.resume(st)
        return action_ex

    def resume(self, st: ExecutionState) -> None:
        """Resume a paused execution: start what the pause held back, process what finished meanwhile."""
        if st.wf_ex.state is not S.PAUSED:
            return
        st.change(st.wf_ex, state=S.RUNNING, state_info=None)
        queue: Queue = deque()
        for task in list(st.tasks.values()):
            self._tasks.resume_task(st, task, queue)
        to_children(st, ResumeChild, None)
        self._settle(st, queue)

    def cancel(self, st: ExecutionState, info: str | None = None) -> None:
        """Cancel: every pending task and action execution becomes CANCELLED, async actions are told."""
        if st.wf_ex.state in (S.RUNNING, S.PAUSED, S.IDLE):
            self._end.end(st, S.CANCELLED, info or "Cancelled by the user")

    def finish(self, st: ExecutionState, state: State, info: str | None = None) -> None:
        """End the execution now with SUCCESS or ERROR (``PUT /v2/executions/<id>``)."""
        if st.wf_ex.state in (S.RUNNING, S.PAUSED, S.IDLE):
            self._end.end(st, state, info)

    def rerun_task(self, st: ExecutionState, task: TaskExecution, reset: bool = True) -> None:
        """Run a failed (or cancelled) task again and continue the workflow from it."""
        for action_ex in st.actions_of(task.id):
            if action_ex.accepted and (reset or action_ex.state is not S.SUCCESS):
                st.change(action_ex, accepted=False)
        flags = task.runtime_context
        runtime = TaskFlags(triggered_by=flags.triggered_by, with_items=None if reset else flags.with_items)
        _reopen_workflow(st)  # first, as Mistral does: WORKFLOW_RERUN is told before TASK_RERUN
        task = st.change(
            task,
            reopen=True,
            state=S.RUNNING,
            state_info=None,
            processed=False,
            runtime_context=runtime,
            finished_at=None,
        )
        queue: Queue = deque()
        if runtime.with_items is not None:
            self._tasks.items.rerun_failed(st, task, queue)
        else:
            self._tasks.start_task(st, task, queue)
        self._settle(st, queue)

    def skip_task(self, st: ExecutionState, task: TaskExecution) -> None:
        """Skip a failed task: it becomes SKIPPED and the workflow goes on through ``on-skip``."""
        st.change(
            task,
            reopen=True,
            state=S.SKIPPED,
            processed=False,
            runtime_context=task.runtime_context.set(error_handled=False),
        )
        _reopen_workflow(st)
        self._settle(st, deque([task.id]))

    # == sub-workflows ===================================================================

    def on_child_completed(
        self,
        st: ExecutionState,
        task_id: str,
        state: State,
        output: Any,
        info: str | None,
        index: int | None = None,
    ) -> None:
        """A sub-workflow of task ``task_id`` ended: its output is the task's result (or one item's)."""
        task = st.tasks.get(task_id)
        if task is None or task.state not in (S.RUNNING, S.PAUSED):
            return
        queue: Queue = deque()
        if index is not None and task.runtime_context.with_items is not None:
            self._tasks.items.child_done(st, task, state, output, index, queue)
        else:
            self._tasks.attempt_done(st, task, state, output, None if state is S.SUCCESS else info, queue)
        self._settle(st, queue)

    def child_failed(self, st: ExecutionState, task_id: str, message: str) -> None:
        """A sub-workflow could not even start (unknown workflow, bad input): the task fails."""
        queue: Queue = deque()
        self._tasks.fail_workflow(st, st.tasks[task_id], message, queue)
        self._settle(st, queue)

    def reopen_task(self, st: ExecutionState, task_id: str) -> None:
        """A sub-workflow of this task is running again (re-run inside it): wait for it again."""
        task = st.tasks.get(task_id)
        if task is None or task.state in (S.RUNNING, S.PAUSED):
            return
        st.change(
            task,
            reopen=True,
            state=S.RUNNING,
            state_info=None,
            processed=False,
            finished_at=None,
            runtime_context=task.runtime_context.set(error_handled=False),
        )
        _reopen_workflow(st)

    # == after a task finished ===========================================================

    def _spawn(
        self,
        st: ExecutionState,
        name: str,
        in_context: dict[str, Any],
        trigger: Trigger | None,
        queue: Queue,
    ) -> None:
        task_spec = st.spec.tasks[name]
        if task_spec.join is not None and st.spec.type == "direct":
            self._joins.reach(st, task_spec, in_context, trigger, queue)
            return
        task = self._tasks.new_task(st, task_spec, S.RUNNING, in_context, (trigger,) if trigger else ())
        self._tasks.start_task(st, task, queue)

    def _settle(self, st: ExecutionState, queue: Queue) -> None:
        while True:
            while queue:
                task = st.tasks[queue.popleft()]
                if st.wf_ex.state is S.RUNNING and not task.processed and task.state not in ACTIVE:
                    self._after_task(st, task, queue)
            if not self._joins.fail_stuck(st, queue):
                break
        self._end.check(st)

    def _after_task(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        task_spec = st.spec.tasks[task.name]
        if not task.runtime_context.published and not task.runtime_context.fails_workflow:
            task = publish(self._x, st, task, task_spec, self._limits)
            if task_spec.keep_result is False:
                task = drop_result(st, task)
        task, fired = self._transitions_of(st, task, task_spec)
        flags = task.runtime_context
        if flags.fails_workflow:
            _processed(st, task, flags)
            self._end.end(st, S.ERROR, task.state_info)
            return
        if st.spec.type == "reverse":
            _processed(st, task, flags)
            if task.state is S.SUCCESS:
                reverse.start_ready(st, self._tasks, queue)
            return
        if any(key in ("on-error", "on-timeout") for _, key in fired):
            flags = flags.set(error_handled=True)
        start_at, flags = flags.resume_at, flags.set(resume_at=0)
        for index, (transition, key) in enumerate(fired[start_at:], start=start_at):
            if st.wf_ex.state is not S.RUNNING:
                break
            if transition.is_command and transition.target == "pause":
                self._pause_command(st, task, transition, flags, index)
                return
            self._follow(st, task, transition, key, queue)
        self._joins.not_reached(st, task, {t.target for t, _ in fired if not t.is_command}, queue)
        _processed(st, task, flags)

    def _transitions_of(
        self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec
    ) -> tuple[TaskExecution, list[tuple[Transition, str]]]:
        """The transitions a finished task of a direct workflow fires (none for a task that fails the
        workflow); a guard that cannot be evaluated makes it one that does, as in Mistral 23."""
        if task.runtime_context.fails_workflow or st.spec.type != "direct":
            return task, []
        try:
            return task, self._fired_transitions(st, task, task_spec)
        except ExpressionError as exc:
            info = f"Failed to evaluate the transitions of task '{task.name}': {exc.detail}"
            flags = task.runtime_context.set(fails_workflow=True)
            return st.change(task, amend=True, state=S.ERROR, state_info=info, runtime_context=flags), []

    def _pause_command(
        self, st: ExecutionState, task: TaskExecution, transition: Transition, flags: TaskFlags, index: int
    ) -> None:
        msg = self._command_params(st, task, transition).get("msg")
        st.change(task, runtime_context=flags.set(resume_at=index + 1, published=True))
        st.change(st.wf_ex, state=S.PAUSED, state_info=msg or f"Paused by task '{task.name}'")
        to_children(st, PauseChild, msg)

    def _fired_transitions(
        self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec
    ) -> list[tuple[Transition, str]]:
        fired = []
        for key, clause in _clauses_for(task, task_spec):
            for transition in clause.transitions:
                if self._guard_passes(st, task, transition):
                    fired.append((transition, key))
        return fired

    def _guard_passes(self, st: ExecutionState, task: TaskExecution, transition: Transition) -> bool:
        """Whether a transition's guard holds.

        Raises:
            ExpressionError: the guard could not be evaluated (the workflow fails, as in Mistral 23).
        """
        if transition.guard is None:
            return True
        return bool(self._x.eval(st, task, transition.guard, with_published=True))

    def _follow(
        self, st: ExecutionState, task: TaskExecution, transition: Transition, key: str, queue: Queue
    ) -> None:
        if not transition.is_command:
            context = {**task.in_context, **task.published}
            self._spawn(st, transition.target, context, Trigger(task.id, key), queue)
            return
        msg = self._command_params(st, task, transition).get("msg")
        if transition.target == "fail":
            self._end.end(st, S.ERROR, msg or f"Failed by 'fail' command of task '{task.name}'")
        elif transition.target == "succeed":
            self._end.end(st, S.SUCCESS, msg)

    def _command_params(
        self, st: ExecutionState, task: TaskExecution, transition: Transition
    ) -> dict[str, Any]:
        if not transition.params:
            return {}
        try:
            params = self._x.eval(st, task, dict(transition.params), with_published=True)
        except ExpressionError as exc:
            return {"msg": f"(message could not be evaluated: {exc.detail})"}
        return params if isinstance(params, dict) else {}


def _clauses_for(task: TaskExecution, task_spec: TaskSpec) -> list[tuple[str, Clause]]:
    if task.state is S.SUCCESS:
        return [("on-success", task_spec.on_success), ("on-complete", task_spec.on_complete)]
    if task.state is S.ERROR:
        timed_out = task.runtime_context.timed_out and task_spec.handles_timeouts
        errors = ("on-timeout", task_spec.on_timeout) if timed_out else ("on-error", task_spec.on_error)
        return [errors, ("on-complete", task_spec.on_complete)]
    if task.state is S.SKIPPED:
        skip = task_spec.on_skip if task_spec.on_skip.transitions else task_spec.on_success
        return [("on-skip", skip)]
    return []


def _processed(st: ExecutionState, task: TaskExecution, flags: TaskFlags) -> None:
    if flags.published:
        flags = flags.set(published=False)
    if flags == task.runtime_context:
        task = st.change(task, processed=True)
    else:
        task = st.change(task, processed=True, runtime_context=flags)
    st.notify("mistral_task_execution_completed", "task_ex", task)


def _reopen_workflow(st: ExecutionState) -> None:
    """A task of a finished execution runs again (re-run, skip): the execution is RUNNING again."""
    if st.wf_ex.state is not S.RUNNING:
        st.change(st.wf_ex, reopen=True, state=S.RUNNING, state_info=None, output={})
