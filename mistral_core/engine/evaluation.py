"""What a task's expressions see, and the evaluation of its policies: shared by the conductor's parts."""

from __future__ import annotations

from typing import Any

from mistral_core.engine.policies import Policies, evaluate_policies
from mistral_core.engine.runtime import Runtime
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import ExpressionError
from mistral_core.lang.expressions import Evaluator, has_expression
from mistral_core.model import TaskExecution


class TaskExpressions:
    """Evaluates expressions for a task (``$`` is the workflow context, then the task's in-context).

    Args:
        evaluator: evaluates expressions (one per process).
    """

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator

    def eval(
        self,
        st: ExecutionState,
        task: TaskExecution,
        value: Any,
        with_published: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> Any:
        """``value`` with its expressions evaluated for ``task`` (and what it published, if asked).

        Raises:
            ExpressionError: an expression failed.
        """
        if not _needs_evaluation(value):
            return value
        data = {**st.wf_ex.context, **task.in_context}
        if with_published:
            data.update(task.published)
        if extra:
            data.update(extra)
        data["__execution"] = execution_view(st)
        return self.evaluator.evaluate(value, data, Runtime(st, task))

    def truthy(self, st: ExecutionState, task: TaskExecution, value: Any) -> bool:
        """Whether a condition (``fail-on``, ``break-on``...) holds, with what the task published."""
        return bool(self.eval(st, task, value, with_published=True))

    def data(self, st: ExecutionState, task: TaskExecution) -> dict[str, Any]:
        """What ``$`` is for a task's expressions: workflow context, then the task's in-context."""
        return {**st.wf_ex.context, **task.in_context, "__execution": execution_view(st)}

    def policies(self, st: ExecutionState, task: TaskExecution) -> Policies:
        """The task's policies, evaluated.

        Raises:
            PolicyError, ExpressionError: a policy is invalid.
        """
        raw = st.spec.tasks[task.name].policies
        return evaluate_policies(raw, lambda v: self.eval(st, task, v)) if raw else Policies()

    def safe_rerun(self, st: ExecutionState, task: TaskExecution) -> bool:
        """Whether the task says ``safe-rerun`` (a failing expression says no)."""
        try:
            return bool(self.eval(st, task, st.spec.tasks[task.name].safe_rerun))
        except ExpressionError:
            return False

    def for_workflow(self, st: ExecutionState, value: Any, data: dict[str, Any]) -> Any:
        """``value`` evaluated over ``data`` for the workflow as a whole (its output)."""
        return self.evaluator.evaluate(value, data, Runtime(st, None))


def execution_view(st: ExecutionState) -> dict[str, Any]:
    """What expressions see as ``$.__execution``: its id, as in Mistral 23 (``execution()`` has more)."""
    return {"id": st.wf_ex.id}


def _needs_evaluation(value: Any) -> bool:
    if isinstance(value, str):
        return has_expression(value)
    return isinstance(value, dict | list) and bool(value)
