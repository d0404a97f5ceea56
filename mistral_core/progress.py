"""What ``mistral-core run`` shows while a workflow runs: tasks as they start and end, with-items
counts, and the waits (with the command that completes each).

:class:`Watcher` reads the execution (and its sub-workflows) from the store every
``interval`` seconds and turns what changed into :class:`Change` lines; a view prints them:

* :class:`PlainView` (no terminal: a pipe, a file, CI): one plain line per change, item counts
  at most once a second per task;
* :class:`TerminalView`: the same lines with colours and symbols, and a status line at the
  bottom, redrawn in place, with the running tasks and their item counts.

Reading the store from outside the engine's transactions is safe: every read is a committed
snapshot, and the watcher writes nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Protocol, TextIO

from mistral_core.engine.ports import ExecutionStore
from mistral_core.model import ActionExecution, Filter, Query, State, TaskExecution, WorkflowExecution

#: A wait: the action execution, and how to complete it (lines of text).
WaitHint = Callable[[ActionExecution], list[str]]


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One thing that happened: ``kind`` is ``task``, ``items``, ``wait`` or ``workflow``."""

    kind: str
    name: str
    state: State
    detail: str = ""
    hints: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Seen:
    """What the watcher saw of one task the last time: its state, item counts and waits."""

    state: State
    items: tuple[int, int] | None = None
    waits: frozenset[str] = frozenset()


_ENDED = frozenset({State.SUCCESS, State.ERROR, State.CANCELLED})


class Watcher:
    """Compares the execution with what it saw last time.

    Args:
        store: where the execution lives.
        root_id: the workflow execution watched (its sub-workflows are watched too).
        hint: how to complete a wait (the lines printed under it).
    """

    def __init__(self, store: ExecutionStore, root_id: str, hint: WaitHint) -> None:
        self._store = store
        self._root_id = root_id
        self._hint = hint
        self._seen: dict[str, Seen] = {}
        self._names: dict[str, str] = {}

    def root(self) -> WorkflowExecution:
        """The watched workflow execution, as it is now."""
        return self._store.get_workflow_execution(self._root_id)

    def running(self) -> list[tuple[str, tuple[int, int] | None]]:
        """The tasks running now, with their item counts ``(done, count)``."""
        return [(name, seen.items) for name, seen in self._named() if seen.state is State.RUNNING]

    def _named(self) -> Iterator[tuple[str, Seen]]:
        names = self._names
        return ((names[task_id], seen) for task_id, seen in self._seen.items())

    def poll(self) -> list[Change]:
        """What changed since the last poll, oldest first."""
        changes: list[Change] = []
        for wf_ex in self._executions():
            prefix = "" if wf_ex.id == self._root_id else f"{wf_ex.workflow_name}/"
            for task in self._store.task_executions_of(wf_ex.id):
                self._names[task.id] = prefix + task.name
                changes.extend(self._task_changes(prefix + task.name, task))
        return changes

    def _executions(self) -> list[WorkflowExecution]:
        children = self._store.list_workflow_executions(
            Query(filters=(Filter("root_execution_id", "eq", self._root_id),))
        )
        return [self.root(), *(c for c in children if c.id != self._root_id)]

    def _task_changes(self, name: str, task: TaskExecution) -> list[Change]:
        before = self._seen.get(task.id)
        counters = task.runtime_context.with_items
        items = (counters.done, counters.count) if counters is not None else None
        waits = self._waits(task) if task.state is State.RUNNING and task.type == "ACTION" else []
        now = Seen(task.state, items, frozenset(w.id for w in waits))
        self._seen[task.id] = now
        changes: list[Change] = []
        finished = task.state in _ENDED
        if before is None:  # new: it started (and may have ended since the last poll)
            changes.append(Change("task", name, State.RUNNING if finished else task.state))
        if items is not None and (before is None or before.items != items):
            # The last count of an ended task is always shown (its state says so); running ones may
            # be thinned out by the view.
            changes.append(Change("items", name, task.state, f"{items[0]}/{items[1]}"))
        if (before is None and finished) or (before is not None and before.state is not task.state):
            changes.append(Change("task", name, task.state, _why(task)))
        known = before.waits if before is not None else frozenset()
        for wait in waits:
            if wait.id not in known:
                changes.append(Change("wait", name, wait.state, wait.id, tuple(self._hint(wait))))
        return changes

    def _waits(self, task: TaskExecution) -> list[ActionExecution]:
        return [
            a
            for a in self._store.action_executions_of(task.id)
            if not a.is_sync and a.state in (State.RUNNING, State.PAUSED)
        ]


def _why(task: TaskExecution) -> str:
    if task.state in (State.ERROR, State.CANCELLED) and task.state_info:
        return _one_line(task.state_info)
    return ""


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class View(Protocol):
    """Prints changes (and, on a terminal, a status line)."""

    def show(self, changes: list[Change], running: list[tuple[str, tuple[int, int] | None]]) -> None:
        """Print what changed; ``running`` is what runs now."""
        ...

    def close(self) -> None:
        """Leave the output clean (no status line left behind)."""
        ...


class PlainView:
    """One plain line per change (item counts at most once a second per task).

    Args:
        out: where to write (the standard error of ``run``: its output is the result).
        clock: monotonic seconds.
    """

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out
        self._clock = clock
        self._items_shown: dict[str, float] = {}

    def show(self, changes: list[Change], running: list[tuple[str, tuple[int, int] | None]]) -> None:
        """Write the changes, one line each."""
        for change in changes:
            if change.kind == "items" and change.state is State.RUNNING and not self._due(change.name):
                continue
            self._out.write(plain_line(change) + "\n")
            for hint in change.hints:
                self._out.write(f"  {hint}\n")
        self._out.flush()

    def _due(self, name: str) -> bool:
        now = self._clock()
        if now - self._items_shown.get(name, -1e9) < 1.0:
            return False
        self._items_shown[name] = now
        return True

    def close(self) -> None:
        """Nothing to clean."""


def plain_line(change: Change) -> str:
    """A change as a plain line (``task t1 SUCCESS``, ``task t2 items 3/10``, ``wait t3 <id>``)."""
    if change.kind == "items":
        return f"task {change.name} items {change.detail}"
    if change.kind == "wait":
        return f"task {change.name} waits: action execution {change.detail}"
    if change.kind == "workflow":
        return f"workflow {change.name} {change.state.value}" + (
            f": {change.detail}" if change.detail else ""
        )
    return f"task {change.name} {change.state.value}" + (f": {change.detail}" if change.detail else "")


_SYMBOLS = {
    State.RUNNING: ("▶", "36"),
    State.SUCCESS: ("✔", "32"),
    State.ERROR: ("✖", "31"),
    State.CANCELLED: ("⊘", "33"),
    State.PAUSED: ("⏸", "33"),
}
_CLEAR_LINE = "\r\x1b[K"
_SPINNER = "|/-\\"


class TerminalView:
    """Coloured lines, and a status line at the bottom redrawn in place.

    Args:
        out: a terminal.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._spin = 0

    def show(self, changes: list[Change], running: list[tuple[str, tuple[int, int] | None]]) -> None:
        """Print the changes above the status line, then redraw it."""
        self._out.write(_CLEAR_LINE)
        for change in changes:
            if change.kind == "items":
                continue  # the status line shows item counts
            self._out.write(self._line(change) + "\n")
            for hint in change.hints:
                self._out.write(f"    \x1b[2m{hint}\x1b[0m\n")
        self._out.write(self._status(running))
        self._out.flush()

    def _line(self, change: Change) -> str:
        symbol, colour = _SYMBOLS.get(change.state, ("•", "0"))
        if change.kind == "wait":
            symbol, colour = "⏳", "35"
        text = plain_line(change).split(" ", 1)[1]
        return f"\x1b[{colour}m{symbol}\x1b[0m {text}"

    def _status(self, running: list[tuple[str, tuple[int, int] | None]]) -> str:
        if not running:
            return ""
        self._spin = (self._spin + 1) % 4
        parts = [name + (f" [{items[0]}/{items[1]}]" if items else "") for name, items in running]
        status = f"\x1b[2m{_SPINNER[self._spin]} running: {', '.join(parts)}\x1b[0m"
        return status[:400]

    def close(self) -> None:
        """Clear the status line."""
        self._out.write(_CLEAR_LINE)
        self._out.flush()


def watch(
    watcher: Watcher,
    view: View,
    interval: float = 0.1,
    sleep: Callable[[float], None] = time.sleep,
) -> WorkflowExecution:
    """Show the execution's progress until it ends; the workflow execution as it ended."""
    try:
        while True:
            root = watcher.root()  # read first: the tasks read after it are at least as far on
            changes = watcher.poll()
            view.show(changes, watcher.running())
            if root.state in (State.SUCCESS, State.ERROR, State.CANCELLED):
                final = Change("workflow", root.workflow_name, root.state, _one_line(root.state_info or ""))
                view.show([final], [])
                return root
            sleep(interval)
    finally:
        view.close()
