"""Applying the intents executions leave for each other (sub-workflows started, ended, paused...)."""

from __future__ import annotations

from mistral_core.engine.intents import CancelChild, ChildEnded, Intent, PauseChild, ResumeChild, StartChild
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import InputError, NotFoundError
from mistral_core.model import State, Viewer
from mistral_core.services.launcher import CHILD_PARAMS, Launcher, Parent
from mistral_core.services.unit_of_work import Parts, Work


class IntentApplier:
    """The :class:`~mistral_core.services.unit_of_work.IntentHandler` of the engine.

    Args:
        parts: the shared parts.
        launcher: starts sub-workflows.
    """

    def __init__(self, parts: Parts, launcher: Launcher) -> None:
        self._conductor = parts.conductor
        self._launcher = launcher

    def apply(self, work: Work, st: ExecutionState, intent: Intent) -> list[ExecutionState]:
        """Apply ``intent`` (left by ``st``); return the executions it changed."""
        conductor = self._conductor
        try:
            match intent:
                case StartChild():
                    return self._start_child(work, st, intent)
                case ChildEnded(task_id=task_id, state=state, output=output, info=info, index=index):
                    parent = work.owner_of_task(task_id)
                    conductor.on_child_completed(parent, task_id, state, output, info, index)
                    return [parent]
                case PauseChild(child_id=child_id, info=info):
                    child = work.state(child_id)
                    conductor.pause(child, info)
                case ResumeChild(child_id=child_id):
                    child = work.state(child_id)
                    conductor.resume(child)
                case CancelChild(child_id=child_id, info=info):
                    child = work.state(child_id)
                    conductor.cancel(child, info)
        except NotFoundError:  # the other execution was deleted meanwhile
            return []
        return [child]

    def _start_child(self, work: Work, parent: ExecutionState, intent: StartChild) -> list[ExecutionState]:
        given = dict(intent.given)
        namespace = parent.wf_ex.workflow_namespace
        params = {
            "env": parent.wf_ex.params.get("env", {}),
            # As Mistral: a sub-workflow tells its parent's publishers, unless its task says otherwise.
            **({"notify": parent.wf_ex.params["notify"]} if "notify" in parent.wf_ex.params else {}),
            **{k: v for k, v in given.items() if k in CHILD_PARAMS},
        }
        try:
            depth = self._launcher.depth_of_child(parent.wf_ex)
            launch = self._launcher.check(
                intent.workflow,
                namespace,
                {k: v for k, v in given.items() if k not in CHILD_PARAMS},
                params,
                caller=parent.wf_ex.workflow_name,
                evaluate_env=False,
                viewer=Viewer(parent.wf_ex.project_id),  # the parent's project's, or public ones
            )
        except (NotFoundError, InputError) as exc:
            message = f"Failed to start sub-workflow '{intent.workflow}': {exc}"
            if intent.index is None:
                self._conductor.child_failed(parent, intent.task_id, message)
            else:
                self._conductor.on_child_completed(
                    parent, intent.task_id, State.ERROR, message, message, intent.index
                )
            return [parent]
        launch.params["depth"] = depth
        if intent.index is not None:
            launch.params["index"] = intent.index
        child = self._launcher.start(
            work, launch, ex_id=intent.child_id, parent=Parent(parent.wf_ex, intent.task_id)
        )
        return [parent, child]
