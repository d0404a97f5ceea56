"""The end of a workflow execution: when it ends, in which state, with which output.

When no task is active the workflow ends: CANCELLED if a task was cancelled,
ERROR if an error was not handled (``Failure caused by error in tasks: …``, no
tracebacks; the output is ``result``, the message, with ``output-on-error`` or else the final
context), else SUCCESS with ``output`` evaluated over the final context (the
merged context of the leaf tasks; with no ``output`` spec, that context itself).
An engine command (``fail``, ``succeed``) or a user ends it at once: what is still
active is cancelled, sub-workflows too.
"""

from __future__ import annotations

from typing import Any

from mistral_core.engine.evaluation import TaskExpressions, execution_view
from mistral_core.engine.intents import CancelChild, ChildEnded, PauseChild, ResumeChild
from mistral_core.engine.limits import Limits
from mistral_core.engine.runtime import failure_message
from mistral_core.engine.state import ACTIVE, ExecutionState
from mistral_core.engine.tasks import TaskRunner
from mistral_core.errors import ExpressionError
from mistral_core.model import State
from mistral_core.model.commands import CANCELLED, WORKFLOW_ENDED

S = State


class WorkflowEnd:
    """Ends workflow executions.

    Args:
        expressions: evaluates the workflow's ``output`` and ``output-on-error``.
        limits: bounds the size of the output.
    """

    def __init__(self, expressions: TaskExpressions, limits: Limits) -> None:
        self._x = expressions
        self._limits = limits

    def check(self, st: ExecutionState) -> None:
        """End the execution if no task is active any more."""
        if st.wf_ex.state is not S.RUNNING or any(True for _ in st.active_tasks()):
            return
        tasks = list(st.tasks.values())
        cancelled = [
            t.name for t in tasks if t.state is S.CANCELLED and not t.runtime_context.ended_with_workflow
        ]
        failed = [t for t in tasks if t.state is S.ERROR and not t.runtime_context.error_handled]
        if cancelled:
            self.end(st, S.CANCELLED, f"Cancelled tasks: {', '.join(cancelled)}")
        elif failed:
            self.end(st, S.ERROR, failure_message(failed))
        else:
            self.end(st, S.SUCCESS, None)

    def end(self, st: ExecutionState, state: State, info: str | None) -> None:
        """End the execution now in ``state``: cancel what is left, compute the output, tell a parent."""
        to_children(st, CancelChild, info)
        _cancel_leftovers(st, info or state.value, CANCELLED if state is S.CANCELLED else WORKFLOW_ENDED)
        data = {**st.wf_ex.context, **final_context(st), "__execution": execution_view(st)}
        output: Any
        if state is S.SUCCESS:
            output = self._output(st, st.spec.output, data)
            if isinstance(output, ExpressionError):
                state, info, output = S.ERROR, str(output), {"result": str(output)}
            elif (too_big := self._limits.oversized(output, "The workflow's output")) is not None:
                state, info, output = S.ERROR, too_big, {"result": too_big}
        else:
            output = {"result": info}
            if state is S.ERROR:
                output.update(self._error_output(st, data))
        wf_ex = st.change(st.wf_ex, state=state, state_info=info, output=output)
        st.notify("mistral_workflow_execution_completed", "wf_ex", wf_ex)
        if wf_ex.task_execution_id:
            index = wf_ex.params.get("index")
            st.intents.append(ChildEnded(wf_ex.task_execution_id, state, output, info, index))

    def _error_output(self, st: ExecutionState, data: dict[str, Any]) -> dict[str, Any]:
        """What a failed execution's output holds beside ``result``: ``output-on-error``, or, when
        there is none (or it is empty), the final context, as Mistral 23 gives it."""
        extra = self._output(st, st.spec.output_on_error, data) if st.spec.output_on_error else None
        if isinstance(extra, ExpressionError):
            return {}
        if not extra:
            return final_context(st)
        return extra if isinstance(extra, dict) else {"output": extra}

    def _output(self, st: ExecutionState, spec_output: Any, data: dict[str, Any]) -> Any:
        if spec_output is None:
            return final_context(st)
        try:
            return self._x.for_workflow(st, spec_output, data)
        except ExpressionError as exc:
            return ExpressionError(f"Failed to evaluate the workflow output: {exc}")


def final_context(st: ExecutionState) -> dict[str, Any]:
    """The merged in-context and published variables of the leaf tasks (those that led nowhere)."""
    triggering = {trigger.task_id for t in st.tasks.values() for trigger in t.runtime_context.triggered_by}
    context: dict[str, Any] = {}
    for task in st.tasks.values():
        if task.id not in triggering:
            context.update(task.in_context)
            context.update(task.published)
    return context


def to_children(
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


def _cancel_leftovers(st: ExecutionState, reason: str, notice: str) -> None:
    for task in list(st.active_tasks()):
        st.change(
            task,
            state=S.CANCELLED,
            state_info=f"Workflow ended: {reason}",
            finished_at=st.now,
            processed=True,
            runtime_context=task.runtime_context.set(ended_with_workflow=True),
        )
        TaskRunner.cancel_timers(st, task, None)
        st.cancel_actions_of.append((task.id, f"Workflow ended: {reason}", notice))
