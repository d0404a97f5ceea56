"""Approval responses and server secrets in memory: the twin of :mod:`.sqlapprovals`."""

from __future__ import annotations

from collections.abc import Callable

from mistral_core.model import ApprovalResponse, ServerSecret
from mistral_core.persistence.approvals import answered
from mistral_core.persistence.columns import APPROVAL_RESPONSES, SERVER_SECRETS
from mistral_core.persistence.memorybase import MemoryBase

_WAIT = APPROVAL_RESPONSES.index_of("action_execution_id")
_RESPONDER = APPROVAL_RESPONSES.index_of("responder")


class MemoryApprovals(MemoryBase):
    """The approval methods of :class:`~mistral_core.persistence.memory.MemoryStore`
    (:class:`~mistral_core.approvals.ports.ApprovalStore`)."""

    def add_approval_response(self, response: ApprovalResponse) -> None:
        """Keep an answer; DuplicateError if this responder answered this wait already."""
        row = self._codecs[APPROVAL_RESPONSES.name].insert_row(response, self._clock.now)
        with self._lock:
            rows = self._rows[APPROVAL_RESPONSES.name]
            for _, other in rows.values():
                if other[_WAIT] == response.action_execution_id and other[_RESPONDER] == response.responder:
                    raise answered(response)
            self._put(rows, response.id, (next(self._seq), row))

    def approval_responses_of(self, action_ex_id: str) -> list[ApprovalResponse]:
        """The answers to one wait, in the order they were kept."""
        codec = self._codecs[APPROVAL_RESPONSES.name]
        with self._lock:
            entries = sorted(
                e for e in self._rows[APPROVAL_RESPONSES.name].values() if e[1][_WAIT] == action_ex_id
            )
        return [codec.record(row) for _, row in entries]

    def server_secret(self, name: str, make: Callable[[], str]) -> str:
        """The secret called ``name``, made by ``make()`` and kept the first time it is asked for."""
        with self._lock:
            rows = self._rows[SERVER_SECRETS.name]
            if name not in rows:
                row = self._codecs[SERVER_SECRETS.name].insert_row(
                    ServerSecret(name, make()), self._clock.now
                )
                self._put(rows, name, (next(self._seq), row))
            secret: ServerSecret = self._codecs[SERVER_SECRETS.name].record(rows[name][1])
        return secret.value
