"""Reverse workflows: run the target task (``params.task_name``) and, first, what it requires."""

from __future__ import annotations

from typing import Any

from mistral_core.engine.state import ExecutionState
from mistral_core.engine.tasks import Queue, TaskRunner
from mistral_core.model import State, Trigger


def closure(st: ExecutionState) -> set[str]:
    """The tasks the target task needs, itself included."""
    target = str(st.wf_ex.params.get("task_name"))
    needed: set[str] = set()
    todo = [target] if target in st.spec.tasks else []
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(st.spec.tasks[name].requires)
    return needed


def ready(st: ExecutionState) -> list[str]:
    """The needed tasks not started yet whose requirements all succeeded."""
    done = {t.name for t in st.tasks.values() if t.state is State.SUCCESS}
    started = {t.name for t in st.tasks.values()}
    needed = closure(st)
    return [
        name
        for name in st.spec.tasks
        if name in needed and name not in started and all(r in done for r in st.spec.tasks[name].requires)
    ]


def start_ready(st: ExecutionState, tasks: TaskRunner, queue: Queue) -> None:
    """Start every task that is ready, with the context its requirements published."""
    latest = {t.name: t for t in st.tasks.values()}
    for name in ready(st):
        context: dict[str, Any] = {}
        for required in st.spec.tasks[name].requires:
            context.update({**latest[required].in_context, **latest[required].published})
        triggers = tuple(Trigger(latest[r].id, "requires") for r in st.spec.tasks[name].requires)
        task = tasks.new_task(st, st.spec.tasks[name], State.RUNNING, context, triggers)
        tasks.start_task(st, task, queue)
