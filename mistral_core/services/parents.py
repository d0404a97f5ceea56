"""A pause or resume inside a sub-workflow goes up to the executions above it (as in Mistral 23)."""

from __future__ import annotations

from mistral_core.engine.conductor import Conductor
from mistral_core.engine.state import ExecutionState
from mistral_core.model import State
from mistral_core.services.unit_of_work import Work


def pause_parents(work: Work, st: ExecutionState, conductor: Conductor) -> None:
    """A paused sub-workflow pauses its parent task and the parent workflow, up to the root."""
    while st.wf_ex.task_execution_id:
        task_id = st.wf_ex.task_execution_id
        st = work.owner_of_task(task_id)
        if st.tasks[task_id].state is State.RUNNING:
            st.change(st.tasks[task_id], state=State.PAUSED)
        conductor.pause(st, f"Paused because sub-workflow of task '{st.tasks[task_id].name}' was paused")


def resume_parents(work: Work, st: ExecutionState, conductor: Conductor) -> None:
    """A resumed sub-workflow resumes the paused workflows above it."""
    while st.wf_ex.task_execution_id:
        st = work.owner_of_task(st.wf_ex.task_execution_id)
        if st.wf_ex.state is not State.PAUSED:
            return
        conductor.resume(st)
