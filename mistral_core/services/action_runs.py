"""Actions run outside any workflow (``POST /v2/action_executions``, ``mistral run-action``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from mistral_core.auth.callbacks import mint
from mistral_core.engine.conductor import Conductor
from mistral_core.engine.ports import PreparedAction
from mistral_core.errors import Forbidden, InputError, StateConflictError
from mistral_core.model import (
    DEFAULT_PROJECT,
    DISPATCH_STARTED,
    ActionCompleted,
    ActionExecution,
    Event,
    RunAction,
    State,
)
from mistral_core.model.states import is_action_finished
from mistral_core.services.results import Results
from mistral_core.services.unit_of_work import Parts, refresh_catalog


class ActionRuns:
    """Runs actions that belong to no workflow.

    Args:
        parts: the shared parts.
        results: applies the result of an action run and saved at once.
    """

    def __init__(self, parts: Parts, results: Results) -> None:
        self._parts = parts
        self._results = results

    def run(
        self,
        name: str,
        action_input: dict[str, Any] | None = None,
        save_result: bool = False,
        run_sync: bool | None = None,
        description: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> ActionExecution:
        """Run an action outside any workflow, for ``project`` (its ad-hoc actions, or public ones;
        the action execution is that project's).

        A sync action runs at once in the calling thread and its result is returned; it is stored
        only with ``save_result``. An async action (or ``save_result`` without ``run_sync``) is
        stored RUNNING and handed to an executor; its result arrives later.

        Raises:
            ActionError: unknown action or bad input.
            InputError: ``run_sync`` asked of an async action.
        """
        action_input = action_input or {}
        refresh_catalog(self._parts.store, self._parts.catalog)
        prepared = self._parts.catalog.prepare(name, action_input, checked=True, project=project)
        if run_sync and not prepared.is_sync:
            raise InputError(f"Action {prepared.name} is asynchronous: it cannot be run with run_sync")
        action = self._record(prepared, action_input, description, project)
        command = self._parts.catalog.attach_code(Conductor.command_for(action), action.params)
        if not prepared.is_sync:  # its callback token: the secret to the action, the hash stored
            token = mint(action.created_at or self._parts.clock.now(), self._parts.callback_token_max_age)
            action = dataclasses.replace(
                action, callback_token_hash=token.hash, callback_token_expires_at=token.expires_at
            )
            command = dataclasses.replace(command, callback_token=token.secret)
        if not save_result and prepared.is_sync:
            return self._finished_record(action, self._run_now(command))
        store = self._parts.store
        with store.atomic():
            store.insert(action)
        if prepared.is_sync and run_sync:
            if not command.safe_rerun:
                store.raise_dispatch([action.id], DISPATCH_STARTED)
            self._results.apply_events([self._run_now(command)])
            return store.get_action_execution(action.id)
        if self._parts.runner is not None:
            self._parts.runner.submit([command])
        return action

    def delete(self, action_ex_id: str) -> None:
        """Delete a finished action execution that belongs to no workflow, with its history
        (``DELETE /v2/action_executions/<id>``, Mistral's rules).

        Raises:
            NotFoundError: no such action execution.
            Forbidden: it is a task's (``Only ad-hoc action execution can be deleted.``).
            StateConflictError: it has not finished.
        """
        store = self._parts.store
        with store.atomic():
            action_ex = store.get_action_execution(action_ex_id)
            if action_ex.task_execution_id is not None:
                raise Forbidden("Only ad-hoc action execution can be deleted.")
            if not is_action_finished(action_ex.state):
                raise StateConflictError(
                    "Only completed action execution can be deleted: "
                    f"{action_ex_id} is {action_ex.state.value}",
                    action_ex.state.value,
                )
            store.delete_action_execution(action_ex_id)

    def _record(
        self, prepared: PreparedAction, action_input: dict[str, Any], description: str, project: str
    ) -> ActionExecution:
        params: dict[str, Any] = {"safe_rerun": True} if prepared.safe_rerun else {}
        if prepared.run_as is not None:
            params.update(run_as=prepared.run_as, run_input=prepared.run_input)
            if prepared.transforms:
                params["transforms"] = list(prepared.transforms)
        if prepared.dynamic is not None:
            params["dynamic"] = prepared.dynamic
        now = self._parts.clock.now()
        return ActionExecution(
            id=self._parts.new_id(),
            name=prepared.name,
            state=State.RUNNING,
            runner_id=self._parts.engine_id,
            is_sync=prepared.is_sync,
            input=action_input,
            params=params,
            description=description,
            project_id=project,
            created_at=now,
            updated_at=now,
        )

    def _run_now(self, command: RunAction) -> Event:
        if self._parts.runner is None:
            raise InputError("This engine has no executor to run actions")
        event: Event = self._parts.runner.run_now(command)
        return event

    def _finished_record(self, action: ActionExecution, event: Event) -> ActionExecution:
        """The action execution a run that is not saved would have become (never stored)."""
        state = event.state if isinstance(event, ActionCompleted) else State.RUNNING
        output = event.output if isinstance(event, ActionCompleted) else None
        transforms = action.params.get("transforms")
        if transforms and state is State.SUCCESS:
            output = self._parts.catalog.transform(transforms, output)
        return dataclasses.replace(action, state=state, output={"result": output}, accepted=True)
