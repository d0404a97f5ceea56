"""Launching workflow executions: find the workflow, check input and params, create the execution.

Used wherever an execution begins: ``POST /v2/executions``, a cron trigger
firing, and a task starting a sub-workflow. The checks are done before anything
is written; the new execution's first tasks are decided by the conductor in the
caller's transaction.

Names (of the workflow, of an environment) are resolved for a viewer: the caller's for a
request, the trigger's project for a cron trigger, the parent's project for a sub-workflow.
The new execution belongs to that viewer's project.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mistral_core.engine.state import ExecutionState
from mistral_core.errors import ExpressionError, InputError, NotFoundError, WorkflowInputError
from mistral_core.lang.expressions import Evaluator, NoRuntime
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.model import EVERY_PROJECT, State, Viewer, WorkflowDefinition, WorkflowExecution
from mistral_core.services.unit_of_work import Parts, Work

#: Parameters of an execution (``params``) that a sub-workflow task may pass in its input.
CHILD_PARAMS = ("env", "task_name", "evaluate_env", "notify")


@dataclasses.dataclass(frozen=True, slots=True)
class Launch:
    """A checked request to start a workflow: what to run, with what, in which project."""

    wf_def: WorkflowDefinition
    spec: WorkflowSpec
    wf_input: dict[str, Any]
    params: dict[str, Any]
    project: str


@dataclasses.dataclass(frozen=True, slots=True)
class Parent:
    """The task execution a sub-workflow runs for."""

    wf_ex: WorkflowExecution
    task_id: str


class _EnvOnly(NoRuntime):
    """What ``vars`` see when an execution starts (its input as ``$``), and environments when they are
    evaluated: ``env()``."""

    def __init__(self, env: Any) -> None:
        self._env = env if isinstance(env, dict) else {}

    def env(self) -> dict[str, Any]:
        """The execution's environment."""
        return self._env


class Launcher:
    """Checks and creates new workflow executions.

    Args:
        parts: the shared parts.
        evaluator: evaluates input defaults, ``vars`` and environments.
    """

    def __init__(self, parts: Parts, evaluator: Evaluator) -> None:
        self._parts = parts
        self._evaluator = evaluator
        self._limits = parts.limits

    def check(
        self,
        identifier: str,
        namespace: str,
        given: dict[str, Any],
        params: dict[str, Any],
        caller: str | None = None,
        evaluate_env: bool = True,
        viewer: Viewer = EVERY_PROJECT,
    ) -> Launch:
        """Find the workflow and check the input and params of a new execution of it.

        ``caller`` is the workflow that starts it as a sub-workflow (inside a workbook, its short
        names find the workbook's workflows first); a sub-workflow's env is its parent's, as is.
        Names are resolved as ``viewer`` sees them; the execution is of ``viewer``'s project.

        Raises:
            NotFoundError: no such workflow (or environment).
            WorkflowInputError / InputError: input or params not valid, the input over the size limit.
        """
        too_big = self._limits.oversized(given, "The workflow input")
        if too_big is not None:
            raise InputError(too_big)
        wf_def, spec = self._parts.definitions.resolve_workflow(identifier, namespace, caller, viewer)
        wf_input = self.check_input(spec, given)
        full_params = self.check_params(spec, {"namespace": namespace, "env": {}, **params}, viewer)
        if evaluate_env:
            full_params["env"] = self._evaluate_env(full_params)
        return Launch(wf_def, spec, wf_input, full_params, viewer.project)

    def depth_of_child(self, parent: WorkflowExecution) -> int:
        """How deep a sub-workflow of ``parent`` is (1: a child of a top-level execution).

        Raises:
            InputError: deeper than ``subworkflow_depth_limit``.
        """
        depth = int(parent.params.get("depth", 0)) + 1
        limit = self._limits.subworkflow_depth_limit
        if depth > limit:
            raise InputError(
                f"sub-workflows nest {depth} deep: the limit is {limit} (setting subworkflow_depth_limit)"
            )
        return depth

    def start(
        self,
        work: Work,
        launch: Launch,
        description: str = "",
        ex_id: str | None = None,
        parent: Parent | None = None,
    ) -> ExecutionState:
        """Create the execution (RUNNING) in ``work`` and let the conductor start its first tasks."""
        st = self._new_execution(work, launch, description, ex_id, parent)
        self._parts.conductor.start(st)
        return st

    def check_input(self, spec: WorkflowSpec, given: dict[str, Any]) -> dict[str, Any]:
        """The full input: what was given, plus the defaults of what was not.

        Raises:
            WorkflowInputError: a required input is missing, or one is not declared.
        """
        declared = {p.name: p for p in spec.input}
        missing = [p.name for p in spec.input if p.required and p.name not in given]
        unexpected = [k for k in given if k not in declared]
        if missing or unexpected:
            detail = f"missing={missing}" if missing else f"unexpected={unexpected}"
            kind = "DirectWorkflowSpec" if spec.type == "direct" else "ReverseWorkflowSpec"
            raise WorkflowInputError(f"Invalid input [name={spec.name}, class={kind}, {detail}]")
        full = {p.name: self._evaluator.evaluate(p.default, {}) for p in spec.input if not p.required}
        full.update(given)
        return full

    def check_params(
        self, spec: WorkflowSpec, params: dict[str, Any], viewer: Viewer = EVERY_PROJECT
    ) -> dict[str, Any]:
        """Params with a named environment (as ``viewer`` sees it) replaced by its variables, a
        reverse target checked, and the publishers of ``notify`` checked.

        Raises:
            InputError: an unknown environment, a bad ``env``, a reverse workflow without a target,
                a ``notify`` list that is not usable (its shape, its size, a publisher's options).
        """
        if "notify" in params:
            self._parts.notifiers.check(params["notify"])
        env = params.get("env")
        if isinstance(env, str):
            try:
                params["env"] = self._parts.store.get_environment(env, viewer).variables
            except NotFoundError:
                raise InputError(f"Environment not found [name={env}]") from None
        elif env is not None and not isinstance(env, dict):
            raise InputError(f"params.env must be an object or the name of an environment, not {env!r}")
        if spec.type == "reverse":
            target = params.get("task_name")
            if not target:
                raise InputError(
                    f"Reverse workflow '{spec.name}' needs the parameter 'task_name' "
                    "(the task to run, with what it requires)"
                )
            if target not in spec.tasks:
                raise InputError(f"Reverse workflow '{spec.name}' has no task '{target}'")
        return params

    def _evaluate_env(self, params: dict[str, Any]) -> dict[str, Any]:
        """The env's values are expressions, unless ``params.evaluate_env`` is false. As in Mistral 23
        they see the environment as it was given (``env()``, ``$.__env``), not the input."""
        env: dict[str, Any] = params.get("env") or {}
        if params.get("evaluate_env", True) is False or not env:
            return env
        try:
            evaluated: dict[str, Any] = self._evaluator.evaluate(env, {"__env": env}, _EnvOnly(env))
        except ExpressionError as exc:
            raise InputError(f"An expression in the environment failed: {exc}") from None
        return evaluated

    def _new_execution(
        self, work: Work, launch: Launch, description: str, ex_id: str | None, parent: Parent | None
    ) -> ExecutionState:
        now = work.now
        context = dict(launch.wf_input)
        spec, params = launch.spec, launch.params
        if spec.vars:
            env = _EnvOnly(params.get("env"))
            context.update(self._evaluator.evaluate(dict(spec.vars), dict(launch.wf_input), env))
        wf_ex = WorkflowExecution(
            id=ex_id or self._parts.new_id(),
            workflow_id=launch.wf_def.id,
            workflow_name=launch.wf_def.name,
            spec_checksum=launch.wf_def.spec["checksum"],
            state=State.RUNNING,
            workflow_namespace=launch.wf_def.namespace,
            description=description,
            tags=spec.tags,
            params=params,
            input=launch.wf_input,
            output={},
            context=context,
            created_at=now,
            updated_at=now,
            task_execution_id=parent.task_id if parent else None,
            root_execution_id=(parent.wf_ex.root_execution_id or parent.wf_ex.id) if parent else None,
            project_id=launch.project,
        )
        st = work.view(wf_ex, spec)
        st.insert(wf_ex)
        st.notify("mistral_workflow_execution_started", "wf_ex", wf_ex)
        work.add(st)
        return st
