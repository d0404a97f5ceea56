"""Maintenance mode: the service's mode, and the executions it paused (Mistral's ``/maintenance``).

The mode moves ``RUNNING`` → ``PAUSING`` (asked to pause: running executions are being paused, new
work is refused) → ``PAUSED`` (nothing runs: no running execution, no synchronous action in an
executor) → ``RUNNING`` (asked to resume: the executions it paused are resumed). It is kept in the
database, so every process of a deployment sees the same mode, and a restart keeps it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

RUNNING = "RUNNING"
PAUSING = "PAUSING"
PAUSED = "PAUSED"
#: Every mode, in Mistral's spelling.
MODES = (RUNNING, PAUSING, PAUSED)
#: The modes a user may ask for (``PAUSING`` is where ``PAUSED`` starts, never asked for).
REQUESTABLE = (RUNNING, PAUSED)
#: The id of the one row of the mode.
MODE_ID = "mode"


@dataclasses.dataclass(frozen=True, slots=True)
class MaintenanceMode:
    """The service's mode (one row, id :data:`MODE_ID`).

    Attributes:
        id: :data:`MODE_ID`.
        status: one of :data:`MODES`.
        changed_by: who asked for it last (the identity's name; empty: nobody yet).
    """

    id: str
    status: str
    changed_by: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MaintenancePause:
    """A workflow execution that maintenance paused (and will resume): its id is the execution's.

    Executions a user paused are never recorded here, so ending maintenance leaves them paused.
    """

    id: str
    created_at: dt.datetime | None = None
