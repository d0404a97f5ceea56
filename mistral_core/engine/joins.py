"""Joins of direct workflows: ``join: all``, ``join: one`` and ``join: N``.

A join task execution waits (WAITING) until enough of its inbound tasks led to
it. It fails as soon as it can no longer be satisfied: an inbound task finished
without leading to it, or nothing else is active.
"""

from __future__ import annotations

from typing import Any

from mistral_core.engine.state import ACTIVE, ExecutionState
from mistral_core.engine.tasks import Queue, TaskRunner
from mistral_core.lang.spec import TaskSpec
from mistral_core.model import State, TaskExecution, Trigger

S = State


class Joins:
    """Decides when a join task starts, and when it can never start.

    Args:
        tasks: creates and starts task executions.
    """

    def __init__(self, tasks: TaskRunner) -> None:
        self._tasks = tasks

    def reach(
        self,
        st: ExecutionState,
        task_spec: TaskSpec,
        in_context: dict[str, Any],
        trigger: Trigger | None,
        queue: Queue,
    ) -> None:
        """An inbound task (``trigger``) led to the join ``task_spec``: start it if it has enough."""
        source = st.tasks[trigger.task_id].name if trigger else ""
        task = self.instance(st, task_spec.name, source)
        if task is None:
            task = self._tasks.new_task(st, task_spec, S.WAITING, {}, ())
        triggers = (*task.runtime_context.triggered_by, *((trigger,) if trigger else ()))
        merged = {**task.in_context, **in_context}
        task = st.change(
            task, in_context=merged, runtime_context=task.runtime_context.set(triggered_by=triggers)
        )
        if task.state is not S.WAITING:
            return
        sources = {st.tasks[t.task_id].name for t in triggers if t.task_id in st.tasks}
        inbound = st.spec.inbound.get(task_spec.name, ())
        if len(sources) >= _needed(task_spec, inbound):
            task = st.change(task, state=S.RUNNING, state_info=None, started_at=st.now)
            self._tasks.start_task(st, task, queue)
        else:
            missing = sorted(set(inbound) - sources)
            st.change(task, state_info=f"Blocked by tasks: {missing}")

    def not_reached(self, st: ExecutionState, task: TaskExecution, reached: set[str], queue: Queue) -> None:
        """A finished task that did not lead to a join it feeds may make that join impossible: fail it now."""
        for name in st.spec.feeds_joins.get(task.name, ()):
            if name in reached or st.wf_ex.state is not S.RUNNING:
                continue
            join = self.instance(st, name, task.name)
            if join is None:
                join = self._tasks.new_task(st, st.spec.tasks[name], S.WAITING, {}, ())
            missed = (*join.runtime_context.not_reached_by, task.name)
            join = st.flag(join, not_reached_by=missed)
            if join.state is not S.WAITING:
                continue
            inbound = st.spec.inbound.get(name, ())
            if len(inbound) - len(set(missed)) < _needed(st.spec.tasks[name], inbound):
                st.change(
                    join,
                    state=S.ERROR,
                    finished_at=st.now,
                    state_info=f"Failed by tasks: {sorted(set(missed))} (they finished without leading "
                    "to this join, so it can never be satisfied)",
                )
                queue.append(join.id)

    @staticmethod
    def instance(st: ExecutionState, name: str, source: str) -> TaskExecution | None:
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
    def fail_stuck(st: ExecutionState, queue: Queue) -> bool:
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


def _needed(task_spec: TaskSpec, inbound: tuple[str, ...]) -> int:
    """How many inbound tasks must lead to the join."""
    if task_spec.join == "all":
        return len(inbound)
    if task_spec.join == "one":
        return 1
    return int(task_spec.join or 0)
