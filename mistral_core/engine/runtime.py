"""What expressions see of an execution: ``task()``, ``tasks()``, ``execution()``, ``env()``, ``global()``."""

from __future__ import annotations

import json
from typing import Any

from mistral_core.engine.state import ExecutionState
from mistral_core.errors import NeedsData
from mistral_core.lang.spec import WorkflowSpec
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


def task_view(task: TaskExecution, spec: WorkflowSpec | None = None) -> dict[str, Any]:
    """The dict ``task()`` returns: Mistral 23's fields, ``spec`` that of the task in ``spec``."""
    body = spec.body["tasks"].get(task.name) if spec is not None else None
    return {
        "id": task.id,
        "name": task.name,
        "spec": None if spec is None or body is None else task_spec_view(spec, task.name),
        "state": task.state.value,
        "state_info": task.state_info,
        "result": task.result,
        "published": task.published,
        "type": task.type,
        "workflow_execution_id": task.workflow_execution_id,
        "created_at": str(task.created_at),
        "updated_at": str(task.updated_at),
    }


def task_spec_view(spec: WorkflowSpec, name: str) -> dict[str, Any]:
    """A task's ``spec`` as Mistral shows it: the task as written, with its name, the workflow's type
    and the language version."""
    return {**(spec.body["tasks"][name] or {}), "name": name, "type": spec.type, "version": "2.0"}


def workflow_spec_view(spec: WorkflowSpec) -> dict[str, Any]:
    """A workflow's ``spec`` as Mistral shows it (``execution().spec``): the workflow as written,
    with its name and the language version, each task as :func:`task_spec_view` shows it."""
    tasks = {name: task_spec_view(spec, name) for name in spec.body["tasks"]}
    return {**spec.body, "name": spec.name, "version": "2.0", "tasks": tasks}


class Runtime:
    """The expression runtime of one evaluation inside one execution."""

    def __init__(self, st: ExecutionState, current: TaskExecution | None) -> None:
        self._st = st
        self._current = current

    def task(self, name: str | None) -> dict[str, Any] | None:
        """The current task, or the newest task execution called ``name``."""
        task = self._current if name is None else self._st.latest_task(name)
        return None if task is None else task_view(task, self._st.spec)

    def tasks(
        self, workflow_execution_id: str | None, recursive: bool, state: str | None, flat: bool
    ) -> list[dict[str, Any]]:
        """Task executions of this (or another) workflow execution, with its sub-workflows' if
        ``recursive``, only those in ``state``; ``flat`` leaves out the tasks that ran a
        sub-workflow (as Mistral 23 does: those whose sub-executions are in the task's state, which
        is every one that started one).

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
        if flat:
            found = [t for t in found if t.type != "WORKFLOW" or not self._children_of(t.id, root)]
        return [task_view(t, self._spec_of(t)) for t in found if state is None or t.state == state]

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

    def _spec_of(self, task: TaskExecution) -> WorkflowSpec | None:
        """The spec of a task's workflow, when it is this execution's (other executions' are not
        loaded: their tasks show ``spec`` null)."""
        return self._st.spec if task.workflow_execution_id == self._st.wf_ex.id else None

    def execution(self) -> dict[str, Any]:
        """The workflow execution: Mistral 23's fields."""
        wf_ex = self._st.wf_ex
        return {
            "id": wf_ex.id,
            "name": wf_ex.workflow_name,
            "spec": workflow_spec_view(self._st.spec),
            "input": wf_ex.input,
            "params": wf_ex.params,
            "created_at": str(wf_ex.created_at),
            "updated_at": str(wf_ex.updated_at),
            "root_execution_id": wf_ex.root_execution_id,
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
