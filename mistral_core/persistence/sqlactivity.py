"""What is going on now, in SQL: one statement for the metrics endpoint.

The statement reads unfinished records only, each part through an index: workflow executions
by their ``state`` index; task executions of unfinished workflow executions through their
``workflow_execution_id`` index; action executions in flight through the partial index of
unfinished action executions; due timers through the ``(due_at, seq)`` index. Its cost follows
the work in progress, whatever the number of finished records
(``tests/contract/test_activity.py`` checks the plans; docs/operations.md gives the figures).
"""

from __future__ import annotations

import datetime as dt

from mistral_core.model.activity import (
    ACTION,
    ACTIVE_TASK_STATES,
    ACTIVE_WORKFLOW_STATES,
    TASK,
    TIMERS_DUE,
    WORKFLOW,
    Activity,
)
from mistral_core.persistence.columns import ACTION_EXECUTIONS, TASK_EXECUTIONS, TIMERS, WORKFLOW_EXECUTIONS
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote
from mistral_core.persistence.tables import UNFINISHED_ACTIONS


def _literals(states: tuple[str, ...]) -> str:
    return ", ".join(f"'{state}'" for state in states)  # our own constants: literals keep the plans


def activity_statement() -> str:
    """The text of the activity statement (``?``: now, for the due timers)."""
    wfs, tasks = quote(WORKFLOW_EXECUTIONS.name), quote(TASK_EXECUTIONS.name)
    actions, timers = quote(ACTION_EXECUTIONS.name), quote(TIMERS.name)
    active_wf = f'"state" IN ({_literals(ACTIVE_WORKFLOW_STATES)})'
    # The actions' part first: its min("created_at") gives the last column its type (PostgreSQL
    # types a UNION's columns from left to right, and a bare NULL first would make it text).
    return (
        f'SELECT \'{ACTION}\', "state", CASE WHEN "is_sync" THEN 1 ELSE 0 END, count(*), '
        f'min("created_at") FROM {actions} WHERE {UNFINISHED_ACTIONS} GROUP BY "state", "is_sync" '
        f"UNION ALL SELECT '{WORKFLOW}', \"state\", 0, count(*), NULL FROM {wfs} WHERE {active_wf} "
        'GROUP BY "state" '
        f"UNION ALL SELECT '{TASK}', t.\"state\", 0, count(*), NULL FROM {wfs} w "
        f'JOIN {tasks} t ON t."workflow_execution_id" = w."id" '
        f'WHERE w.{active_wf} AND t."state" IN ({_literals(ACTIVE_TASK_STATES)}) GROUP BY t."state" '
        f"UNION ALL SELECT '{TIMERS_DUE}', '', 0, count(*), min(\"due_at\") FROM {timers} "
        'WHERE "due_at" <= ?'
    )


class SqlActivity(SqlBase):
    """The activity method of :class:`~mistral_core.persistence.sql.SqlStore`."""

    def _statement_texts(self) -> dict[str, str]:
        return {**super()._statement_texts(), "activity": activity_statement()}

    def activity(self, now: dt.datetime) -> Activity:
        """The unfinished records by state, the waits and the timers due at ``now`` (one statement)."""
        encode, decode = self._dialect.datetime_in, self._dialect.datetime_out
        rows = self._all(self._sql["activity"], (encode(now) if encode else now,))
        return Activity.of(
            (str(kind), str(state), is_sync, int(count), decode(oldest) if decode and oldest else oldest)
            for kind, state, is_sync, count, oldest in rows
        )
