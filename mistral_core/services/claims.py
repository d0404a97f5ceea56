"""Claims and heartbeats of executors that do not open the database (the split deployment).

Before an executor runs an action that must not run twice (or any action of a target), it
claims it: in one transaction the action execution becomes STARTED with the executor as its
runner, if it is still QUEUED — only then may the executor run it. This is the start mark of
the local transport, decided by an engine for an executor that has no database. The executor's
heartbeats keep a timer of kind ``engine`` for it, ``lease`` seconds ahead, the one engines keep
for themselves: if it dies, the timer falls due and an engine takes over what it had claimed by
the crash-recovery rules (:mod:`mistral_core.services.recovery`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from mistral_core.services.recovery import write_heartbeat
from mistral_core.services.unit_of_work import Parts


class Claims:
    """Answers claims and records heartbeats of executors, many in one transaction.

    Args:
        parts: the shared parts.
    """

    def __init__(self, parts: Parts) -> None:
        self._parts = parts
        #: When this engine last wrote each executor's heartbeat (monotonic seconds), and its lease.
        self._beaten: dict[str, tuple[float, float]] = {}

    def claim(self, requests: Sequence[tuple[str, str, float]]) -> list[bool]:
        """Claim ``(action_execution_id, executor_id, lease)`` requests, in one transaction; for
        each, whether the executor may run the action (False: it finished, or another runner
        took it, e.g. the command was delivered twice). An executor this engine has not heard of
        for half its lease gets its heartbeat timer in the same transaction, so that nothing is
        claimed by an executor whose death would go unnoticed."""
        store = self._parts.store
        by_executor: dict[str, list[str]] = {}
        for action_ex_id, executor_id, _ in requests:
            by_executor.setdefault(executor_id, []).append(action_ex_id)
        leases = {executor_id: lease for _, executor_id, lease in requests}
        taken: set[tuple[str, str]] = set()
        with store.atomic():
            for executor_id, ids in by_executor.items():
                taken.update((i, executor_id) for i in store.claim_dispatch(ids, executor_id))
            stale = {e: leases[e] for e in by_executor if self._stale(e)}
            self._write(stale)
        self._remember(stale)
        return [(action_ex_id, executor_id) in taken for action_ex_id, executor_id, _ in requests]

    def beat(self, leases: Mapping[str, float]) -> None:
        """Executors say they are alive: each one's timer moves ``lease`` seconds ahead."""
        if not leases:
            return
        with self._parts.store.atomic():
            self._write(leases)
        self._remember(leases)

    def _stale(self, executor_id: str) -> bool:
        known = self._beaten.get(executor_id)
        return known is None or time.monotonic() - known[0] > known[1] / 2

    def _write(self, leases: Mapping[str, float]) -> None:
        for executor_id, lease in leases.items():
            write_heartbeat(self._parts, executor_id, lease)

    def _remember(self, leases: Mapping[str, float]) -> None:
        now = time.monotonic()
        for executor_id, lease in leases.items():
            self._beaten[executor_id] = (now, lease)
        if len(self._beaten) > 10_000:  # executors come and go: forget the oldest
            for key in sorted(self._beaten, key=lambda k: self._beaten[k][0])[:5_000]:
                del self._beaten[key]
