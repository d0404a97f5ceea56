"""with-items: the collections of a task, the bookkeeping of its items, and running them.

The per-task counters live in the task's flags (``ItemCounters``: a few integers,
constant size, whatever the number of items), so finishing one item of 10,000
costs the same as finishing one of 10. The results are gathered once, in item
order, when the last item finished.
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from mistral_core.engine.calls import ActionCalls
from mistral_core.engine.evaluation import TaskExpressions
from mistral_core.engine.intents import StartChild
from mistral_core.engine.limits import Limits
from mistral_core.engine.policies import Policies
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import ActionError, ExpressionError
from mistral_core.lang.spec import TaskSpec
from mistral_core.model import ActionExecution, ItemCounters, State, TaskExecution, WaitingItem

S = State
Queue = deque[str]


def collections_of(
    pairs: tuple[tuple[str, str], ...], evaluate: Callable[[Any], Any]
) -> list[dict[str, Any]]:
    """The item variables of every item: ``[{"x": 1, "y": "a"}, ...]`` (zip of the collections).

    Raises:
        ExpressionError: a collection is not a list, or the lists differ in length.
    """
    columns: list[tuple[str, list[Any]]] = []
    for var, expr in pairs:
        value = evaluate(expr if _is_expression(expr) else _literal(expr))
        if isinstance(value, dict) or not isinstance(value, list | tuple):
            raise ExpressionError(
                f"with-items: '{var} in {expr}' must give a list, got {type(value).__name__}"
            )
        columns.append((var, list(value)))
    lengths = {len(values) for _, values in columns}
    if len(lengths) > 1:
        raise ExpressionError(
            "with-items: all collections must have the same length "
            f"({', '.join(f'{v}: {len(vals)}' for v, vals in columns)})"
        )
    count = lengths.pop() if lengths else 0
    return [{var: values[i] for var, values in columns} for i in range(count)]


def _is_expression(text: str) -> bool:
    return "<%" in text or "{{" in text


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def item_index(action_ex: ActionExecution) -> int:
    """The item index an action execution runs (kept in its ``params``)."""
    return int(action_ex.params.get("index", 0))


def results_in_order(actions: list[ActionExecution], count: int) -> list[Any]:
    """The result of every item, in item order (the latest attempt of each item)."""
    results: list[Any] = [None] * count
    for action_ex in actions:
        if action_ex.accepted and action_ex.state in (S.SUCCESS, S.ERROR) and action_ex.output is not None:
            index = item_index(action_ex)
            if 0 <= index < count:
                results[index] = action_ex.output.get("result")
    return results


def outcome(counters: ItemCounters) -> tuple[State, str | None]:
    """The task's state once every item finished (Mistral waits for all, then judges)."""
    if counters.cancelled:
        return S.CANCELLED, "One or more actions was cancelled."
    if counters.failed:
        return S.ERROR, "One or more actions had failed."
    return S.SUCCESS, None


class TaskHooks(Protocol):
    """What the with-items runner needs of the task runner (:class:`~.tasks.TaskRunner`)."""

    #: Evaluates the name and input of each call.
    calls: ActionCalls

    def new_action(
        self,
        st: ExecutionState,
        task: TaskExecution,
        name: str,
        action_input: dict[str, Any],
        index: int | None,
        state: State,
    ) -> ActionExecution:
        """A new action execution (not yet in the view)."""
        ...

    def start_action(self, st: ExecutionState, task: TaskExecution, action: ActionExecution) -> None:
        """Add an action execution to the view (and run it if RUNNING)."""
        ...

    def dispatch(self, st: ExecutionState, task: TaskExecution, action: ActionExecution) -> None:
        """Send a RUNNING action execution of the task to an executor (after commit)."""
        ...

    def attempt_done(
        self,
        st: ExecutionState,
        task: TaskExecution,
        state: State,
        result: Any,
        info: str | None,
        queue: Queue,
    ) -> None:
        """One attempt of the task ended."""
        ...

    def fail_workflow(self, st: ExecutionState, task: TaskExecution, info: str, queue: Queue) -> None:
        """The task cannot run because of the workflow itself: it and its workflow fail."""
        ...

    def finish_task(
        self, st: ExecutionState, task: TaskExecution, state: State, info: str | None, queue: Queue
    ) -> None:
        """The task ended."""
        ...


class ItemRunner:
    """Runs a with-items task: one action (or sub-workflow) per item, ``concurrency`` at a time.

    Args:
        tasks: the task runner this works for.
        expressions: evaluates the collections.
        limits: bounds the number of items.
    """

    def __init__(self, tasks: TaskHooks, expressions: TaskExpressions, limits: Limits) -> None:
        self._tasks = tasks
        self._x = expressions
        self._limits = limits

    def run(
        self, st: ExecutionState, task: TaskExecution, task_spec: TaskSpec, policies: Policies, queue: Queue
    ) -> None:
        """Start the items of an attempt of a with-items task."""
        tasks = self._tasks
        try:
            variables = collections_of(task_spec.with_items, lambda v: self._x.eval(st, task, v))
            limit = self._limits.with_items_limit
            if len(variables) > limit:
                raise ExpressionError(
                    f"with-items over {len(variables):,} items: the limit is {limit:,} "
                    "(setting with_items_limit)"
                )
            calls = [tasks.calls.call(st, task, task_spec, item, task_spec.workflow) for item in variables]
        except ExpressionError as exc:
            tasks.fail_workflow(st, task, f"Failed to run task '{task.name}': {exc}", queue)
            return
        counters = ItemCounters.new(len(calls), policies.concurrency)
        task = st.flag(task, with_items=counters)
        if not calls:
            tasks.attempt_done(st, task, S.SUCCESS, [], None, queue)
            return
        if task_spec.workflow:
            self._run_children(st, task, calls, counters)
            return
        try:  # every call is checked before any is started: a bad one leaves nothing behind
            actions = [
                tasks.new_action(
                    st, task, name, action_input, index, S.RUNNING if index < counters.concurrency else S.IDLE
                )
                for index, (name, action_input) in enumerate(calls)
            ]
        except ActionError as exc:
            tasks.fail_workflow(st, task, f"Failed to run task '{task.name}': {exc}", queue)
            return
        for action in actions:
            tasks.start_action(st, task, action)
        st.flag(task, with_items=dataclasses.replace(counters, started=counters.concurrency))

    def _run_children(
        self,
        st: ExecutionState,
        task: TaskExecution,
        calls: list[tuple[str, dict[str, Any]]],
        counters: ItemCounters,
    ) -> None:
        """with-items over a sub-workflow: one child execution per item, ``concurrency`` at a time.

        The items still to start and the results of finished children live in the task's
        flags (sub-workflow fan-outs are small; actions use pre-created IDLE rows).
        """
        waiting = [WaitingItem(index, name, given) for index, (name, given) in enumerate(calls)]
        first, rest = waiting[: counters.concurrency], waiting[counters.concurrency :]
        task = st.flag(
            task,
            with_items=dataclasses.replace(counters, started=len(first)),
            items_waiting=tuple(rest),
            item_results={},
        )
        for item in first:
            _start_child(st, task, item)

    def child_done(
        self, st: ExecutionState, task: TaskExecution, state: State, output: Any, index: int, queue: Queue
    ) -> None:
        """One child execution of a with-items sub-workflow task ended."""
        flags = task.runtime_context
        assert flags.with_items is not None
        counters = flags.with_items.finished_one(state)
        results = {**flags.item_results, str(index): output}
        waiting = flags.items_waiting
        if waiting:
            _start_child(st, task, waiting[0])
            counters = dataclasses.replace(counters, started=counters.started + 1)
            waiting = waiting[1:]
        task = st.flag(task, with_items=counters, items_waiting=waiting, item_results=results)
        if counters.all_done:
            ordered = [results.get(str(i)) for i in range(counters.count)]
            final, info = outcome(counters)
            task = st.flag(task, items_waiting=(), item_results={})
            self._tasks.attempt_done(st, task, final, ordered, info, queue)

    def action_done(
        self, st: ExecutionState, task: TaskExecution, action_ex: ActionExecution, queue: Queue
    ) -> None:
        """One action execution of a with-items task ended (its result is stored)."""
        assert task.runtime_context.with_items is not None
        counters = task.runtime_context.with_items.finished_one(action_ex.state)
        if counters.started < counters.count and self._start_next(st, task):
            counters = dataclasses.replace(counters, started=counters.started + 1)
        task = st.flag(task, with_items=counters)
        if counters.all_done:
            results = results_in_order(st.actions_of(task.id), counters.count)
            state, info = outcome(counters)
            self._tasks.attempt_done(st, task, state, results, info, queue)

    def _start_next(self, st: ExecutionState, task: TaskExecution) -> bool:
        idle = [a for a in st.actions_of(task.id) if a.state is S.IDLE]
        if not idle:
            return False
        action = st.change(min(idle, key=item_index), state=S.RUNNING, deadline=task.runtime_context.deadline)
        self._tasks.dispatch(st, task, action)
        return True

    def rerun_failed(self, st: ExecutionState, task: TaskExecution, queue: Queue) -> None:
        """Re-run only the items of a with-items task that did not succeed (``reset: false``)."""
        failed = [a for a in st.actions_of(task.id) if not a.accepted and a.state is not S.SUCCESS]
        counters = task.runtime_context.with_items
        assert counters is not None
        counters = dataclasses.replace(counters, done=counters.count - len(failed), failed=0, cancelled=0)
        task = st.flag(task, with_items=counters)
        tasks = self._tasks
        try:
            actions = [tasks.new_action(st, task, a.name, a.input, item_index(a), S.RUNNING) for a in failed]
        except ActionError as exc:
            tasks.fail_workflow(st, task, f"Failed to run task '{task.name}': {exc}", queue)
            return
        for action in actions:
            tasks.start_action(st, task, action)


def _start_child(st: ExecutionState, task: TaskExecution, item: WaitingItem) -> None:
    st.intents.append(StartChild(task.id, st.new_id(), item.workflow, item.given, item.index))
