"""The conductor: workflow logic with no I/O.

It reads and changes an :class:`ExecutionState` (spec + records) in answer to an
event and leaves behind the records to write and the commands to send. Finished
tasks are processed from a work queue, never by recursion, so a long chain of
tasks that fail or finish at once does not deepen the stack.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from mistral_core.engine.ports import ActionCatalog
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import ActionError, ExpressionError
from mistral_core.lang.expressions import Evaluator, has_expression
from mistral_core.lang.spec import Clause, TaskSpec, Transition
from mistral_core.model import ActionExecution, RunAction, State, TaskExecution

S = State


def error_text(data: Any) -> str:
    """How an error result reads in ``state_info``: strings as they are, anything else as JSON."""
    if isinstance(data, str):
        return data
    if data is None:
        return "Unknown error"
    return json.dumps(data, sort_keys=True, default=str)


class Runtime:
    """What ``task()``, ``execution()``, ``env()`` and ``global()`` see during one evaluation."""

    def __init__(self, st: ExecutionState, current: TaskExecution | None) -> None:
        self._st = st
        self._current = current

    def task(self, name: str | None) -> dict[str, Any] | None:
        """The current task, or the newest task execution called ``name``."""
        task = self._current if name is None else self._st.latest_task(name)
        return None if task is None else task_view(task)

    def tasks(self, state: str | None) -> list[dict[str, Any]]:
        """Every task execution of this workflow execution (optionally in one state)."""
        return [task_view(t) for t in self._st.tasks.values() if state is None or t.state == state]

    def execution(self) -> dict[str, Any]:
        """The workflow execution."""
        wf_ex = self._st.wf_ex
        return {"id": wf_ex.id, "name": wf_ex.workflow_name, "input": wf_ex.input, "params": wf_ex.params,
                "state": wf_ex.state.value, "created_at": str(wf_ex.created_at),
                "root_execution_id": wf_ex.root_execution_id, "spec": dict(self._st.spec.body)}

    def env(self) -> dict[str, Any]:
        """The execution's environment (``params.env``)."""
        env = self._st.wf_ex.params.get("env")
        return env if isinstance(env, dict) else {}

    def global_var(self, name: str) -> Any:
        """A variable of the workflow-wide context."""
        return self._st.wf_ex.context.get(name)


def task_view(task: TaskExecution) -> dict[str, Any]:
    """The dict ``task()`` returns."""
    return {"id": task.id, "name": task.name, "state": task.state.value, "state_info": task.state_info,
            "result": task.result, "published": task.published, "type": task.type,
            "workflow_execution_id": task.workflow_execution_id,
            "created_at": str(task.created_at), "updated_at": str(task.updated_at)}


class Conductor:
    """Decides what happens next in a workflow execution.

    Args:
        evaluator: evaluates expressions.
        catalog: says whether an action exists and its input is valid.
    """

    def __init__(self, evaluator: Evaluator, catalog: ActionCatalog) -> None:
        self._evaluator = evaluator
        self._catalog = catalog

    # -- events -----------------------------------------------------------------------
    def start(self, st: ExecutionState) -> None:
        """Start a new workflow execution (already RUNNING in ``st``): run its start tasks."""
        queue: deque[str] = deque()
        for name in st.spec.start_tasks:
            self._spawn(st, name, {}, None, queue)
        self._settle(st, queue)

    def on_action_completed(self, st: ExecutionState, action_ex: ActionExecution, state: State,
                            output: Any) -> ActionExecution:
        """Store an action's result and move its task and workflow on.

        Returns:
            The action execution as stored.
        """
        result = None if state is S.CANCELLED else output
        action_ex = st.change(action_ex, state=state, output={"result": result}, accepted=True)
        st.notify("mistral_action_execution_completed", "action_ex", action_ex)
        task = st.tasks.get(action_ex.task_execution_id or "")
        if task is None or task.state not in (S.RUNNING, S.PAUSED):
            return action_ex
        info = None if state is S.SUCCESS else ("Action was cancelled" if state is S.CANCELLED
                                                 else error_text(output))
        st.change(task, state=state, state_info=info, result=result, finished_at=st.now)
        self._settle(st, deque([task.id]))
        return action_ex

    # -- running tasks ------------------------------------------------------------------
    def _spawn(self, st: ExecutionState, name: str, in_context: dict[str, Any],
               trigger: dict[str, str] | None, queue: deque[str]) -> None:
        task_spec = st.spec.tasks[name]
        wf_ex = st.wf_ex
        task = TaskExecution(
            id=st.new_id(), workflow_execution_id=wf_ex.id, name=name, state=S.RUNNING,
            workflow_name=wf_ex.workflow_name, workflow_id=wf_ex.workflow_id,
            workflow_namespace=wf_ex.workflow_namespace, type=task_spec.type, in_context=in_context,
            runtime_context={"triggered_by": [trigger]} if trigger else {}, tags=task_spec.tags,
            project_id=wf_ex.project_id, created_at=st.now, updated_at=st.now, started_at=st.now,
        )
        st.insert(task)
        self._run_action(st, task, task_spec, queue)

    def _run_action(self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec,
                    queue: deque[str]) -> None:
        try:
            name, action_input = self._action_call(st, task, task_spec)
            prepared = self._catalog.prepare(name, action_input)
        except (ExpressionError, ActionError) as exc:
            self._fail_task(st, task, f"Failed to run task '{task.name}': {exc}", queue)
            return
        action = ActionExecution(
            id=st.new_id(), name=prepared.name, state=S.RUNNING, task_execution_id=task.id,
            workflow_execution_id=task.workflow_execution_id, workflow_name=task.workflow_name,
            workflow_namespace=task.workflow_namespace, task_name=task.name, is_sync=prepared.is_sync,
            input=action_input, project_id=task.project_id, created_at=st.now, updated_at=st.now,
        )
        st.insert(action)
        st.commands.append(RunAction(
            action_execution_id=action.id, action_name=prepared.name, input=action_input,
            is_sync=prepared.is_sync, workflow_name=task.workflow_name,
            workflow_execution_id=task.workflow_execution_id, task_execution_id=task.id,
            safe_rerun=bool(self._eval(st, task, task_spec.safe_rerun)), target=task_spec.target,
        ))

    def _action_call(self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec) -> tuple[str, dict[str, Any]]:
        name = task_spec.action or "std.noop"
        if has_expression(name):
            name = str(self._eval(st, task, name))
        raw_input = task_spec.input
        if isinstance(raw_input, str):
            evaluated = self._eval(st, task, raw_input)
            if not isinstance(evaluated, dict):
                raise ExpressionError(f"'input' must evaluate to an object, got {type(evaluated).__name__}")
            return name, {**self._eval(st, task, dict(task_spec.inline_input)), **evaluated}
        merged = {**task_spec.inline_input, **raw_input}
        return name, self._eval(st, task, merged) if merged else {}

    def _fail_task(self, st: ExecutionState, task: TaskExecution, message: str, queue: deque[str]) -> None:
        st.change(task, state=S.ERROR, state_info=message, finished_at=st.now)
        queue.append(task.id)

    # -- after a task finished ----------------------------------------------------------
    def _settle(self, st: ExecutionState, queue: deque[str]) -> None:
        while queue:
            task = st.tasks[queue.popleft()]
            if st.wf_ex.state is S.RUNNING:
                self._after_task(st, task, queue)
        self._check_completion(st)

    def _after_task(self, st: ExecutionState, task: TaskExecution, queue: deque[str]) -> None:
        task_spec = st.spec.tasks[task.name]
        task = self._publish(st, task, task_spec)
        clauses = self._clauses_for(task, task_spec)
        fired: list[tuple[Transition, str]] = []
        handled = False
        for key, clause in clauses:
            for transition in clause.transitions:
                if self._guard_passes(st, task, transition):
                    fired.append((transition, key))
                    handled = handled or key == "on-error"
        runtime = dict(task.runtime_context)
        if handled:
            runtime["error_handled"] = True
        task = st.change(task, processed=True, runtime_context=runtime)
        if task_spec.keep_result is False:
            task = st.change(task, result=None)
        st.notify("mistral_task_execution_completed", "task_ex", task)
        self._fire(st, task, fired, queue)

    def _publish(self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec) -> TaskExecution:
        spec_value = task_spec.publish if task.state is S.SUCCESS else (
            task_spec.publish_on_error if task.state is S.ERROR else None)
        clause_publish = self._clause_publish(task, task_spec)
        if not spec_value and not clause_publish:
            return task
        try:
            published = dict(self._eval(st, task, spec_value) or {}) if spec_value else {}
            published.update(self._eval(st, task, dict(clause_publish)) if clause_publish else {})
        except ExpressionError as exc:
            return st.change(task, state=S.ERROR, state_info=f"Failed to publish variables of task "
                             f"'{task.name}': {exc}")
        return st.change(task, published=published)

    @staticmethod
    def _clause_publish(task: TaskExecution, task_spec: TaskSpec) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        branch = {S.SUCCESS: task_spec.on_success, S.ERROR: task_spec.on_error}.get(task.state)
        for clause in (task_spec.on_complete, branch):
            if clause is not None:
                merged.update(clause.publish.get("branch", {}) if "branch" in clause.publish else clause.publish)
        return merged

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

    def _fire(self, st: ExecutionState, task: TaskExecution, fired: list[tuple[Transition, str]],
              queue: deque[str]) -> None:
        context = {**task.in_context, **task.published}
        for transition, key in fired:
            if st.wf_ex.state is not S.RUNNING:
                return
            if transition.is_command:
                self._command(st, task, transition)
                continue
            self._spawn(st, transition.target, context, {"task_id": task.id, "event": key}, queue)

    def _command(self, st: ExecutionState, task: TaskExecution, transition: Transition) -> None:
        params = self._eval(st, task, dict(transition.params), with_published=True) if transition.params else {}
        msg = params.get("msg")
        if transition.target == "fail":
            self._end(st, S.ERROR, msg or f"Failed by 'fail' command of task '{task.name}'")
        elif transition.target == "succeed":
            self._end(st, S.SUCCESS, msg)
        elif transition.target == "pause":
            st.change(st.wf_ex, state=S.PAUSED, state_info=msg)

    # -- the workflow as a whole --------------------------------------------------------
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
        self._cancel_leftovers(st, info or state.value)
        data = {**st.wf_ex.context, **self._final_context(st)}
        if state is S.SUCCESS:
            output = self._workflow_output(st, st.spec.output, data)
        else:
            output = {"result": info}
            if st.spec.output_on_error:
                extra = self._workflow_output(st, st.spec.output_on_error, data)
                output.update(extra if isinstance(extra, dict) else {"output": extra})
        if isinstance(output, Exception):
            state, info, output = S.ERROR, str(output), {"result": str(output)}
        wf_ex = st.change(st.wf_ex, state=state, state_info=info, output=output)
        st.notify("mistral_workflow_execution_completed", "wf_ex", wf_ex)

    def _workflow_output(self, st: ExecutionState, spec_output: Any, data: dict[str, Any]) -> Any:
        if spec_output is None:
            return self._final_context(st)
        try:
            return self._evaluator.evaluate(spec_output, data, Runtime(st, None))
        except ExpressionError as exc:
            return ExpressionError(f"Failed to evaluate the workflow output: {exc}")

    @staticmethod
    def _final_context(st: ExecutionState) -> dict[str, Any]:
        triggering = {trigger["task_id"] for t in st.tasks.values()
                      for trigger in t.runtime_context.get("triggered_by", ())}
        context: dict[str, Any] = {}
        for task in st.tasks.values():
            if task.id not in triggering:
                context.update(task.in_context)
                context.update(task.published)
        return context

    @staticmethod
    def _cancel_leftovers(st: ExecutionState, reason: str) -> None:
        for task in list(st.active_tasks()):
            st.change(task, state=S.CANCELLED, state_info=f"Workflow ended: {reason}", finished_at=st.now)
            st.cancel_actions_of.append((task.id, f"Workflow ended: {reason}"))

    # -- expressions ----------------------------------------------------------------------
    def _eval(self, st: ExecutionState, task: TaskExecution, value: Any, with_published: bool = False) -> Any:
        if not _needs_evaluation(value):
            return value
        data = {**st.wf_ex.context, **task.in_context}
        if with_published:
            data.update(task.published)
        data["__execution"] = {"id": st.wf_ex.id, "input": st.wf_ex.input, "params": st.wf_ex.params}
        return self._evaluator.evaluate(value, data, Runtime(st, task))


def _needs_evaluation(value: Any) -> bool:
    if isinstance(value, str):
        return has_expression(value)
    return isinstance(value, dict | list) and bool(value)


def failure_message(failed: list[TaskExecution]) -> str:
    """Mistral's workflow ``state_info`` for unhandled task errors (without tracebacks)."""
    names = ", ".join(t.name for t in failed)
    lines = [f"Failure caused by error in tasks: {names}", ""]
    lines += [f"  {t.name} [task_ex_id={t.id}] -> {t.state_info}" for t in failed]
    return "\n".join(lines) + "\n"
