"""Sub-executions: the tree of workflow executions under an execution or a task, flattened.

``GET /v2/executions/<id>/executions`` lists the execution itself, then, depth first
and in task order, the sub-workflow executions its tasks started, and theirs.
``GET /v2/tasks/<id>/executions`` lists the trees of the task's sub-workflows. As
in Mistral, ``max_depth`` (negative: no limit) counts levels of sub-workflows below
the origin, and ``errors_only=true`` follows only tasks in ERROR.

The whole family is read with one query (every execution shares its root's
``root_execution_id``); the tasks of an execution are read only when the family
has sub-executions at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import InputError
from mistral_core.model import Filter, Query, State, TaskExecution, Viewer, WorkflowExecution

_PARAMETERS = frozenset({"errors_only", "max_depth", "include_output"})


@dataclasses.dataclass(frozen=True, slots=True)
class SubExecutionRequest:
    """The query string of a sub-executions request.

    Attributes:
        errors_only: follow only tasks in ERROR.
        max_depth: the deepest level of sub-workflows shown (the origin is level 0); negative: all.
        include_output: show each execution's ``output``.
    """

    errors_only: bool = False
    max_depth: int = -1
    include_output: bool = False

    @classmethod
    def parse(cls, params: q.Params) -> SubExecutionRequest:
        """Read ``errors_only``, ``max_depth`` and ``include_output``; an empty value is the default
        (the CLI sends ``errors_only=``).

        Raises:
            InputError: an unknown parameter or a bad value.
        """
        for name in params:
            if name not in _PARAMETERS:
                raise InputError(f'Unknown argument: "{name}"')
        return cls(
            errors_only=flag_parameter(params, "errors_only"),
            max_depth=depth_parameter(params),
            include_output=flag_parameter(params, "include_output"),
        )

    def view(self) -> ser.View[WorkflowExecution]:
        """How each execution is shown (without ``output`` unless asked)."""
        return ser.EXECUTION_CREATED if self.include_output else ser.EXECUTION_LISTED


def sub_executions(
    store: ExecutionStore,
    request: SubExecutionRequest,
    viewer: Viewer,
    *,
    wf_ex_id: str | None = None,
    task_ex_id: str | None = None,
) -> list[WorkflowExecution]:
    """The flattened tree under one execution (``wf_ex_id``) or one task (``task_ex_id``); a
    sub-workflow is of its parent's project, so the whole tree is ``viewer``'s if its origin is.

    Raises:
        NotFoundError: the execution or task does not exist (or ``viewer`` does not see it).
    """
    if wf_ex_id is not None:
        wf_ex = store.get_workflow_execution(wf_ex_id, viewer)
        return _Tree(store, wf_ex, request).walk([(wf_ex, 0)])
    task = store.get_task_execution(str(task_ex_id), viewer)
    tree = _Tree(store, store.get_workflow_execution(task.workflow_execution_id), request)
    return tree.walk((child, 0) for child in tree.children_of_task(task))


class _Tree:
    """One execution family, with its executions grouped by the task that started them."""

    def __init__(
        self, store: ExecutionStore, member: WorkflowExecution, request: SubExecutionRequest
    ) -> None:
        self._store = store
        self._request = request
        root_id = member.root_execution_id or member.id
        family = store.list_workflow_executions(
            Query(filters=(Filter("root_execution_id", "eq", root_id),), limit=None)
        )
        self._by_task: dict[str, list[WorkflowExecution]] = {}
        for wf_ex in family:
            if wf_ex.task_execution_id is not None:
                self._by_task.setdefault(wf_ex.task_execution_id, []).append(wf_ex)

    def walk(self, start: Iterable[tuple[WorkflowExecution, int]]) -> list[WorkflowExecution]:
        """Depth first from ``start`` (``(execution, level)`` pairs), each before what it started."""
        found: list[WorkflowExecution] = []
        stack = list(start)[::-1]
        max_depth = self._request.max_depth
        while stack:  # a loop rather than recursion: nesting depth is the user's to choose
            wf_ex, depth = stack.pop()
            if 0 <= max_depth < depth:
                continue
            found.append(wf_ex)
            below = [(child, depth + 1) for child in self._children_of_execution(wf_ex)]
            stack.extend(reversed(below))
        return found

    def children_of_task(self, task: TaskExecution) -> Sequence[WorkflowExecution]:
        """The sub-workflow executions ``task`` started (none off an error path with ``errors_only``)."""
        if self._request.errors_only and task.state is not State.ERROR:
            return ()
        return self._by_task.get(task.id, ())

    def _children_of_execution(self, wf_ex: WorkflowExecution) -> list[WorkflowExecution]:
        if not self._by_task:
            return []
        return [
            child
            for task in self._store.task_executions_of(wf_ex.id)
            for child in self.children_of_task(task)
        ]


def _single(params: Mapping[str, str | list[str]], name: str) -> str:
    value = params.get(name, "")
    if isinstance(value, list):
        raise InputError(f"Parameter {name} is given more than once")
    return value


def flag_parameter(params: Mapping[str, str | list[str]], name: str) -> bool:
    """A true/false query parameter of a tree request (empty or absent: false).

    Raises:
        InputError: given twice, or not a boolean.
    """
    value = _single(params, name)
    if not value:
        return False
    try:
        return q.boolean(value)
    except ValueError as exc:
        raise InputError(f"Invalid value for parameter {name}: {exc}") from None


def depth_parameter(params: Mapping[str, str | list[str]]) -> int:
    """``max_depth`` of a tree request (empty or absent: -1, no limit).

    Raises:
        InputError: given twice, or not an integer (within 2147483647 either way).
    """
    value = _single(params, "max_depth")
    if not value:
        return -1
    try:
        return q.integer(value)
    except ValueError as exc:
        raise InputError(f"Invalid value for parameter max_depth: {exc}") from None
