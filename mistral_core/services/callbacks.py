"""Callback tokens, once minted: revocation.

Tokens are minted where actions are sent to executors (the unit of work, recovery, actions run
outside any workflow); see :mod:`mistral_core.auth.callbacks`. Revoking one makes it expire
now: it is refused from then on (401), with the time it stopped being accepted.
"""

from __future__ import annotations

import dataclasses
import logging

from mistral_core.model import ActionExecution
from mistral_core.services.unit_of_work import Parts, Transactions, Work

LOG = logging.getLogger(__name__)


class CallbackTokens:
    """Revokes the callback tokens of action executions.

    Args:
        transactions: runs the work.
        parts: the shared parts.
    """

    def __init__(self, transactions: Transactions, parts: Parts) -> None:
        self._tx = transactions
        self._parts = parts

    def revoke(self, action_ex_id: str, by: str) -> ActionExecution:
        """Stop accepting the callback token of an action execution (idempotent); the action execution.

        An action execution without a token (synchronous), or whose token expired already, is
        left as it is.

        Raises:
            NotFoundError: no such action execution.
        """
        revoked = self._tx.run(lambda work: self._revoke(work, action_ex_id))
        if revoked is not None:
            LOG.info("callback token of action execution %s revoked by %s", action_ex_id, by)
            return revoked
        return self._parts.store.get_action_execution(action_ex_id)

    def _revoke(self, work: Work, action_ex_id: str) -> ActionExecution | None:
        action_ex = work.store.get_action_execution(action_ex_id)
        st = None
        if action_ex.workflow_execution_id is not None:
            st = work.state(action_ex.workflow_execution_id)
            action_ex = work.action(st, action_ex_id)
        now = work.now
        expires_at = action_ex.callback_token_expires_at
        if action_ex.callback_token_hash is None or expires_at is None or expires_at <= now:
            return None
        if st is not None:
            return st.change(action_ex, callback_token_expires_at=now)
        revoked = dataclasses.replace(action_ex, callback_token_expires_at=now, updated_at=now)
        work.store.update(revoked, ("callback_token_expires_at",))
        return revoked
