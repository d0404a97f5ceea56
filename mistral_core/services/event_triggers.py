"""Event triggers: created, changed and deleted by users; fired by messages on the broker.

A trigger belongs to the project of whoever created it; the executions it starts belong there
too, its workflow resolved for that project (as a cron trigger's). :meth:`EventTriggers.fire`
starts one execution per message and trigger, exactly once: the record of the message
(:class:`~mistral_core.model.event_triggers.EventMessage`) is written in the transaction that
creates the execution, so a message delivered again (its first consumer died before
acknowledging it) finds the record and starts nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
from typing import Any

from mistral_core.errors import InputError, MistralError, NotFoundError
from mistral_core.model import DEFAULT_PROJECT, EVERY_PROJECT, Query, Viewer
from mistral_core.model.event_triggers import (
    EventMessage,
    EventTrigger,
    Notification,
    event_name_error,
    message_key,
    routing_name_error,
    trigger_name_error,
)
from mistral_core.model.maintenance import RUNNING
from mistral_core.services.definitions import check_owner
from mistral_core.services.launcher import Launcher
from mistral_core.services.unit_of_work import Parts, Transactions, Work

LOG = logging.getLogger(__name__)

#: What ``PUT /v2/event_triggers/<id>`` may change (Mistral's rule: not exchange, topic or event).
UPDATABLE = ("name", "workflow_input", "workflow_params", "scope")


class Outcome(enum.Enum):
    """What came of a message for one trigger."""

    STARTED = "started"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    FAILED = "failed"
    HELD = "held"  #: in maintenance: nothing recorded or started; deliver it again once it ends


class EventTriggers:
    """Event triggers, and the executions messages start through them.

    Args:
        transactions: runs the work.
        parts: the shared parts.
        launcher: checks and starts executions.
    """

    def __init__(self, transactions: Transactions, parts: Parts, launcher: Launcher) -> None:
        self._tx = transactions
        self._parts = parts
        self._launcher = launcher

    def create(
        self,
        name: str,
        workflow_id: str,
        exchange: str,
        topic: str,
        event: str,
        workflow_input: dict[str, Any] | None = None,
        workflow_params: dict[str, Any] | None = None,
        viewer: Viewer = EVERY_PROJECT,
    ) -> EventTrigger:
        """Create a trigger of ``viewer``'s project; its workflow one that project sees.

        Raises:
            InputError: a bad exchange, topic or event name; input or params the workflow refuses.
            NotFoundError: no such workflow.
            DuplicateError: the project has a trigger of that exchange, topic, event and workflow.
        """
        for problem in (
            routing_name_error("exchange", exchange),
            routing_name_error("topic", topic),
            event_name_error(event),
            trigger_name_error(name),
        ):
            if problem is not None:
                raise InputError(problem)
        project = Viewer(viewer.project)
        wf_def = self._check_workflow(workflow_id, workflow_input or {}, workflow_params or {}, project)
        now = self._parts.clock.now()
        trigger = EventTrigger(
            id=self._parts.new_id(),
            name=name,
            workflow_id=wf_def.id,
            exchange=exchange,
            topic=topic,
            event=event,
            workflow_input=workflow_input or {},
            workflow_params=workflow_params or {},
            project_id=viewer.project,
            created_at=now,
        )
        self._parts.store.create_event_trigger(trigger)
        return trigger

    def update(
        self, trigger_id: str, changes: dict[str, Any], viewer: Viewer = EVERY_PROJECT
    ) -> EventTrigger:
        """Change a trigger's name, workflow input, params or scope (checked against its workflow).

        Raises:
            InputError: another field, a bad scope, input or params the workflow refuses.
            NotFoundError: no such trigger that ``viewer`` sees.
            Forbidden: another project's trigger.
        """
        refused = sorted(set(changes) - set(UPDATABLE))
        if refused:
            raise InputError(f"Can not update fields {refused} of event trigger (only {list(UPDATABLE)})")
        name_problem = trigger_name_error(changes.get("name"))
        if name_problem is not None:
            raise InputError(name_problem)
        if changes.get("scope", "private") not in ("private", "public"):
            raise InputError(
                f"Invalid input for field 'scope': {changes['scope']!r} is not private or public"
            )
        store = self._parts.store
        with store.atomic():
            trigger = store.get_event_trigger(trigger_id, viewer)
            check_owner(viewer, trigger)
            updated = dataclasses.replace(trigger, **changes, updated_at=self._parts.clock.now())
            self._check_workflow(
                trigger.workflow_id,
                updated.workflow_input,
                updated.workflow_params,
                Viewer(trigger.project_id),
            )
            store.update_event_trigger(updated, tuple(changes))
        return updated

    def delete(self, trigger_id: str, viewer: Viewer = EVERY_PROJECT) -> None:
        """Delete a trigger (its listeners stop at their next look at the triggers).

        Raises:
            NotFoundError: no such trigger that ``viewer`` sees.
            Forbidden: another project's trigger.
        """
        store = self._parts.store
        with store.atomic():
            trigger = store.get_event_trigger(trigger_id, viewer)
            check_owner(viewer, trigger)
            store.delete_event_trigger(trigger.id)

    def all(self) -> list[EventTrigger]:
        """Every trigger of every project (what the listeners listen for)."""
        return self._parts.store.list_event_triggers(Query(sort=(("id", "asc"),)))

    def forget_messages(self, older_than: dt.timedelta) -> int:
        """Forget the messages taken more than ``older_than`` ago (one sent again after that starts
        its workflow again); how many."""
        return self._parts.store.forget_event_messages(self._parts.clock.now() - older_than)

    def fire(self, trigger_id: str, notification: Notification) -> Outcome:
        """Start the trigger's workflow for this message, unless it did before (exactly once);
        in maintenance start nothing and record nothing (:attr:`Outcome.HELD`), as cron firings wait.

        Raises:
            TransientStoreError: the database is unavailable (nothing written: deliver it again).
        """
        try:
            trigger = self._parts.store.get_event_trigger(trigger_id)
        except NotFoundError:
            return Outcome.IGNORED  # deleted since the listener last looked
        if not _takes(trigger, notification):
            return Outcome.IGNORED
        key = message_key(trigger.id, notification.message_id)
        if self._parts.store.get_event_message(key) is not None:
            return Outcome.DUPLICATE
        try:
            launch = self._launch(trigger, notification)
        except MistralError as exc:
            LOG.warning(
                "event trigger %s could not start workflow %s: %s", trigger.id, trigger.workflow_id, exc
            )
            return Outcome.FAILED
        ex_id = self._parts.new_id()

        def body(work: Work) -> Outcome:
            if work.store.maintenance_mode().status != RUNNING:  # read where the start is written
                return Outcome.HELD
            taken = EventMessage(key, trigger.id, notification.message_id, ex_id, work.now)
            if not work.store.take_event_message(taken):
                return Outcome.DUPLICATE
            self._launcher.start(work, launch, _description(trigger), ex_id)
            return Outcome.STARTED

        return self._tx.run(body)

    def _launch(self, trigger: EventTrigger, notification: Notification) -> Any:
        project = Viewer(trigger.project_id)
        wf_def, _ = self._parts.definitions.resolve_workflow(trigger.workflow_id, viewer=project)
        params = {**trigger.workflow_params, "event_params": notification.event_params}
        return self._launcher.check(
            trigger.workflow_id, wf_def.namespace, trigger.workflow_input, params, viewer=project
        )

    def _check_workflow(
        self, workflow_id: str, wf_input: dict[str, Any], params: dict[str, Any], project: Viewer
    ) -> Any:
        wf_def, spec = self._parts.definitions.resolve_workflow(workflow_id, viewer=project)
        self._launcher.check_input(spec, wf_input)
        self._launcher.check_params(spec, {"env": {}, **params}, project)
        return wf_def


def _takes(trigger: EventTrigger, notification: Notification) -> bool:
    """Whether the trigger takes the message: its event type, and (as Mistral's event engine) a
    private trigger of a project only the events of that project."""
    if notification.event_type != trigger.event:
        return False
    if trigger.scope == "public" or trigger.project_id == DEFAULT_PROJECT:
        return True
    return bool(notification.event_params.get("project_id") == trigger.project_id)


def _description(trigger: EventTrigger) -> str:
    """Mistral's description of an execution an event trigger started."""
    return json.dumps(
        {
            "description": f"Workflow execution created by event trigger '({trigger.id})'.",
            "triggered_by": {"type": "event_trigger", "id": trigger.id, "name": trigger.name},
        }
    )
