"""The report of an execution: its statistics and the tree of its tasks, their action executions
and sub-workflows (``GET /v2/executions/<id>/report``, ``mistral execution-get-report``).

As in Mistral 23: the root execution is level 0 and its tasks are always read; a sub-workflow
started by a task of level ``n`` is level ``n + 1``, and its tasks are read only if ``max_depth``
is negative or at least that level (otherwise it appears without ``task_executions``).
``errors_only`` keeps only tasks in ERROR (and follows only their sub-workflows). The statistics
count the tasks the report reads, by state: RUNNING, SUCCESS, ERROR, IDLE and PAUSED, and
``total_tasks_count`` is their sum (Mistral counts no other state). ``estimated_time`` is 0 for
an execution that is not RUNNING; for a RUNNING one, the mean duration of the last 20 successful
executions of its workflow less its age (at least 1), or -1 when there are none.

The cost is bounded: every read asks for at most the entries still allowed (``max_entries``,
counting workflow executions, tasks and action executions), so an execution of 100,000 tasks costs
one page of ``max_entries + 1`` rows before the request is refused with a message naming
``max_depth``, ``errors_only`` and ``statistics_only``. With ``statistics_only`` no task is read:
the database counts the tasks of each level by state, and only the tasks that started
sub-workflows, and those, are read (and counted against ``max_entries``) to find the next level.
A level is read with a few queries whatever its width (ids in batches); levels are walked with a
loop, not recursion, at most :data:`MAX_LEVELS` of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import InputError
from mistral_core.model import (
    ActionExecution,
    Filter,
    Query,
    State,
    TaskExecution,
    Viewer,
    WorkflowExecution,
)
from mistral_core.services.unit_of_work import Parts

#: The successful executions of a workflow whose mean duration estimates a running one's.
ESTIMATE_SAMPLE = 20
#: Ids in one ``in`` filter (far below SQLite's and PostgreSQL's bound on parameters).
_BATCH = 500
#: The most levels of sub-workflows a report shows: its JSON nests about four levels per one.
MAX_LEVELS = 200
#: The task states the statistics count, and the key of each (Mistral's).
COUNTED: dict[State, str] = {
    State.RUNNING: "running_tasks_count",
    State.SUCCESS: "success_tasks_count",
    State.ERROR: "error_tasks_count",
    State.IDLE: "idle_tasks_count",
    State.PAUSED: "paused_tasks_count",
}
_ORDER = (("created_at", "asc"), ("id", "asc"))
R = TypeVar("R", ActionExecution, TaskExecution, WorkflowExecution)


@dataclasses.dataclass(frozen=True, slots=True)
class ReportRequest:
    """What a report shows.

    Attributes:
        errors_only: only tasks in ERROR (and the sub-workflows they started).
        max_depth: the deepest level whose tasks are read (the root is 0); negative: every level.
        statistics_only: the statistics without the tree.
    """

    errors_only: bool = False
    max_depth: int = -1
    statistics_only: bool = False


@dataclasses.dataclass(slots=True)
class Statistics:
    """The counts of a report's tasks by state, and the estimated seconds left."""

    counts: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(COUNTED.values(), 0))
    estimated_time: int = 0

    def add(self, state: State, count: int = 1) -> None:
        """Count ``count`` tasks in ``state`` (if it is a counted state)."""
        key = COUNTED.get(state)
        if key is not None:
            self.counts[key] += count

    @property
    def total(self) -> int:
        """Every counted task."""
        return sum(self.counts.values())


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowNode:
    """A workflow execution of the tree; ``tasks`` is None where ``max_depth`` stopped reading."""

    wf_ex: WorkflowExecution
    tasks: list[TaskNode] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TaskNode:
    """A task of the tree, with its action executions and the sub-workflows it started."""

    task_ex: TaskExecution
    action_exs: list[ActionExecution] = dataclasses.field(default_factory=list)
    workflows: list[WorkflowNode] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    """The statistics, and the tree (None with ``statistics_only``)."""

    statistics: Statistics
    root: WorkflowNode | None


class Reports:
    """Builds execution reports from the store.

    Args:
        parts: the shared parts (the store and the clock).
    """

    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def report(self, wf_ex_id: str, request: ReportRequest, viewer: Viewer, max_entries: int) -> Report:
        """The report of one execution, as ``viewer`` sees it.

        Raises:
            NotFoundError: no such execution (or ``viewer`` does not see it).
            InputError: the report would hold more than ``max_entries`` entries, or more than
                :data:`MAX_LEVELS` levels of sub-workflows.
        """
        store = self._parts.store
        wf_ex = store.get_workflow_execution(wf_ex_id, viewer)
        statistics = Statistics(estimated_time=self._estimate(wf_ex, viewer))
        budget = _Budget(wf_ex_id, max_entries, request.statistics_only)
        if request.statistics_only:
            _Count(store, request, statistics, budget).run(wf_ex)
            return Report(statistics, None)
        return Report(statistics, _Walk(store, request, statistics, budget).run(wf_ex))

    def _estimate(self, wf_ex: WorkflowExecution, viewer: Viewer) -> int:
        if wf_ex.state is not State.RUNNING:
            return 0
        query = Query(
            filters=(Filter("workflow_id", "eq", wf_ex.workflow_id), Filter("state", "eq", State.SUCCESS)),
            sort=(("created_at", "desc"), ("id", "desc")),
            limit=ESTIMATE_SAMPLE,
            project=viewer.only,
        )
        durations = [
            (ex.updated_at - ex.created_at).total_seconds()
            for ex in self._parts.store.list_workflow_executions(query)
            if ex.created_at is not None and ex.updated_at is not None
        ]
        if not durations or wf_ex.created_at is None:
            return -1
        mean = sum(durations) / len(durations)
        age = (self._parts.clock.now() - wf_ex.created_at).total_seconds()
        return max(1, round(mean - age))


class _Budget:
    """The entries a report may still read."""

    def __init__(self, wf_ex_id: str, max_entries: int, statistics_only: bool) -> None:
        self._wf_ex_id = wf_ex_id
        self._max = max_entries
        self._statistics_only = statistics_only
        self.left = max_entries

    def take(self, count: int) -> None:
        """Spend ``count`` entries, or refuse the report."""
        self.left -= count
        if self.left < 0:
            if self._statistics_only:
                raise InputError(
                    f"The statistics of execution {self._wf_ex_id} reach more than {self._max} "
                    "sub-workflows and tasks that start them (setting report_max_entries): narrow them "
                    "with max_depth or errors_only=true"
                )
            raise InputError(
                f"The report of execution {self._wf_ex_id} has more than {self._max} entries (setting "
                "report_max_entries): narrow it with max_depth or errors_only=true, or ask "
                "statistics_only=true"
            )

    def read(
        self,
        list_records: Callable[[Query], list[R]],
        parent: str,
        parent_ids: Sequence[str],
        only: tuple[Filter, ...] = (),
    ) -> Iterator[R]:
        """The records of ``list_records`` whose ``parent`` is one of ``parent_ids``, oldest first in
        each batch of ids, each read asking for no more than the entries left."""
        for start in range(0, len(parent_ids), _BATCH):
            batch = parent_ids[start : start + _BATCH]
            filters = (Filter(parent, "in", batch), *only)
            found = list_records(Query(filters=filters, sort=_ORDER, limit=self.left + 1))
            self.take(len(found))
            yield from found


def _check_level(wf_ex_id: str, level: int) -> None:
    if level > MAX_LEVELS:
        raise InputError(
            f"The report of execution {wf_ex_id} is more than {MAX_LEVELS} sub-workflows deep: "
            "narrow it with max_depth"
        )


class _Walk:
    """One walk down an execution tree, a level at a time: the tasks of every execution of a level,
    then their action executions and sub-workflows, are read with a few queries (ids in batches),
    whatever the number of executions on that level; every read within the budget."""

    def __init__(
        self, store: ExecutionStore, request: ReportRequest, statistics: Statistics, budget: _Budget
    ) -> None:
        self._store = store
        self._request = request
        self._statistics = statistics
        self._budget = budget

    def run(self, wf_ex: WorkflowExecution) -> WorkflowNode:
        """The tree under ``wf_ex`` (statistics counted on the way)."""
        self._budget.take(1)
        root = WorkflowNode(wf_ex, [])
        level, frontier = 0, [root]
        while frontier:  # a loop rather than recursion: nesting depth is the user's to choose
            _check_level(wf_ex.id, level)
            frontier = self._expand(frontier, level)
            level += 1
        return root

    def _expand(self, nodes: list[WorkflowNode], level: int) -> list[WorkflowNode]:
        """Read the tasks of ``nodes`` (one level) and their children; the sub-workflows to expand next."""
        by_wf_ex = {node.wf_ex.id: node for node in nodes}
        by_task: dict[str, TaskNode] = {}
        for task_ex in self._tasks_of(list(by_wf_ex)):
            task_node = by_task[task_ex.id] = TaskNode(task_ex)
            tasks = by_wf_ex[task_ex.workflow_execution_id].tasks
            assert tasks is not None  # only nodes whose tasks are read are expanded
            tasks.append(task_node)
            self._statistics.add(task_ex.state)
        for action_ex in self._budget.read(
            self._store.list_action_executions, "task_execution_id", list(by_task)
        ):
            by_task[str(action_ex.task_execution_id)].action_exs.append(action_ex)
        below: list[WorkflowNode] = []
        deeper = self._request.max_depth < 0 or level + 1 <= self._request.max_depth
        for sub_ex in self._budget.read(
            self._store.list_workflow_executions, "task_execution_id", list(by_task)
        ):
            child = WorkflowNode(sub_ex, [] if deeper else None)
            by_task[str(sub_ex.task_execution_id)].workflows.append(child)
            if deeper:
                below.append(child)
        return below

    def _tasks_of(self, wf_ex_ids: Sequence[str]) -> Iterator[TaskExecution]:
        only = (Filter("state", "eq", State.ERROR),) if self._request.errors_only else ()
        return self._budget.read(self._store.list_task_executions, "workflow_execution_id", wf_ex_ids, only)


class _Count:
    """The statistics alone: the database counts the tasks of each level by state (no task is
    read); only the tasks that started sub-workflows, and those, are read to find the next level."""

    def __init__(
        self, store: ExecutionStore, request: ReportRequest, statistics: Statistics, budget: _Budget
    ) -> None:
        self._store = store
        self._request = request
        self._statistics = statistics
        self._budget = budget

    def run(self, wf_ex: WorkflowExecution) -> None:
        """Count the tasks under ``wf_ex``, as deep as ``max_depth`` says."""
        max_depth = self._request.max_depth
        level, frontier = 0, [wf_ex.id]
        while frontier:  # a loop rather than recursion: nesting depth is the user's to choose
            _check_level(wf_ex.id, level)
            self._count(frontier)
            if 0 <= max_depth <= level:
                return
            frontier = self._below(frontier)
            level += 1

    def _count(self, wf_ex_ids: list[str]) -> None:
        for start in range(0, len(wf_ex_ids), _BATCH):
            for state, count in self._store.count_task_states(wf_ex_ids[start : start + _BATCH]).items():
                if state is State.ERROR or not self._request.errors_only:
                    self._statistics.add(state, count)

    def _below(self, wf_ex_ids: list[str]) -> list[str]:
        only = [Filter("type", "eq", "WORKFLOW")]
        if self._request.errors_only:
            only.append(Filter("state", "eq", State.ERROR))
        read = self._budget.read
        starters = [
            t.id
            for t in read(self._store.list_task_executions, "workflow_execution_id", wf_ex_ids, tuple(only))
        ]
        return [sub.id for sub in read(self._store.list_workflow_executions, "task_execution_id", starters)]
