"""What expressions see of an execution: ``task()``, ``tasks()``, ``execution()``, ``env()``, ``global()``."""

from __future__ import annotations

import json
from typing import Any

from mistral_core.engine.state import ExecutionState
from mistral_core.errors import NeedsData
from mistral_core.model import TaskExecution

#: Where variables published with the ``global`` scope live in a workflow execution's context.
GLOBALS_KEY = "__global"


def error_text(data: Any) -> str:
    """How an error result reads in ``state_info``: strings as they are, anything else as JSON."""
    if isinstance(data, str):
        return data
    if data is None:
        return "Unknown error"
    return json.dumps(data, sort_keys=True, default=str)


def task_view(task: TaskExecution) -> dict[str, Any]:
    """The dict ``task()`` returns."""
    return {
        "id": task.id,
        "name": task.name,
        "state": task.state.value,
        "state_info": task.state_info,
        "result": task.result,
        "published": task.published,
        "type": task.type,
        "workflow_execution_id": task.workflow_execution_id,
        "created_at": str(task.created_at),
        "updated_at": str(task.updated_at),
    }


class Runtime:
    """The expression runtime of one evaluation inside one execution."""

    def __init__(self, st: ExecutionState, current: TaskExecution | None) -> None:
        self._st = st
        self._current = current

    def task(self, name: str | None) -> dict[str, Any] | None:
        """The current task, or the newest task execution called ``name``."""
        task = self._current if name is None else self._st.latest_task(name)
        return None if task is None else task_view(task)

    def tasks(
        self, workflow_execution_id: str | None, recursive: bool, state: str | None, flat: bool
    ) -> list[dict[str, Any]]:
        """Task executions of this (or another) workflow execution, with its sub-workflows' if
        ``recursive``, only those in ``state``; always one flat list (``flat`` asks for nothing more).

        Raises:
            NeedsData: the tasks or sub-workflows of an execution were not loaded.
        """
        root = workflow_execution_id or self._st.wf_ex.id
        found: list[TaskExecution] = []
        todo = [root]
        while todo:
            tasks = self._tasks_of(todo.pop(0), root)
            found.extend(tasks)
            if recursive:
                todo.extend(c for t in tasks if t.type == "WORKFLOW" for c in self._children_of(t.id, root))
        return [task_view(t) for t in found if state is None or t.state == state]

    def _tasks_of(self, wf_ex_id: str, root: str) -> list[TaskExecution]:
        if wf_ex_id == self._st.wf_ex.id:
            return list(self._st.tasks.values())
        tasks = self._st.related_tasks.get(wf_ex_id)
        if tasks is None:
            raise NeedsData(executions=frozenset({root}))
        return tasks

    def _children_of(self, task_ex_id: str, root: str) -> list[str]:
        children = self._st.children.get(task_ex_id)
        if children is None:
            raise NeedsData(executions=frozenset({root}))
        return children

    def execution(self) -> dict[str, Any]:
        """The workflow execution."""
        wf_ex = self._st.wf_ex
        return {
            "id": wf_ex.id,
            "name": wf_ex.workflow_name,
            "input": wf_ex.input,
            "params": wf_ex.params,
            "state": wf_ex.state.value,
            "created_at": str(wf_ex.created_at),
            "updated_at": str(wf_ex.updated_at),
            "root_execution_id": wf_ex.root_execution_id,
            "task_execution_id": wf_ex.task_execution_id,
            "spec": dict(self._st.spec.body),
        }

    def env(self) -> dict[str, Any]:
        """The execution's environment (``params.env``)."""
        env = self._st.wf_ex.params.get("env")
        return env if isinstance(env, dict) else {}

    def global_var(self, name: str) -> Any:
        """A variable published with the ``global`` scope."""
        return self._st.wf_ex.context.get(GLOBALS_KEY, {}).get(name)


def failure_message(failed: list[TaskExecution]) -> str:
    """Mistral's workflow ``state_info`` for unhandled task errors (without tracebacks)."""
    names = ", ".join(t.name for t in failed)
    lines = [f"Failure caused by error in tasks: {names}", ""]
    lines += [f"  {t.name} [task_ex_id={t.id}] -> {t.state_info}" for t in failed]
    return "\n".join(lines) + "\n"
