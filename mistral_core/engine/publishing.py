"""Publishing: what a finished task adds to the context of the tasks after it (and to globals).

``publish`` (on SUCCESS), ``publish-on-error`` and ``publish-on-skip``, plus the
``publish`` of advanced clauses: ``branch`` (as ``publish``), ``global`` (the
workflow's context, readable with ``$`` and ``global()``) and ``atomic``
(accepted and publishing nothing, as in Mistral 23). A publish that fails turns
the task to ERROR with a message naming the task, and fails the workflow (as Mistral 23 does).
"""

from __future__ import annotations

from typing import Any

from mistral_core.engine.evaluation import TaskExpressions
from mistral_core.engine.limits import Limits
from mistral_core.engine.runtime import GLOBALS_KEY
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import ExpressionError
from mistral_core.lang.spec import TaskSpec
from mistral_core.model import State, TaskExecution

S = State


def publish(
    x: TaskExpressions,
    st: ExecutionState,
    task: TaskExecution,
    task_spec: TaskSpec,
    limits: Limits,
    state: State | None = None,
) -> TaskExecution:
    """Publish what a finished task publishes (or, with ``state``, what an attempt that ended in that
    state publishes: ``continue-on`` publishes after every attempt, as Mistral 23 does); return the
    task (in ERROR if publishing failed)."""
    state = state or task.state
    spec_value = {
        S.SUCCESS: task_spec.publish,
        S.ERROR: task_spec.publish_on_error,
        S.SKIPPED: task_spec.publish_on_skip,
    }.get(state)
    scoped = _clause_publish(task, task_spec, state)
    if not spec_value and not scoped:
        return task
    try:
        published = dict(x.eval(st, task, spec_value) or {}) if spec_value else {}
        for scope, values in scoped.items():
            evaluated = x.eval(st, task, dict(values)) if values else {}
            _check_size(limits, evaluated)
            if scope == "global":
                globals_ = {**st.wf_ex.context.get(GLOBALS_KEY, {}), **evaluated}
                st.change(st.wf_ex, context={**st.wf_ex.context, **evaluated, GLOBALS_KEY: globals_})
            else:
                published.update(evaluated)
        _check_size(limits, published)
    except (ExpressionError, TypeError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, ExpressionError) else str(exc)
        return st.change(
            task,
            amend=True,
            state=S.ERROR,
            state_info=f"Failed to publish variables of task '{task.name}': {detail}",
            runtime_context=task.runtime_context.set(fails_workflow=True),
        )
    return st.change(task, published=published)


def _check_size(limits: Limits, value: Any) -> None:
    too_big = limits.oversized(value, "What the task publishes")
    if too_big is not None:
        raise ValueError(too_big)


def drop_result(st: ExecutionState, task: TaskExecution) -> TaskExecution:
    """``keep-result: false``: once published, the result is gone (task and action executions)."""
    for action_ex in st.actions_of(task.id):
        if action_ex.output is not None:
            st.change(action_ex, output={"result": None})
    return st.change(task, result=None)


def _clause_publish(task: TaskExecution, task_spec: TaskSpec, state: State) -> dict[str, dict[str, Any]]:
    """``publish`` of advanced clauses, by scope; ``on-complete``'s wins over the branch's (Mistral)."""
    merged: dict[str, dict[str, Any]] = {}
    timed_out = task.runtime_context.timed_out and task_spec.handles_timeouts
    branch = {
        S.SUCCESS: task_spec.on_success,
        S.ERROR: task_spec.on_timeout if timed_out else task_spec.on_error,
        S.SKIPPED: task_spec.on_skip,
    }.get(state)
    for clause in (branch, task_spec.on_complete):
        if clause is None or not clause.publish:
            continue
        values_by_scope = clause.publish
        scopes = (
            values_by_scope
            if set(values_by_scope) <= {"branch", "global", "atomic"}
            else {"branch": values_by_scope}
        )
        for scope, values in scopes.items():
            if scope == "atomic":
                continue  # accepted by Mistral 23's schema, but it publishes nothing: neither do we
            merged.setdefault(scope, {}).update(values or {})
    return merged
