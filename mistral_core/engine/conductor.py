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

from mistral_core.engine.intents import CancelChild, ChildEnded, PauseChild, ResumeChild
from mistral_core.engine.runtime import GLOBALS_KEY, Runtime, error_text, failure_message
from mistral_core.engine.state import ACTIVE, ExecutionState
from mistral_core.engine.tasks import Queue, S, TaskRunner
from mistral_core.errors import ExpressionError
from mistral_core.lang.spec import Clause, TaskSpec, Transition
from mistral_core.model import ActionExecution, State, TaskExecution, TaskFlags, Timer, Trigger

__all__ = ["Conductor"]


class Conductor(TaskRunner):
    """Decides what happens next in a workflow execution.

    Args:
        evaluator: evaluates expressions.
        catalog: says whether an action exists and its input is valid (Python and ad-hoc actions).
    """

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
        self,
        st: ExecutionState,
        action_ex: ActionExecution,
        state: State,
        output: Any,
        info: str | None = None,
    ) -> ActionExecution:
        """Store an action's result and move its task and workflow on; return the stored action.

        ``info`` becomes the action execution's ``state_info`` (why the engine decided the result).
        """
        result = None if state is S.CANCELLED else output
        transforms = action_ex.params.get("transforms")
        if transforms and state is S.SUCCESS:
            try:
                result = self._catalog.transform(transforms, result)
            except ExpressionError as exc:
                state, result = S.ERROR, f"Action {action_ex.name}: its output transformation failed: {exc}"
        fields: dict[str, Any] = {"state_info": info} if info else {}
        action_ex = st.change(action_ex, state=state, output={"result": result}, accepted=True, **fields)
        st.notify("mistral_action_execution_completed", "action_ex", action_ex)
        task = st.tasks.get(action_ex.task_execution_id or "")
        if task is None or task.state not in (S.RUNNING, S.PAUSED):
            return action_ex
        queue: Queue = deque()
        if task.runtime_context.with_items is not None:
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
            st.flag(task, deferred_timer=timer.kind)
            return
        queue: Queue = deque()
        self._timer_fired(st, task, timer.kind, timer.payload, queue)
        self._settle(st, queue)

    def pause(self, st: ExecutionState, info: str | None = None) -> None:
        """Pause: no new task starts; running actions may still finish (their results are kept)."""
        if st.wf_ex.state is not S.RUNNING:
            return
        st.change(st.wf_ex, state=S.PAUSED, state_info=info)
        self._to_children(st, PauseChild, info)

    def resume(self, st: ExecutionState) -> None:
        """Resume a paused execution: start what the pause held back, process what finished meanwhile."""
        if st.wf_ex.state is not S.PAUSED:
            return
        st.change(st.wf_ex, state=S.RUNNING, state_info=None)
        queue: Queue = deque()
        for task in list(st.tasks.values()):
            self._resume_task(st, task, queue)
        self._to_children(st, ResumeChild, None)
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
        flags = task.runtime_context
        runtime = TaskFlags(triggered_by=flags.triggered_by, with_items=None if reset else flags.with_items)
        task = st.change(
            task,
            reopen=True,
            state=S.RUNNING,
            state_info=None,
            processed=False,
            runtime_context=runtime,
            finished_at=None,
        )
        self._reopen_workflow(st)
        queue: Queue = deque()
        if runtime.with_items is not None:
            self._rerun_failed_items(st, task, queue)
        else:
            self._start_task(st, task, queue)
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
        self._reopen_workflow(st)
        self._settle(st, deque([task.id]))

    @staticmethod
    def _reopen_workflow(st: ExecutionState) -> None:
        """A task of a finished execution runs again (re-run, skip): the execution is RUNNING again."""
        if st.wf_ex.state is not S.RUNNING:
            st.change(st.wf_ex, reopen=True, state=S.RUNNING, state_info=None, output={})

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
            self.child_item_done(st, task, state, output, index, queue)
        else:
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
            reopen=True,
            state=S.RUNNING,
            state_info=None,
            processed=False,
            finished_at=None,
            runtime_context=task.runtime_context.set(error_handled=False),
        )
        self._reopen_workflow(st)

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
            self._join(st, task_spec, in_context, trigger, queue)
            return
        task = self._new_task(st, task_spec, S.RUNNING, in_context, (trigger,) if trigger else ())
        self._start_task(st, task, queue)

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
        if not task.runtime_context.published:
            task = self._publish(st, task, task_spec)
            if task_spec.keep_result is False:
                task = self._drop_result(st, task)
        flags = task.runtime_context
        if st.spec.type == "reverse":
            self._task_processed(st, task, flags)
            if task.state is S.SUCCESS:
                self._reverse_next(st, queue)
            return
        fired = self._fired_transitions(st, task, task_spec)
        if any(key == "on-error" for _, key in fired):
            flags = flags.set(error_handled=True)
        start_at, flags = flags.resume_at, flags.set(resume_at=0)
        for index, (transition, key) in enumerate(fired[start_at:], start=start_at):
            if st.wf_ex.state is not S.RUNNING:
                break
            if transition.is_command and transition.target == "pause":
                self._pause_command(st, task, transition, flags, index)
                return
            self._follow(st, task, transition, key, queue)
        self._joins_not_reached(st, task, {t.target for t, _ in fired if not t.is_command}, queue)
        self._task_processed(st, task, flags)

    @staticmethod
    def _task_processed(st: ExecutionState, task: TaskExecution, flags: TaskFlags) -> None:
        task = st.change(task, processed=True, runtime_context=flags.set(published=False))
        st.notify("mistral_task_execution_completed", "task_ex", task)

    @staticmethod
    def _drop_result(st: ExecutionState, task: TaskExecution) -> TaskExecution:
        """``keep-result: false``: once published, the result is gone (task and action executions)."""
        for action_ex in st.actions_of(task.id):
            if action_ex.output is not None:
                st.change(action_ex, output={"result": None})
        return st.change(task, result=None)

    def _pause_command(
        self,
        st: ExecutionState,
        task: TaskExecution,
        transition: Transition,
        flags: TaskFlags,
        index: int,
    ) -> None:
        msg = self._command_params(st, task, transition).get("msg")
        st.change(task, runtime_context=flags.set(resume_at=index + 1, published=True))
        st.change(st.wf_ex, state=S.PAUSED, state_info=msg or f"Paused by task '{task.name}'")
        self._to_children(st, PauseChild, msg)

    def _publish(self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec) -> TaskExecution:
        spec_value = {
            S.SUCCESS: task_spec.publish,
            S.ERROR: task_spec.publish_on_error,
            S.SKIPPED: task_spec.publish_on_skip,
        }.get(task.state)
        scoped = self._clause_publish(task, task_spec)
        runtime = task.runtime_context.set(published=True)
        if not spec_value and not scoped:
            return st.change(task, runtime_context=runtime)
        try:
            published = dict(self._eval(st, task, spec_value) or {}) if spec_value else {}
            for scope, values in scoped.items():
                evaluated = self._eval(st, task, dict(values)) if values else {}
                if scope == "global":
                    globals_ = {**st.wf_ex.context.get(GLOBALS_KEY, {}), **evaluated}
                    st.change(st.wf_ex, context={**st.wf_ex.context, **evaluated, GLOBALS_KEY: globals_})
                else:
                    published.update(evaluated)
        except (ExpressionError, TypeError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, ExpressionError) else str(exc)
            return st.change(
                task,
                amend=True,
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
                if scope == "atomic":
                    continue  # accepted by Mistral 23's schema, but it publishes nothing: neither do we
                merged.setdefault(scope, {}).update(values or {})
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
            self._spawn(st, transition.target, context, Trigger(task.id, key), queue)
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
        trigger: Trigger | None,
        queue: Queue,
    ) -> None:
        source = st.tasks[trigger.task_id].name if trigger else ""
        task = self._join_instance(st, task_spec.name, source)
        if task is None:
            task = self._new_task(st, task_spec, S.WAITING, {}, ())
        triggers = (*task.runtime_context.triggered_by, *((trigger,) if trigger else ()))
        merged = {**task.in_context, **in_context}
        task = st.change(
            task, in_context=merged, runtime_context=task.runtime_context.set(triggered_by=triggers)
        )
        if task.state is not S.WAITING:
            return
        sources = {st.tasks[t.task_id].name for t in triggers if t.task_id in st.tasks}
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

    def _joins_not_reached(
        self, st: ExecutionState, task: TaskExecution, reached: set[str], queue: Queue
    ) -> None:
        """A finished task that did not lead to a join it feeds may make that join impossible: fail it now."""
        for name in st.spec.feeds_joins.get(task.name, ()):
            if name in reached or st.wf_ex.state is not S.RUNNING:
                continue
            join = self._join_instance(st, name, task.name)
            if join is None:
                join = self._new_task(st, st.spec.tasks[name], S.WAITING, {}, ())
            missed = (*join.runtime_context.not_reached_by, task.name)
            join = st.flag(join, not_reached_by=missed)
            if join.state is not S.WAITING:
                continue
            inbound = st.spec.inbound.get(name, ())
            spec_join = st.spec.tasks[name].join
            needed = len(inbound) if spec_join == "all" else 1 if spec_join == "one" else int(spec_join or 0)
            if len(inbound) - len(set(missed)) < needed:
                st.change(
                    join,
                    state=S.ERROR,
                    finished_at=st.now,
                    state_info=f"Failed by tasks: {sorted(set(missed))} (they finished without leading "
                    "to this join, so it can never be satisfied)",
                )
                queue.append(join.id)

    @staticmethod
    def _join_instance(st: ExecutionState, name: str, source: str) -> TaskExecution | None:
        """The join task execution a trigger from ``source`` belongs to (None: a new one)."""
        latest = st.latest_task(name)
        if latest is None:
            return None
        triggers = latest.runtime_context.triggered_by
        seen = {st.tasks[t.task_id].name for t in triggers if t.task_id in st.tasks}
        if source in seen:
            return None  # a loop came round again: a new instance
        return latest if latest.state is S.WAITING or len(seen) < len(st.spec.inbound.get(name, ())) else None

    @staticmethod
    def _fail_stuck_joins(st: ExecutionState, queue: Queue) -> bool:
        """Joins that can never be satisfied (nothing else is active) fail; True if any did.

        Not while the execution is paused, nor while a finished task still waits to be
        processed: either may yet lead to the join.
        """
        if st.wf_ex.state is not S.RUNNING:
            return False
        if any(not t.processed and t.state not in ACTIVE for t in st.tasks.values()):
            return False
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
            triggers = tuple(Trigger(latest[r].id, "requires") for r in st.spec.tasks[name].requires)
            task = self._new_task(st, st.spec.tasks[name], S.RUNNING, context, triggers)
            self._start_task(st, task, queue)

    # == the workflow as a whole =========================================================

    def _check_completion(self, st: ExecutionState) -> None:
        if st.wf_ex.state is not S.RUNNING or any(True for _ in st.active_tasks()):
            return
        tasks = list(st.tasks.values())
        cancelled = [
            t.name for t in tasks if t.state is S.CANCELLED and not t.runtime_context.ended_with_workflow
        ]
        failed = [t for t in tasks if t.state is S.ERROR and not t.runtime_context.error_handled]
        if cancelled:
            self._end(st, S.CANCELLED, f"Cancelled tasks: {', '.join(cancelled)}")
        elif failed:
            self._end(st, S.ERROR, failure_message(failed))
        else:
            self._end(st, S.SUCCESS, None)

    def _end(self, st: ExecutionState, state: State, info: str | None) -> None:
        self._to_children(st, CancelChild, info)
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
            index = wf_ex.params.get("index")
            st.intents.append(ChildEnded(wf_ex.task_execution_id, state, output, info, index))

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
            trigger.task_id for t in st.tasks.values() for trigger in t.runtime_context.triggered_by
        }
        context: dict[str, Any] = {}
        for task in st.tasks.values():
            if task.id not in triggering:
                context.update(task.in_context)
                context.update(task.published)
        return context

    def _cancel_leftovers(self, st: ExecutionState, reason: str) -> None:
        for task in list(st.active_tasks()):
            st.change(
                task,
                state=S.CANCELLED,
                state_info=f"Workflow ended: {reason}",
                finished_at=st.now,
                processed=True,
                runtime_context=task.runtime_context.set(ended_with_workflow=True),
            )
            self._cancel_timers(st, task, None)
            st.cancel_actions_of.append((task.id, f"Workflow ended: {reason}"))

    @staticmethod
    def _to_children(
        st: ExecutionState, what: type[PauseChild | ResumeChild | CancelChild], info: str | None
    ) -> None:
        """Pass a pause, resume or cancel down to the sub-workflows of this execution's tasks."""
        for task in st.tasks.values():
            child = task.runtime_context.child_execution_id
            if not child:
                continue
            if what is ResumeChild:
                st.intents.append(ResumeChild(child))
            elif task.state in ACTIVE:
                st.intents.append(PauseChild(child, info) if what is PauseChild else CancelChild(child, info))
