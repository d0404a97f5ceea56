"""The call of an action by a task: its name and input, its target, and the command that runs it.

:class:`ActionCalls` evaluates what a task's ``action:`` (or ``workflow:``) line asks for: the
name, the input (inline parameters merged in, ``env.__actions`` defaults under it) and the
``target`` of the executors it goes to. :func:`command_for` turns an action execution into the
command an executor runs (also when recovery runs one again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mistral_core.engine.evaluation import TaskExpressions
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import ActionError, ExpressionError
from mistral_core.lang.expressions import has_expression
from mistral_core.lang.spec import TaskSpec
from mistral_core.model import ActionExecution, RunAction, TaskExecution
from mistral_core.model.commands import target_error


class ActionCalls:
    """Evaluates the action (or sub-workflow) calls of tasks.

    Args:
        expressions: evaluates the tasks' expressions.
    """

    def __init__(self, expressions: TaskExpressions) -> None:
        self._x = expressions

    def call(
        self,
        st: ExecutionState,
        task: TaskExecution,
        task_spec: TaskSpec,
        extra: dict[str, Any],
        name_text: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """The action (or, with ``name_text``, sub-workflow) name and input of one call by a task.

        ``extra`` holds the item variables of a with-items call.

        Raises:
            ExpressionError: an expression of the name or input failed.
        """
        name = name_text or task_spec.action or "std.noop"
        if has_expression(name):
            name = str(self._x.eval(st, task, name, extra=extra))
        raw_input = task_spec.input
        if isinstance(raw_input, str):
            evaluated = self._x.eval(st, task, raw_input, extra=extra)
            if not isinstance(evaluated, dict):
                raise ExpressionError(f"'input' must evaluate to an object, got {type(evaluated).__name__}")
            given = {**self._x.eval(st, task, dict(task_spec.inline_input), extra=extra), **evaluated}
        else:  # inline parameters are merged into the input (they win), as in Mistral 23
            merged = _merged(raw_input, task_spec.inline_input)
            given = self._x.eval(st, task, merged, extra=extra) if merged else {}
        if name_text is None:
            given = {**_action_defaults(st, name), **given}
        return name, given

    def target(self, st: ExecutionState, task: TaskExecution) -> str | None:
        """The executors the task's actions go to (its ``target``, evaluated); None: any.

        Raises:
            ActionError: the target is not a name executors can listen on.
            ExpressionError: its expression failed.
        """
        raw = st.spec.tasks[task.name].target
        if raw is None:
            return None
        value = self._x.eval(st, task, raw)
        if value is None or value == "":
            return None
        text = value if isinstance(value, str) else str(value)
        problem = target_error(text)
        if problem is not None:
            raise ActionError(f"Task {task.name}: {problem}")
        return text


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
        target=target if target is not None else _str_or_none(action.params.get("target")),
    )


def _merged(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """``right`` merged into ``left``: objects under the same key merged too, else right's wins."""
    merged = dict(left)
    for key, value in right.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, dict):
            merged[key] = _merged(below, value)
        else:
            merged[key] = value
    return merged


def _action_defaults(st: ExecutionState, name: str) -> dict[str, Any]:
    """``env.__actions.<action>``: default input of an action in this execution (the call's wins)."""
    env = st.wf_ex.params.get("env")
    defaults = env.get("__actions") if isinstance(env, dict) else None
    if not isinstance(defaults, dict):
        return {}
    found = defaults.get(name, defaults.get(f"std.{name}") if "." not in name else None)
    return dict(found) if isinstance(found, dict) else {}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
