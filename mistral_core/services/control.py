"""Starting and controlling workflow executions: start, pause, resume, cancel, stop, re-run, skip, delete."""

from __future__ import annotations

from typing import Any

from mistral_core.engine.state import ExecutionState
from mistral_core.errors import DuplicateError, InputError, NotFoundError, StateConflictError
from mistral_core.model import EVERY_PROJECT, State, TaskExecution, Viewer, WorkflowExecution
from mistral_core.model.states import WORKFLOW_FINISHED
from mistral_core.services.launcher import Launcher
from mistral_core.services.maintenance import refuse_in_maintenance
from mistral_core.services.parents import pause_parents, resume_parents
from mistral_core.services.unit_of_work import Parts, Transactions, Work

S = State
#: The states an execution can be set to with ``PUT /v2/executions/<id>``.
SETTABLE = (S.RUNNING, S.PAUSED, S.CANCELLED, S.SUCCESS, S.ERROR)


class Executions:
    """What users do to workflow executions.

    Args:
        transactions: runs the work.
        parts: the shared parts.
        launcher: checks and creates executions.
    """

    def __init__(self, transactions: Transactions, parts: Parts, launcher: Launcher) -> None:
        self._tx = transactions
        self._parts = parts
        self._conductor = parts.conductor
        self._launcher = launcher

    # -- starting -------------------------------------------------------------------
    def start(
        self,
        workflow_identifier: str,
        namespace: str = "",
        wf_input: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        description: str = "",
        ex_id: str | None = None,
        viewer: Viewer = EVERY_PROJECT,
    ) -> WorkflowExecution:
        """Create and start a workflow execution in ``viewer``'s project, the workflow (and a named
        environment) as ``viewer`` sees it (with ``ex_id`` given twice: the first one).

        Raises:
            NotFoundError: no such workflow (or environment).
            WorkflowInputError / InputError: input or params not valid.
            DuplicateError: ``ex_id`` is the id of an execution ``viewer`` does not see.
            MaintenanceError: the service is in maintenance (read in the transaction that would
                start it, so no process starts one once the mode has changed).
        """
        if ex_id is not None:
            existing = self._existing(ex_id)
            if existing is not None:
                if not viewer.owns(existing.project_id):
                    raise DuplicateError(f"WorkflowExecution with id '{ex_id}' already exists")
                return existing
        launch = self._launcher.check(
            workflow_identifier, namespace, wf_input or {}, params or {}, viewer=viewer
        )
        new_id = ex_id or self._parts.new_id()  # the same id if the transaction is run again

        def body(work: Work) -> ExecutionState | WorkflowExecution:
            if work.after_doubt:  # an earlier attempt may have been kept: then it is the answer
                kept = self._existing(new_id)
                if kept is not None:
                    return kept
            refuse_in_maintenance(work.store, "starting an execution")
            return self._launcher.start(work, launch, description, new_id)

        started = self._tx.run(body)
        return started.wf_ex if isinstance(started, ExecutionState) else started  # as written

    def _existing(self, ex_id: str) -> WorkflowExecution | None:
        try:
            return self._parts.store.get_workflow_execution(ex_id)
        except NotFoundError:
            return None

    # -- control --------------------------------------------------------------------
    def update(
        self,
        wf_ex_id: str,
        state: State | None = None,
        state_info: str | None = None,
        description: str | None = None,
        env: dict[str, Any] | None = None,
    ) -> WorkflowExecution:
        """Pause, resume, cancel, succeed or fail an execution; change its description or env.

        Raises:
            NotFoundError: no such execution.
            StateConflictError: the change does not fit the execution's state (409).
            InputError: a state that cannot be set this way (400).
        """
        if state is not None and state not in SETTABLE:
            raise InputError(
                f"An execution's state can be set to RUNNING, PAUSED, CANCELLED, SUCCESS or "
                f"ERROR, not {state.value}"
            )

        def body(work: Work) -> ExecutionState:
            st = work.state(wf_ex_id)
            if description is not None:
                st.change(st.wf_ex, description=description)
            if env is not None:
                _merge_env(st, env)
            if state is not None:
                self._set_state(work, st, state, state_info)
            return st

        return self._tx.run(body).wf_ex  # as written, once the intents were applied

    def _set_state(self, work: Work, st: ExecutionState, state: State, info: str | None) -> None:
        current = st.wf_ex.state
        if current is state:
            return
        if current in WORKFLOW_FINISHED:
            raise StateConflictError(
                f"Execution {st.wf_ex.id} is already {current.value}: it cannot be set "
                f"{state.value}" + (" (re-run a failed task instead)" if state is S.RUNNING else ""),
                current.value,
            )
        if state is S.PAUSED:
            self._conductor.pause(st, info)
            pause_parents(work, st, self._conductor)
        elif state is S.RUNNING:
            self._conductor.resume(st)
            resume_parents(work, st, self._conductor)
        elif state is S.CANCELLED:
            self._conductor.cancel(st, info)
        else:
            self._conductor.finish(st, state, info)

    # -- tasks ----------------------------------------------------------------------
    def rerun_task(
        self, task_ex_id: str, reset: bool = True, env: dict[str, Any] | None = None
    ) -> TaskExecution:
        """Run a failed task again (``PUT /v2/tasks/<id>`` with state RUNNING) and continue from it.

        Raises:
            NotFoundError: no such task.
            StateConflictError: the task is not in ERROR or CANCELLED, or its execution is paused.
            InputError: ``reset=false`` on a task that is not a with-items task.
        """

        def body(work: Work) -> ExecutionState:
            st = work.owner_of_task(task_ex_id)
            task = st.tasks[task_ex_id]
            _check_rerun(st, task, reset)
            if env:
                _merge_env(st, env)
            work.actions_of(st, task.id)
            self._conductor.rerun_task(st, task, reset)
            self._reopen_parents(work, st)
            return st

        return self._tx.run(body).tasks[task_ex_id]

    def _reopen_parents(self, work: Work, st: ExecutionState) -> None:
        while st.wf_ex.task_execution_id:
            parent = work.owner_of_task(st.wf_ex.task_execution_id)
            self._conductor.reopen_task(parent, st.wf_ex.task_execution_id)
            st = parent

    def skip_task(self, task_ex_id: str) -> TaskExecution:
        """Skip a failed task (``PUT /v2/tasks/<id>`` with state SKIPPED): the workflow goes on.

        Raises:
            NotFoundError: no such task.
            StateConflictError: the task is not in ERROR.
        """

        def body(work: Work) -> ExecutionState:
            st = work.owner_of_task(task_ex_id)
            task = st.tasks[task_ex_id]
            if task.state is not S.ERROR:
                raise StateConflictError(
                    f"Task {task.name} [{task_ex_id}] is {task.state.value}: only a task "
                    "in ERROR can be skipped",
                    task.state.value,
                )
            self._conductor.skip_task(st, task)
            return st

        return self._tx.run(body).tasks[task_ex_id]

    # -- deleting -------------------------------------------------------------------
    def delete(self, wf_ex_id: str, force: bool = False) -> None:
        """Delete a finished workflow execution (or any, with ``force``) with its tasks and actions.

        Raises:
            NotFoundError: no such execution.
            StateConflictError: it is not finished and ``force`` is not set.
        """
        store = self._parts.store

        def body(work: Work) -> None:
            wf_ex = store.lock_workflow_execution(wf_ex_id)
            if wf_ex.state not in WORKFLOW_FINISHED and not force:
                raise StateConflictError(
                    f"Execution {wf_ex_id} is {wf_ex.state.value}: only a finished execution can be "
                    "deleted (add force=true to delete it anyway)",
                    wf_ex.state.value,
                )
            store.delete_workflow_execution(wf_ex_id)  # its pending timers find nothing and are dropped

        self._tx.run(body)
        self._parts.cache.drop(wf_ex_id)


def _merge_env(st: ExecutionState, env: dict[str, Any]) -> None:
    if st.wf_ex.state not in (S.IDLE, S.PAUSED, S.ERROR, S.RUNNING):
        raise StateConflictError(
            f"Execution {st.wf_ex.id} is {st.wf_ex.state.value}: its env can no longer change",
            st.wf_ex.state.value,
        )
    current = st.wf_ex.params.get("env") or {}
    st.change(st.wf_ex, params={**st.wf_ex.params, "env": {**current, **env}})


def _check_rerun(st: ExecutionState, task: TaskExecution, reset: bool) -> None:
    if task.state not in (S.ERROR, S.CANCELLED):
        raise StateConflictError(
            f"Task {task.name} [{task.id}] is {task.state.value}: only a task in "
            "ERROR (or CANCELLED) can be re-run",
            task.state.value,
        )
    if not reset and not st.spec.tasks[task.name].with_items:
        raise InputError(
            f"Task {task.name} is not a with-items task: only a with-items task can be "
            "re-run without reset (its failed items only)"
        )
    if st.wf_ex.state is S.PAUSED:
        raise StateConflictError(
            f"Execution {st.wf_ex.id} is PAUSED: resume it before re-running a task", "PAUSED"
        )
