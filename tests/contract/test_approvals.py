"""Approval answers and server secrets in every store: kept in order, one per responder and wait."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from mistral_core.approvals.ports import ApprovalStore
from mistral_core.errors import DuplicateError
from mistral_core.model import ApprovalResponse


def answer(wait: str, responder: str, decision: str = "approve", **fields: Any) -> ApprovalResponse:
    """An answer to ``wait``."""
    return ApprovalResponse(
        id=str(uuid.uuid4()), action_execution_id=wait, responder=responder, decision=decision, **fields
    )


def test_answers_are_kept_in_order_with_their_values(store: ApprovalStore) -> None:
    at = dt.datetime(2030, 1, 2, 3, 4, 5, 678901)
    first = answer("w1", "ana", values={"amount": 3, "note": "ok"}, via="key", created_at=at)
    store.add_approval_response(first)
    store.add_approval_response(answer("w2", "ana"))
    store.add_approval_response(answer("w1", "bob", "reject"))

    kept = store.approval_responses_of("w1")

    assert [(r.responder, r.decision) for r in kept] == [("ana", "approve"), ("bob", "reject")]
    assert kept[0] == first  # values, via and the time to the microsecond
    assert isinstance(kept[1].created_at, dt.datetime)
    assert store.approval_responses_of("nothing") == []


def test_one_answer_per_responder_and_wait(store: ApprovalStore) -> None:
    store.add_approval_response(answer("w1", "ana"))

    with pytest.raises(DuplicateError, match="ana already answered action execution w1"):
        store.add_approval_response(answer("w1", "ana", "reject"))
    assert [r.decision for r in store.approval_responses_of("w1")] == ["approve"]


def test_the_server_secret_is_made_once_and_kept(store: ApprovalStore) -> None:
    made: list[str] = []

    def make() -> str:
        made.append(f"secret-{len(made)}")
        return made[-1]

    assert store.server_secret("ui", make) == "secret-0"
    assert store.server_secret("ui", make) == "secret-0"
    assert store.server_secret("other", make) == "secret-1"
    assert made == ["secret-0", "secret-1"]
