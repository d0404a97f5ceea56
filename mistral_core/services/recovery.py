"""Recovery: what a stop or a dead engine left unfinished, and the heartbeats that tell who is dead.

Nothing waits in memory for an async action: its row says RUNNING and
``dispatch = handed off``, and it keeps waiting. Action executions decided but
never started are run; those safe to re-run are run again; those that started
and are not safe to re-run are in doubt and fail with a message saying so —
never run twice. After a restart of the only engine (SQLite) every unfinished
action execution is looked at; when an engine dies (its heartbeat timer fell
due), exactly one other engine takes over only that engine's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from mistral_core.auth.callbacks import mint
from mistral_core.engine.conductor import Conductor
from mistral_core.engine.dynamic import PARAM as DYNAMIC_PARAM
from mistral_core.model import (
    DISPATCH_HANDED_OFF,
    DISPATCH_QUEUED,
    ActionCompleted,
    ActionExecution,
    RunAction,
    State,
    Timer,
)
from mistral_core.services.results import Results
from mistral_core.services.unit_of_work import Parts, refresh_catalog

LOG = logging.getLogger(__name__)

#: An engine that has not heart-beaten for this long is dead: another takes over its actions.
ENGINE_TIMEOUT = dt.timedelta(seconds=120)


@dataclasses.dataclass(frozen=True)
class Recovered:
    """What a recovery did: action executions run again, started, and failed as in doubt."""

    #: Safe to re-run, so run again (whether they had started or not: their start is not recorded);
    #: an asynchronous one among them simply waits again.
    rerun: int = 0
    #: Not safe to re-run, decided but never started: started now.
    started: int = 0
    #: Started, not safe to re-run, unfinished: failed (they may or may not have done their work).
    in_doubt: int = 0

    @property
    def total(self) -> int:
        """How many action executions were touched."""
        return self.rerun + self.started + self.in_doubt

    def log(self, logger: logging.Logger, after: str) -> None:
        """Say what was done: normal waits and restarts at INFO, failures in doubt at WARNING."""
        if self.rerun or self.started:
            logger.info(
                "after %s: %d action execution(s) run again (safe to re-run; asynchronous ones wait "
                "for their result again), %d never started now started",
                after,
                self.rerun,
                self.started,
            )
        if self.in_doubt:
            logger.warning(
                "after %s: %d action execution(s) failed: they were running, may or may not have done "
                "their work, and are not safe to re-run",
                after,
                self.in_doubt,
            )


class Recovery:
    """Recovers unfinished actions; keeps this engine's heartbeat; takes over dead engines' actions.

    Args:
        parts: the shared parts.
        results: applies the failures of actions in doubt.
    """

    def __init__(self, parts: Parts, results: Results) -> None:
        self._parts = parts
        self._results = results

    def recover(self, runner_id: str | None = None) -> Recovered:
        """Re-run what never started or is safe to re-run; fail what is in doubt.

        After a restart of the only engine (``runner_id`` None: every unfinished action
        execution), or when an engine died (``runner_id``: only the ones it ran). Handed-off
        async actions keep waiting (untouched).
        """
        commands: list[RunAction] = []
        in_doubt: list[ActionCompleted] = []
        rerun = 0
        for action_ex in self._parts.store.unfinished_action_executions():
            if action_ex.state is State.IDLE or action_ex.dispatch == DISPATCH_HANDED_OFF:
                continue
            if runner_id is not None and action_ex.runner_id != runner_id:
                continue
            if action_ex.params.get("safe_rerun") or action_ex.dispatch == DISPATCH_QUEUED:
                commands.append(self._command(action_ex))
                rerun += bool(action_ex.params.get("safe_rerun"))
            else:
                in_doubt.append(_in_doubt(action_ex))
        if in_doubt:
            self._results.apply_events(in_doubt)
        runner = self._parts.runner
        if commands and runner is not None:
            runner.submit(self._claim(commands))
        return Recovered(rerun=rerun, started=len(commands) - rerun, in_doubt=len(in_doubt))

    def _command(self, action_ex: ActionExecution) -> RunAction:
        """The command that runs ``action_ex`` again; a dynamic action's with its code as the store has
        it now (the snapshot brought up to date first)."""
        command = Conductor.command_for(action_ex)
        if DYNAMIC_PARAM not in action_ex.params:
            return command
        refresh_catalog(self._parts.store, self._parts.catalog)
        return self._parts.catalog.attach_code(command, action_ex.params)

    def _claim(self, commands: list[RunAction]) -> list[RunAction]:
        """Make this engine the runner of action executions it is about to run again; the commands to send.

        An asynchronous one gets a new callback token (the secret of the last one left with the
        process that sent it): the last one stops being accepted.
        """
        parts = self._parts
        store, now = parts.store, parts.clock.now()
        claimed: list[RunAction] = []
        with store.atomic():
            for command in commands:
                action_ex = store.get_action_execution(command.action_execution_id)
                # QUEUED again: the executor that takes it claims it anew (a safe one was STARTED).
                fields: dict[str, Any] = {"runner_id": parts.engine_id, "dispatch": DISPATCH_QUEUED}
                if not command.is_sync:
                    token = mint(now, parts.callback_token_max_age)
                    fields.update(callback_token_hash=token.hash, callback_token_expires_at=token.expires_at)
                    command = dataclasses.replace(command, callback_token=token.secret)
                store.update(dataclasses.replace(action_ex, **fields), tuple(fields))
                claimed.append(command)
        return claimed

    def heartbeat(self) -> None:
        """Say this engine is alive: its own timer moves ``engine_lease`` ahead (default
        :data:`ENGINE_TIMEOUT`). If the engine dies, the timer falls due and another engine takes
        over its unfinished actions."""
        parts = self._parts
        with parts.store.atomic():
            write_heartbeat(parts, parts.engine_id, parts.engine_lease.total_seconds())

    def stop_heartbeat(self) -> None:
        """This engine stops cleanly, leaving nothing running: no other engine must take over."""
        parts = self._parts
        with parts.store.atomic():
            parts.store.delete_timers(parts.engine_id, "engine")

    def take_over(self, timer: Timer) -> None:
        """An engine's heartbeat timer fell due: take over its actions (if no one else did)."""
        if not self._parts.store.delete_timer(timer.id):
            return  # taken over by another engine already
        if timer.target_id == self._parts.engine_id:
            self.heartbeat()  # we are alive, only late
            return
        recovered = self.recover(runner_id=timer.target_id)
        level = logging.WARNING if recovered.total else logging.INFO
        LOG.log(
            level,
            "engine %s stopped heart-beating: took over %d of its action execution(s)",
            timer.target_id,
            recovered.total,
        )
        recovered.log(LOG, f"engine {timer.target_id} stopped")


def write_heartbeat(parts: Parts, runner_id: str, lease: float) -> None:
    """Inside a transaction: ``runner_id``'s heartbeat timer (kind ``engine``), ``lease`` seconds
    ahead. An engine's, an API worker's or an executor's: when it falls due, another engine takes
    over what that runner had dispatched or claimed."""
    now = parts.clock.now()
    parts.store.delete_timers(runner_id, "engine")
    parts.store.insert_timer(
        Timer(
            id=parts.new_id(),
            due_at=now + dt.timedelta(seconds=lease),
            kind="engine",
            target_id=runner_id,
            created_at=now,
        )
    )


def _in_doubt(action_ex: ActionExecution) -> ActionCompleted:
    message = (
        f"The server stopped while action {action_ex.name} was running: it may or may not "
        "have done its work, and its task is not marked safe-rerun, so it was not run again"
    )
    return ActionCompleted(action_ex.id, State.ERROR, message, action_ex.workflow_execution_id, message)
