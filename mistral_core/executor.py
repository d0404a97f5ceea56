"""The executor: runs one action (or delivers one notification) and says what came of it, as an
engine event.

It needs no database: a :class:`~mistral_core.model.RunAction` carries all it
needs. A sync action's result becomes :class:`ActionCompleted`; an async action
whose ``run()`` returned becomes :class:`ActionHandedOff` (the action stays
RUNNING until its result is pushed). Anything ``run()`` raises fails the action
with a one-line message; the traceback goes to the log only.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from mistral_core.actions.base import ActionContext, ExecutionContext
from mistral_core.errors import ActionError
from mistral_core.metrics.logs import reset_ids, set_ids
from mistral_core.model import (
    ActionCompleted,
    ActionHandedOff,
    CancelAction,
    CancelNoticed,
    Event,
    NotificationSent,
    Notify,
    RunAction,
    State,
)
from mistral_core.notifiers.base import DeliveryError, Notification

LOG = logging.getLogger(__name__)
#: What came of an async action whose ``run()`` returned (for ``on_run``).
HANDED_OFF = "handed-off"


class ActionBuilder(Protocol):
    """Builds an action instance from its name and input (the registry)."""

    def build(self, name: str, action_input: dict[str, Any]) -> Any:
        """The action object; ActionError if it cannot be built."""
        ...


class DynamicBuilder(Protocol):
    """Builds dynamic actions from the code their commands carry (``actions.dynamic.DynamicLoader``)."""

    def build(self, name: str, code: dict[str, Any], action_input: dict[str, Any]) -> Any:
        """The action object; ActionError if it cannot be built (import failed, class missing...)."""
        ...


class NotifierBuilder(Protocol):
    """Gives the notifier of a kind of publisher (the notifier registry)."""

    def build(self, kind: str) -> Any:
        """The notifier of ``kind``; KeyError if there is none."""
        ...


class Executor:
    """Runs actions, tells async actions they are cancelled, and delivers notifications.

    Args:
        builder: makes action objects (the action registry).
        public_url: the API's public base URL (for callback URLs in the action context).
        notifiers: gives notifiers (the notifier registry); None: no notification is delivered.
        dynamic: builds dynamic actions (None: they are off here, and their commands fail).
        on_run: told, after each action ran, what came of it (its state, or ``handed-off``) and
            the seconds it took (the metrics).
    """

    def __init__(
        self,
        builder: ActionBuilder,
        public_url: str,
        notifiers: NotifierBuilder | None = None,
        dynamic: DynamicBuilder | None = None,
        on_run: Callable[[str, float], None] | None = None,
    ) -> None:
        self._builder = builder
        self._public_url = public_url.rstrip("/")
        self._notifiers = notifiers
        self._dynamic = dynamic
        self._on_run = on_run

    def run(self, cmd: RunAction) -> Event:
        """Run ``cmd``'s action and return the event the engine must apply (lines it logs carry
        its ids)."""
        began = time.perf_counter()
        ids = set_ids(  # a token, not a with-block: this runs once per action, and costs a third
            execution_id=cmd.workflow_execution_id,
            task_id=cmd.task_execution_id,
            action_execution_id=cmd.action_execution_id,
        )
        try:
            event = self._run(cmd)
        finally:
            reset_ids(ids)
        if self._on_run is not None:
            outcome = event.state.value if isinstance(event, ActionCompleted) else HANDED_OFF
            self._on_run(outcome, time.perf_counter() - began)
        return event

    def _run(self, cmd: RunAction) -> Event:
        wf_id = cmd.workflow_execution_id
        try:
            action = self._build(cmd)
        except ActionError as exc:
            return ActionCompleted(cmd.action_execution_id, State.ERROR, str(exc), wf_id)
        try:
            result = action.run(self._context(cmd))
        except Exception as exc:  # plugin code: any failure fails the action, never the engine
            LOG.warning("action %s (%s) raised", cmd.action_name, cmd.action_execution_id, exc_info=True)
            return ActionCompleted(
                cmd.action_execution_id,
                State.ERROR,
                f"Action {cmd.action_name} failed: {_describe(exc)}",
                wf_id,
            )
        return self._outcome(cmd, result)

    def _build(self, cmd: RunAction) -> Any:
        if cmd.code is None:
            return self._builder.build(cmd.action_name, cmd.input)
        if self._dynamic is None:
            raise ActionError(
                f"Action {cmd.action_name} is a dynamic action, and dynamic actions are off on this executor"
            )
        return self._dynamic.build(cmd.action_name, cmd.code, cmd.input)

    def cancel(self, cmd: CancelAction) -> CancelNoticed:
        """Tell an async action its work is no longer wanted: its ``cancel(context)``, if it has one
        (``context.cancel_reason`` says why). What came of it, for the engine to record and, if it
        failed, to try again later."""
        noticed = functools.partial(
            CancelNoticed,
            cmd.action_execution_id,
            cmd.attempt,
            reason=cmd.reason,
            workflow_execution_id=cmd.workflow_execution_id,
        )
        try:
            action = self._builder.build(cmd.action_name, cmd.input)
            cancel = getattr(action, "cancel", None)
            if not callable(cancel):
                return noticed(None)
            told = cancel(dataclasses.replace(self._context(cmd), cancel_reason=cmd.reason))
        except Exception as exc:  # plugin code: a failing cancel is logged and tried again later
            LOG.warning(
                "cancel() of action %s (%s) failed", cmd.action_name, cmd.action_execution_id, exc_info=True
            )
            return noticed(False, detail=f"cancel() failed: {_describe(exc)}")
        return noticed(None if told is False else True)  # False: there was nobody to tell

    def notify(self, cmd: Notify) -> NotificationSent:
        """Try one delivery of a notification; what came of it, for the engine to record (and, if
        it failed, to try again later)."""
        kind = str(cmd.publisher.get("type"))
        try:
            if self._notifiers is None:
                raise KeyError(kind)
            notifier = self._notifiers.build(kind)
        except KeyError:
            return NotificationSent(cmd, False, f"no notifier of type {kind!r} is installed here")
        notification = Notification(cmd.delivery_id, cmd.attempt, cmd.event, cmd.body, cmd.publisher)
        try:
            notifier.publish(notification)
        except DeliveryError as exc:
            return NotificationSent(cmd, False, _describe(exc), exc.retry, exc.retry_after)
        except Exception as exc:  # plugin code: a failing publish is logged and tried again later
            LOG.warning("notifier %s failed on %s", kind, cmd.delivery_id, exc_info=True)
            return NotificationSent(cmd, False, f"{kind} failed: {_describe(exc)}")
        return NotificationSent(cmd, True)

    def _context(self, cmd: RunAction | CancelAction) -> ActionContext:
        return ActionContext(
            execution=ExecutionContext(
                workflow_name=getattr(cmd, "workflow_name", None),
                workflow_execution_id=cmd.workflow_execution_id,
                task_execution_id=cmd.task_execution_id,
                action_execution_id=cmd.action_execution_id,
                callback_url=self._public_url,
                action_execution_url=f"{self._public_url}/v2/action_executions/{cmd.action_execution_id}",
                callback_token=getattr(cmd, "callback_token", None),
            )
        )

    def _outcome(self, cmd: RunAction, result: Any) -> Event:
        ident, wf_id = cmd.action_execution_id, cmd.workflow_execution_id
        if _is_result_object(result):
            if result.is_error() if callable(getattr(result, "is_error", None)) else result.error is not None:
                return ActionCompleted(ident, State.ERROR, _jsonable(result.error), wf_id)
            if getattr(result, "cancel", False):
                return ActionCompleted(ident, State.CANCELLED, None, wf_id)
            result = result.data
        if not cmd.is_sync:
            return ActionHandedOff(ident, wf_id)
        if not _is_json(result):
            return ActionCompleted(
                ident,
                State.ERROR,
                f"The result of action {cmd.action_name} is not JSON-serialisable ({type(result).__name__})",
                wf_id,
            )
        return ActionCompleted(ident, State.SUCCESS, result, wf_id)


def _is_result_object(value: Any) -> bool:
    return hasattr(value, "data") and hasattr(value, "error") and hasattr(value, "cancel")


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _jsonable(value: Any) -> Any:
    return value if _is_json(value) else str(value)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
