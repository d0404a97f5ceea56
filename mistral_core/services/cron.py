"""Cron triggers: created and deleted by users, fired by the scheduler through durable timers.

A trigger belongs to the project of whoever created it; the executions it starts belong there too,
and its workflow (and named environment) are resolved for that project: its own, or public ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any

from mistral_core.engine.ports import CronSchedule
from mistral_core.errors import InputError, MistralError, NotFoundError
from mistral_core.model import EVERY_PROJECT, CronTrigger, Timer, Viewer
from mistral_core.model.maintenance import RUNNING
from mistral_core.services.definitions import check_owner
from mistral_core.services.launcher import Launcher
from mistral_core.services.unit_of_work import Parts, Work

LOG = logging.getLogger(__name__)

#: How long a firing held by maintenance waits before it looks at the mode again.
HELD_FOR = dt.timedelta(seconds=15)


class CronTriggers:
    """Cron triggers: one execution per firing, each firing a durable timer applied exactly once.

    Args:
        parts: the shared parts.
        launcher: starts the executions.
        cron: crontab arithmetic (None: cron triggers are not available).
    """

    def __init__(self, parts: Parts, launcher: Launcher, cron: CronSchedule | None) -> None:
        self._parts = parts
        self._launcher = launcher
        self._cron = cron

    def create(
        self,
        name: str,
        workflow: str,
        pattern: str | None = None,
        workflow_input: dict[str, Any] | None = None,
        workflow_params: dict[str, Any] | None = None,
        first_execution_time: dt.datetime | None = None,
        remaining_executions: int | None = None,
        namespace: str = "",
        viewer: Viewer = EVERY_PROJECT,
    ) -> CronTrigger:
        """Create a cron trigger of ``viewer``'s project (validated: workflow, input, pattern, times,
        count); its workflow is one that project sees (its own or a public one), as when it fires.

        Raises:
            InputError: a bad pattern, a time in the past, a count below 1, bad input.
            NotFoundError: no such workflow.
            DuplicateError: the name exists.
        """
        cron = self._schedule()
        if not pattern and first_execution_time is None:
            raise InputError("a cron trigger needs a pattern, a first_execution_time, or both")
        if pattern:
            cron.validate(pattern)
        if remaining_executions is not None and remaining_executions < 1:
            raise InputError(f"remaining_executions must be at least 1, not {remaining_executions}")
        now = self._parts.clock.now()
        if first_execution_time is not None and first_execution_time < now:
            raise InputError(f"first_execution_time {first_execution_time:%Y-%m-%d %H:%M} is in the past")
        project = Viewer(viewer.project)
        wf_def, spec = self._parts.definitions.resolve_workflow(workflow, namespace, viewer=project)
        self._launcher.check_input(spec, workflow_input or {})
        self._launcher.check_params(spec, {"env": {}, **(workflow_params or {})}, project)
        if remaining_executions is None and not pattern:
            remaining_executions = 1
        trigger = CronTrigger(
            id=self._parts.new_id(),
            name=name,
            workflow_name=wf_def.name,
            workflow_id=wf_def.id,
            pattern=pattern,
            next_execution_time=first_execution_time or cron.next_after(str(pattern), now),
            workflow_input=workflow_input or {},
            workflow_params=workflow_params or {},
            first_execution_time=first_execution_time,
            remaining_executions=remaining_executions,
            project_id=viewer.project,
            created_at=now,
        )
        store = self._parts.store
        with store.atomic():
            store.create_cron_trigger(trigger)
            store.insert_timer(self._timer(trigger))
        if self._parts.timer_listener is not None:
            self._parts.timer_listener(trigger.next_execution_time)
        return trigger

    def delete(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> None:
        """Delete a cron trigger (and its pending firing).

        Raises:
            NotFoundError: no such trigger that ``viewer`` sees.
            Forbidden: another project's trigger.
        """
        store = self._parts.store
        with store.atomic():
            trigger = store.get_cron_trigger(identifier, viewer)
            check_owner(viewer, trigger)
            store.delete_cron_trigger(trigger.id)
            store.delete_timers(trigger.id, "cron")

    def fire(self, work: Work, timer: Timer) -> None:
        """A trigger's timer fell due: start its workflow, and set the next firing (or end it).

        In maintenance the firing waits, as in Mistral: nothing starts and the trigger stays as it is
        (its count too); the timer is set again :data:`HELD_FOR` later, until maintenance has ended
        and the firing happens — once, however many firings the pattern had meanwhile.
        """
        try:
            trigger = work.store.get_cron_trigger(timer.target_id)
        except NotFoundError:
            return
        mode = work.store.maintenance_mode().status
        if mode != RUNNING:
            LOG.info("cron trigger %s: firing held, the service is in maintenance (%s)", trigger.name, mode)
            held = dataclasses.replace(self._timer(trigger), due_at=self._parts.clock.now() + HELD_FOR)
            work.store.insert_timer(held)
            return
        triggered_by = {"type": "cron_trigger", "id": trigger.id, "name": trigger.name}
        description = json.dumps({"triggered_by": triggered_by})
        project = Viewer(trigger.project_id)
        try:
            wf_def, _ = self._parts.definitions.resolve_workflow(trigger.workflow_id, viewer=project)
            launch = self._launcher.check(
                trigger.workflow_id,
                wf_def.namespace,
                trigger.workflow_input,
                trigger.workflow_params,
                viewer=project,
            )
            self._launcher.start(work, launch, description)
        except MistralError as exc:
            LOG.warning(
                "cron trigger %s could not start workflow %s: %s", trigger.name, trigger.workflow_name, exc
            )
        self._advance(trigger)

    def _advance(self, trigger: CronTrigger) -> None:
        store, now = self._parts.store, self._parts.clock.now()
        remaining = None if trigger.remaining_executions is None else trigger.remaining_executions - 1
        if remaining == 0 or not trigger.pattern or self._cron is None:
            store.delete_cron_trigger(trigger.id)
            return
        nxt = self._cron.next_after(trigger.pattern, max(now, trigger.next_execution_time))
        updated = dataclasses.replace(
            trigger, next_execution_time=nxt, remaining_executions=remaining, updated_at=now
        )
        store.update_cron_trigger(updated, ("next_execution_time", "remaining_executions"))
        store.insert_timer(self._timer(updated))

    def _timer(self, trigger: CronTrigger) -> Timer:
        return Timer(
            id=self._parts.new_id(),
            due_at=trigger.next_execution_time,
            kind="cron",
            target_id=trigger.id,
            created_at=self._parts.clock.now(),
        )

    def _schedule(self) -> CronSchedule:
        if self._cron is None:
            raise InputError("cron triggers are not available: the engine has no cron schedule")
        return self._cron
