"""What approvals need from storage: :class:`ApprovalStore`.

Both stores (:class:`~mistral_core.persistence.MemoryStore` and
:class:`~mistral_core.persistence.SqlStore`) provide it, tested by one contract suite
(``tests/contract/test_approvals.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from mistral_core.model import ApprovalResponse


class ApprovalStore(Protocol):
    """Durable answers to approvals, and the server's own secrets.

    Every method may raise :class:`~mistral_core.errors.StoreError` when the database fails.
    """

    def add_approval_response(self, response: ApprovalResponse) -> None:
        """Keep an answer (inside the caller's transaction, if any).

        Raises:
            DuplicateError: this responder answered this wait already.
        """
        ...

    def approval_responses_of(self, action_ex_id: str) -> list[ApprovalResponse]:
        """The answers to one wait, in the order they were kept."""
        ...

    def server_secret(self, name: str, make: Callable[[], str]) -> str:
        """The secret called ``name``; the first call anywhere keeps ``make()``, later calls (in any
        process) get that same value."""
        ...
