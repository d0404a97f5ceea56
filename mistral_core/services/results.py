"""Action results: pushed over the API by third parties, or reported by executors.

A pushed result is applied in the request's own transaction (locking its
workflow execution, so 50 concurrent pushes make exactly one transition). The
same result again is answered with what is stored (idempotent); a different one
for a finished action is refused, naming its state. Every push, accepted or not, is
recorded in the action execution's history (:mod:`.history`) with who pushed it. Events from executors are
applied in batches, many in one transaction; one that fails is retried alone and,
failing again, fails its action with a one-line message (never stuck RUNNING).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from mistral_core.engine.conductor import Conductor
from mistral_core.engine.state import ExecutionState
from mistral_core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    StateConflictError,
    UnacceptableResult,
)
from mistral_core.model import (
    DISPATCH_HANDED_OFF,
    ActionCompleted,
    ActionExecution,
    ActionHandedOff,
    CancelAction,
    CancelNoticed,
    Event,
    NotificationSent,
    PushOrigin,
    State,
)
from mistral_core.model.commands import CANCELLED
from mistral_core.model.history import ACCEPTED, CALLBACK_TOKEN, IN_PROCESS, REJECTED, REPEATED
from mistral_core.model.states import ACTION, RESULT_STATES, is_action_finished
from mistral_core.services.history import History
from mistral_core.services.maintenance import refuse_in_maintenance
from mistral_core.services.notices import Notices
from mistral_core.services.notifications import Notifications
from mistral_core.services.parents import pause_parents, resume_parents
from mistral_core.services.unit_of_work import Parts, Transactions, Work

LOG = logging.getLogger(__name__)
S = State
#: The state_info of an action whose result could not be applied (the log has why).
INTERNAL_ERROR = "Internal error while applying the action's result; see the server log"
#: The outcome of a push to an unknown action execution (counted only: it has no history).
UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True, slots=True)
class _Outcome:
    """What a push came to: the action execution as stored, and why it was refused (if it was)."""

    action_ex: ActionExecution
    refused: str | None = None
    #: The same result again (idempotent): nothing changed.
    repeated: bool = False


class Results:
    """Applies action results.

    Args:
        transactions: runs the work.
        parts: the shared parts.
    """

    def __init__(
        self,
        transactions: Transactions,
        parts: Parts,
        history: History | None = None,
        notices: Notices | None = None,
        notifications: Notifications | None = None,
    ) -> None:
        self._tx = transactions
        self._parts = parts
        self._conductor = parts.conductor
        self._history = history or History(parts)
        self._notices = notices or Notices(transactions, parts, self._history)
        self._notifications = notifications or Notifications(transactions, parts)

    # -- pushed over the API ------------------------------------------------------------
    def complete(
        self, action_ex_id: str, state: State, output: Any, origin: PushOrigin = IN_PROCESS
    ) -> ActionExecution:
        """Deliver an async action's result (SUCCESS, ERROR or CANCELLED) and move the workflow on.

        The same result again returns the stored action execution (idempotent). The push is
        recorded in the action execution's history, as coming from ``origin``.

        Raises:
            NotFoundError: no such action execution.
            InputError: not a result state, or a result over the size limit.
            StateConflictError: the action finished already with another result (it may have
                timed out), or it is synchronous (its executor reports its result, nobody else).
        """
        outcome = self._judge(action_ex_id, state, output, origin)
        meter = self._parts.meter
        if outcome.refused is not None:  # told after the transaction, like every hook
            meter.result_pushed(REJECTED)
            raise self.refusal(outcome.action_ex, state, outcome.refused)
        meter.result_pushed(REPEATED if outcome.repeated else ACCEPTED)
        return outcome.action_ex

    def push_in(
        self, work: Work, action_ex_id: str, state: State, output: Any, origin: PushOrigin
    ) -> tuple[ActionExecution, str | None]:
        """What :meth:`complete` decides, inside a transaction the caller runs (several pushes in
        one): the action execution, and why the push was refused (None: accepted or repeated;
        recorded in its history either way). The caller turns a refusal into :meth:`refusal`
        after commit, and checks the result's size first.

        Raises:
            NotFoundError, InputError, ConflictError: as :meth:`complete`; the caller rolls the
                transaction back and pushes alone (which records them).
        """
        outcome = self._complete(work, action_ex_id, state, output, origin)
        return outcome.action_ex, outcome.refused

    def refusal(self, action_ex: ActionExecution, state: State, reason: str) -> StateConflictError:
        """Tell the hooks a push was refused (after its transaction); the error to answer with."""
        self._parts.hooks.notify(
            "mistral_action_result_rejected", action_ex=action_ex, state=state.value, reason=reason
        )
        return StateConflictError(reason, action_ex.state.value)

    def _judge(self, action_ex_id: str, state: State, output: Any, origin: PushOrigin) -> _Outcome:
        """Check a push and run its transaction; a push refused before or inside it is counted."""
        meter = self._parts.meter
        if state not in RESULT_STATES:
            meter.result_pushed(REJECTED)
            raise InputError(f"an action result must be SUCCESS, ERROR or CANCELLED, not {state.value}")
        too_big = self._parts.limits.oversized(output, "The result")
        if too_big is not None:  # the sender may send a smaller one: the action keeps waiting
            self._history.reject(action_ex_id, state, origin, too_big)
            meter.result_pushed(REJECTED)
            raise InputError(too_big)
        try:
            return self._tx.run(lambda work: self._complete(work, action_ex_id, state, output, origin))
        except NotFoundError:
            meter.result_pushed(UNKNOWN)
            raise
        except (InputError, ConflictError) as exc:  # judged, then rolled back: recorded on its own
            self._history.reject(action_ex_id, state, origin, exc.message)
            meter.result_pushed(REJECTED)
            raise

    def _complete(
        self, work: Work, action_ex_id: str, state: State, output: Any, origin: PushOrigin
    ) -> _Outcome:
        action_ex, st = _lock_action(work, action_ex_id)
        if is_action_finished(action_ex.state):
            refused = _repeated(action_ex, state, output)
        elif action_ex.is_sync:
            refused = _synchronous(action_ex)
        else:
            if st is None:
                action_ex = self._complete_orphan(action_ex, state, output)
            else:
                if state is S.SUCCESS:
                    wrong = self._conductor.result_mismatch(st, action_ex, output)
                    if wrong is not None:  # the sender may send a good one: the action keeps waiting
                        raise UnacceptableResult(wrong)
                _preload(work, st, action_ex)
                told = state is S.CANCELLED and origin.by != CALLBACK_TOKEN  # the third party did not
                action_ex = self._conductor.on_action_completed(st, action_ex, state, output, checked=True)
                if told:
                    st.commands.append(CancelAction.of(action_ex, CANCELLED))
            self._history.write(action_ex_id, state, origin, ACCEPTED, work=work)
            return _Outcome(action_ex)
        outcome = REPEATED if refused is None else REJECTED
        self._history.write(action_ex_id, state, origin, outcome, refused, work=work)
        return _Outcome(action_ex, refused, repeated=refused is None)

    def _complete_orphan(self, action_ex: ActionExecution, state: State, output: Any) -> ActionExecution:
        """An action run outside any workflow: only its own row changes."""
        result = None if state is S.CANCELLED else output
        ACTION.check(action_ex.state, state)
        updated = dataclasses.replace(
            action_ex,
            state=state,
            output={"result": result},
            accepted=True,
            updated_at=self._parts.clock.now(),
        )
        self._parts.store.update(updated, ("state", "output", "accepted"))
        return updated

    def set_state(self, action_ex_id: str, state: State, origin: PushOrigin = IN_PROCESS) -> ActionExecution:
        """Pause (async actions only) or resume an action execution; recorded in its history.

        Raises:
            NotFoundError: no such action execution.
            InputError: not PAUSED or RUNNING.
            StateConflictError: it is finished, or synchronous and asked to pause.
            MaintenanceError: the service is in maintenance.
        """
        if state not in (S.PAUSED, S.RUNNING):
            raise InputError(f"an action can only be set PAUSED or RUNNING this way, not {state.value}")
        try:
            return self._tx.run(lambda work: self._set_state(work, action_ex_id, state, origin))
        except (InputError, ConflictError) as exc:  # judged, then rolled back: recorded on its own
            self._history.reject(action_ex_id, state, origin, exc.message)
            raise

    def _set_state(self, work: Work, action_ex_id: str, state: State, origin: PushOrigin) -> ActionExecution:
        # A result is kept in maintenance (as for any paused execution); a pause or resume is not.
        refuse_in_maintenance(work.store, f"setting an action execution {state.value}")
        action_ex, st = _lock_action(work, action_ex_id)
        if action_ex.state is state:
            self._history.write(action_ex_id, state, origin, REPEATED)
            return action_ex
        if is_action_finished(action_ex.state):
            raise StateConflictError(
                f"Action execution {action_ex_id} is already {action_ex.state.value}", action_ex.state.value
            )
        if state is S.PAUSED and action_ex.is_sync:
            raise StateConflictError(
                f"Action execution {action_ex_id} is synchronous: only asynchronous actions can be paused",
                action_ex.state.value,
            )
        if st is None:
            ACTION.check(action_ex.state, state)
            updated = dataclasses.replace(action_ex, state=state, updated_at=self._parts.clock.now())
            self._parts.store.update(updated, ("state",))
            self._history.write(action_ex_id, state, origin, ACCEPTED)
            return updated
        before = st.wf_ex.state
        action_ex = self._conductor.action_state_set(st, action_ex, state)
        if st.wf_ex.state is S.PAUSED and before is not S.PAUSED:
            pause_parents(work, st, self._conductor)
        elif st.wf_ex.state is S.RUNNING and before is S.PAUSED:
            resume_parents(work, st, self._conductor)
        self._history.write(action_ex_id, state, origin, ACCEPTED)
        return action_ex

    # -- reported by executors ----------------------------------------------------------
    def apply_events(self, events: Sequence[Event]) -> None:
        """Apply events from executors, many in one transaction; a failing one is retried alone."""
        handed_off = [e.action_execution_id for e in events if isinstance(e, ActionHandedOff)]
        if handed_off:
            self._parts.store.raise_dispatch(handed_off, DISPATCH_HANDED_OFF)
        completed = [e for e in events if isinstance(e, ActionCompleted)]
        if completed:
            self._tx.in_batches(
                completed,
                self._apply_completion,
                self._fail_event,
                lambda e: e.workflow_execution_id,
                lambda e: e.action_execution_id,
            )
        noticed = [e for e in events if isinstance(e, CancelNoticed)]
        if noticed:
            self._notices.record(noticed)
        sent = [e for e in events if isinstance(e, NotificationSent)]
        if sent:
            self._notifications.record(sent)

    def _apply_completion(self, work: Work, event: ActionCompleted) -> None:
        try:
            wf_id = event.workflow_execution_id
            if wf_id is None:
                wf_id = self._parts.store.get_action_execution(
                    event.action_execution_id
                ).workflow_execution_id
            st = work.state(wf_id) if wf_id else None
            action_ex = (
                work.action(st, event.action_execution_id)
                if st is not None
                else self._parts.store.get_action_execution(event.action_execution_id)
            )
        except NotFoundError:
            return  # the execution was deleted meanwhile
        if is_action_finished(action_ex.state):
            return
        if st is None:
            self._complete_orphan(action_ex, event.state, event.output)
            return
        _preload(work, st, action_ex)
        self._conductor.on_action_completed(st, action_ex, event.state, event.output, event.state_info)

    def _fail_event(self, event: ActionCompleted) -> None:
        if event.state is S.ERROR and event.state_info == INTERNAL_ERROR:
            return
        failure = ActionCompleted(
            event.action_execution_id, S.ERROR, INTERNAL_ERROR, event.workflow_execution_id, INTERNAL_ERROR
        )
        self._tx.in_batches([failure], self._apply_completion, lambda e: None)


def _lock_action(work: Work, action_ex_id: str) -> tuple[ActionExecution, ExecutionState | None]:
    """The action execution, read under the lock of its workflow execution (None: it has none).

    Both are found and locked by the action's id, in one statement.

    Raises:
        NotFoundError: no such action execution (or its workflow execution is gone).
    """
    found = work.lock_action(action_ex_id)
    if found is not None:
        st, action_ex = found
        return action_ex, st
    action_ex = work.store.get_action_execution(action_ex_id)
    if action_ex.workflow_execution_id is None:
        return action_ex, None
    st = work.state(action_ex.workflow_execution_id)  # created meanwhile, or gone: NotFoundError
    return work.action(st, action_ex_id), st


def _preload(work: Work, st: ExecutionState, action_ex: ActionExecution) -> None:
    """Load the task's other action executions if finishing this one will read them."""
    task = st.tasks.get(action_ex.task_execution_id or "")
    if task is not None and Conductor.reads_actions_of(st, task):
        work.actions_of(st, task.id)


def _repeated(action_ex: ActionExecution, state: State, output: Any) -> str | None:
    """None if this is the result already stored (idempotent); else why it is refused."""
    expected = {"result": None if state is S.CANCELLED else output}
    if action_ex.state is state and action_ex.output == expected:
        return None
    reason = f"Action execution {action_ex.id} is already {action_ex.state.value}"
    if action_ex.state_info:
        reason += f" ({action_ex.state_info})"
    return reason + "; its result cannot be changed"


def _synchronous(action_ex: ActionExecution) -> str:
    return (
        f"Action execution {action_ex.id} ({action_ex.name}) is synchronous: its executor reports its "
        "result; only an asynchronous action's result can be pushed"
    )
