"""Views of workflow executions kept between transactions while sync work is in flight.

A chain of sync tasks would otherwise reload every task of its workflow execution
at each step. A cached view is used only if the workflow execution's ``version``
(read under its lock) is the one the view was saved with, so a change made by
another engine (or anything else) is never missed. Views of executions that only
wait for async results are not kept: nothing is held in memory for a wait.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from mistral_core.engine.state import ExecutionState
from mistral_core.model import State

S = State


class StateCache:
    """A bounded LRU of :class:`ExecutionState`; each view is owned by one transaction at a time.

    Args:
        size: the most views kept.
    """

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._states: OrderedDict[str, ExecutionState] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, wf_ex_id: str, version: int) -> ExecutionState | None:
        """Remove and return the view of an execution if it was saved at ``version`` (the one
        read under the execution's lock), else None."""
        with self._lock:
            st = self._states.pop(wf_ex_id, None)
        if st is None or st.wf_ex.version != version:
            return None
        return st

    def holds(self, wf_ex_id: str) -> bool:
        """Whether a view of this execution is kept (current or not)."""
        return wf_ex_id in self._states

    def keep(self, st: ExecutionState) -> None:
        """Keep the view after its transaction committed, if sync work of it is still running."""
        if st.wf_ex.state is not S.RUNNING:
            return
        running = {k: a for k, a in st.actions.items() if a.state in (S.RUNNING, S.PAUSED)}
        if not any(a.is_sync for a in running.values()):
            return
        st.actions = running
        st.complete_actions_of = set()  # only the running ones are kept
        st.related_tasks = {}  # other executions move on meanwhile
        st.children = {}
        with self._lock:
            self._states[st.wf_ex.id] = st
            self._states.move_to_end(st.wf_ex.id)
            while len(self._states) > self._size:
                self._states.popitem(last=False)

    def drop(self, wf_ex_id: str) -> None:
        """Forget the view of one execution."""
        with self._lock:
            self._states.pop(wf_ex_id, None)

    def __len__(self) -> int:
        return len(self._states)
