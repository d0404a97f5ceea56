"""Approval responses and server secrets, what both stores share: the errors' messages."""

from __future__ import annotations

from mistral_core.errors import DuplicateError
from mistral_core.model import ApprovalResponse


def answered(response: ApprovalResponse) -> DuplicateError:
    """The error of a second answer of one responder to one wait."""
    return DuplicateError(
        f"{response.responder} already answered action execution {response.action_execution_id}"
    )
