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

from mistral_core.engine.conductor import Conductor
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
from mistral_core.services.unit_of_work import Parts

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
                commands.append(Conductor.command_for(action_ex))
                rerun += bool(action_ex.params.get("safe_rerun"))
            else:
                in_doubt.append(_in_doubt(action_ex))
        if in_doubt:
            self._results.apply_events(in_doubt)
        runner = self._parts.runner
        if commands and runner is not None:
            self._claim([c.action_execution_id for c in commands])
            runner.submit(commands)
        return Recovered(rerun=rerun, started=len(commands) - rerun, in_doubt=len(in_doubt))

    def _claim(self, action_ex_ids: list[str]) -> None:
        """Make this engine the runner of action executions it is about to run again."""
        store = self._parts.store
        with store.atomic():
            for action_ex_id in action_ex_ids:
                action_ex = store.get_action_execution(action_ex_id)
                store.update(dataclasses.replace(action_ex, runner_id=self._parts.engine_id), ("runner_id",))

    def heartbeat(self) -> None:
        """Say this engine is alive: its own timer moves ``ENGINE_TIMEOUT`` ahead. If the engine
        dies, the timer falls due and another engine takes over its unfinished actions."""
        parts = self._parts
        now = parts.clock.now()
        with parts.store.atomic():
            parts.store.delete_timers(parts.engine_id, "engine")
            parts.store.insert_timer(
                Timer(
                    id=parts.new_id(),
                    due_at=now + ENGINE_TIMEOUT,
                    kind="engine",
                    target_id=parts.engine_id,
                    created_at=now,
                )
            )

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


def _in_doubt(action_ex: ActionExecution) -> ActionCompleted:
    message = (
        f"The server stopped while action {action_ex.name} was running: it may or may not "
        "have done its work, and its task is not marked safe-rerun, so it was not run again"
    )
    return ActionCompleted(action_ex.id, State.ERROR, message, action_ex.workflow_execution_id, message)
