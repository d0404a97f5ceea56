"""std.approval over the engine (in memory): answers kept, quorums, the decision through the result path."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mistral_core.approvals.request import ApprovalRequest, decide, form_errors, parse
from mistral_core.approvals.service import Approvals, FormInvalid, Responder, human_waits
from mistral_core.errors import ConflictError, Forbidden, InputError, NotFoundError, UnacceptableResult
from mistral_core.model import ApprovalResponse
from mistral_core.testing import TestEngine

WF = """\
version: '2.0'
release:
  input:
    - approvals: 1
  output:
    decision: <% $.decision %>
    values: <% $.values %>
  tasks:
    ask:
      action: std.approval
      input:
        title: Ship 1.2?
        description: "**Release** notes"
        form:
          type: object
          required: [reason]
          properties:
            reason: {type: string, minLength: 3}
            risk: {type: integer, minimum: 1, maximum: 5}
        required_approvals: <% $.approvals %>
        assignees: [ops, alice]
      publish:
        decision: <% task().result.decision %>
        values: <% task().result.values %>
"""


@pytest.fixture
def t() -> TestEngine:
    engine = TestEngine()
    engine.engine.definitions.create_workflows(WF)
    return engine


def approvals(t: TestEngine) -> Approvals:
    names = human_waits(t.engine.catalog.python_actions())
    return Approvals(t.store, t.engine.results, names, t.clock, lambda: str(uuid.uuid4()))


def person(name: str, role: str = "operator", *groups: str) -> Responder:
    return Responder(name, "key", role, tuple(groups), checked=True)


def test_std_approval_is_a_human_wait_and_its_answer_moves_the_workflow_on(t: TestEngine) -> None:
    ex = t.run("release")
    wait_id = t.running_action(ex.id, "ask")
    service = approvals(t)

    wait = service.respond(wait_id, person("alice"), "approve", {"reason": "tested", "risk": 2})
    t.runner.drain()

    assert not wait.open
    assert wait.result is not None and wait.result["decision"] == "approve"
    done = t.execution(ex.id)
    assert done.state.value == "SUCCESS"
    assert done.output == {"decision": "approve", "values": {"reason": "tested", "risk": 2}}
    responders = wait.result["responders"]
    assert [(r["by"], r["decision"]) for r in responders] == [("alice", "approve")]
    assert responders[0]["at"].startswith("2030-01-01T12:00:00")


def test_a_quorum_needs_distinct_people_and_one_reject_decides_at_once(t: TestEngine) -> None:
    ex = t.run("release", {"approvals": 2})
    wait_id = t.running_action(ex.id, "ask")
    service = approvals(t)

    first = service.respond(wait_id, person("alice"), "approve", {"reason": "fine"})
    assert first.open and first.approvals == 1
    with pytest.raises(ConflictError, match="alice answered this approval already"):
        service.respond(wait_id, person("alice"), "approve", {"reason": "fine again"})

    decided = service.respond(wait_id, person("bob", "operator", "ops"), "reject", {"reason": "no tests"})
    t.runner.drain()

    assert decided.result is not None
    assert decided.result["decision"] == "reject"
    assert [r["by"] for r in decided.result["responders"]] == ["alice", "bob"]
    assert t.execution(ex.id).output["decision"] == "reject"
    with pytest.raises(ConflictError, match="This approval is over"):
        service.respond(wait_id, person("carol", "admin", "ops"), "approve", {"reason": "late"})


def test_two_approvals_decide_a_quorum_of_two(t: TestEngine) -> None:
    ex = t.run("release", {"approvals": 2})
    wait_id = t.running_action(ex.id, "ask")
    service = approvals(t)

    service.respond(wait_id, person("alice"), "approve", {"reason": "one"})
    service.respond(wait_id, person("ops"), "approve", {"reason": "two"})
    t.runner.drain()

    assert t.execution(ex.id).output == {"decision": "approve", "values": {"reason": "two"}}


def test_form_values_are_checked_against_the_schema_field_by_field(t: TestEngine) -> None:
    ex = t.run("release")
    wait_id = t.running_action(ex.id, "ask")

    with pytest.raises(FormInvalid) as caught:
        approvals(t).respond(wait_id, person("alice"), "approve", {"risk": 9})

    assert set(caught.value.errors) == {"reason", "risk"}
    assert "required" in caught.value.errors["reason"]
    assert "9 is greater than the maximum of 5" in caught.value.errors["risk"]
    assert approvals(t).wait(wait_id).responses == ()


def test_only_assignees_answer_and_typed_names_are_not_checked(t: TestEngine) -> None:
    ex = t.run("release")
    wait_id = t.running_action(ex.id, "ask")
    service = approvals(t)

    with pytest.raises(Forbidden, match="mallory is not among those who may answer"):
        service.respond(wait_id, person("mallory", "admin"), "approve", {"reason": "me!"})
    with pytest.raises(InputError, match="'maybe' is not an option"):
        service.respond(wait_id, person("alice"), "maybe", {"reason": "hmm"})
    typed = service.respond(wait_id, Responder("Zoë"), "approve", {"reason": "on loopback"})
    assert typed.result is not None and typed.result["responders"][0]["by"] == "Zoë"


def test_an_action_that_is_not_a_human_wait_has_no_page(t: TestEngine) -> None:
    t.engine.definitions.create_workflows(
        "version: '2.0'\nplain:\n  tasks:\n    t:\n      action: std.async_noop\n"
    )
    ex = t.run("plain")

    with pytest.raises(NotFoundError, match="is not a human wait"):
        approvals(t).wait(t.running_action(ex.id, "t"))


def test_an_output_schema_refusing_the_decision_keeps_the_wait_open(t: TestEngine) -> None:
    t.engine.definitions.create_workflows(
        """\
version: '2.0'
strict:
  tasks:
    ask:
      action: std.approval title=Go?
      output-schema:
        type: object
        properties: {decision: {const: approve}}
"""
    )
    ex = t.run("strict")
    wait_id = t.running_action(ex.id, "ask")

    with pytest.raises(UnacceptableResult):
        approvals(t).respond(wait_id, person("alice"), "reject", {})
    assert approvals(t).wait(wait_id).open


def test_bad_input_fails_the_task_with_one_line(t: TestEngine) -> None:
    t.engine.definitions.create_workflows(
        "version: '2.0'\nbad:\n  tasks:\n    ask:\n      action: std.approval title='' \n"
    )
    ex = t.run("bad")

    assert t.execution(ex.id).state.value == "ERROR"
    assert "'title' must be non-empty text" in (t.tasks(ex.id)["ask"].state_info or "")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "'title' must be non-empty text"),
        ({"title": "x", "options": []}, "at least one option"),
        ({"title": "x", "options": "approve"}, "'options' must be a list"),
        ({"title": "x", "required_approvals": 0}, "from 1 to 100"),
        ({"title": "x", "required_approvals": True}, "from 1 to 100"),
        ({"title": "x", "form": {"type": "nonsense"}}, "'form' is not a JSON Schema"),
        (
            {
                "title": "x",
                "form": {"type": "object", "properties": {"a": {"type": "string", "pattern": "(a)\\1"}}},
            },
            "patterns are RE2 regular expressions",
        ),
        ({"title": "x", "form": {"type": "array"}}, "must describe an object"),
        ({"title": "x" * 201}, "longer than 200"),
        ({"title": "x", "colour": "red"}, "takes no 'colour'"),
    ],
)
def test_what_an_approval_refuses(given: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse(given)


def answer(responder: str, decision: str) -> ApprovalResponse:
    return ApprovalResponse(id=responder, action_execution_id="w", responder=responder, decision=decision)


def test_the_approving_option_is_approve_else_the_first() -> None:
    assert ApprovalRequest("t").approving == "approve"
    assert ApprovalRequest("t", options=("reject", "approve")).approving == "approve"
    assert ApprovalRequest("t", options=("ship", "hold")).approving == "ship"
    quorum = ApprovalRequest("t", options=("ship", "hold"), required_approvals=2)
    assert decide(quorum, [answer("a", "ship")]) is None
    decided = decide(quorum, [answer("a", "ship"), answer("b", "ship"), answer("c", "hold")])
    assert decided is not None and decided.decision == "ship" and len(decided.responders) == 2
    held = decide(quorum, [answer("a", "ship"), answer("b", "hold")])
    assert held is not None and held.decision == "hold"
    assert form_errors(ApprovalRequest("t"), {"anything": 1}) == {}


def test_an_unanswered_approval_times_out_through_on_timeout_and_its_page_shows_how_it_ended() -> None:
    t = TestEngine()
    t.engine.definitions.create_workflows(
        """\
version: '2.0'
nobody:
  tasks:
    ask:
      action: std.approval title="Anyone?"
      timeout: 60
      on-timeout: [escalate]
      on-success: [done]
    escalate: {action: std.noop}
    done: {action: std.noop}
"""
    )
    ex = t.run("nobody")
    wait_id = t.running_action(ex.id, "ask")
    service = approvals(t)

    t.advance(61)  # nobody answers

    assert t.task_states(ex.id) == {"ask": "ERROR", "escalate": "SUCCESS"}
    assert t.execution(ex.id).state.value == "SUCCESS"
    wait = service.wait(wait_id)
    assert not wait.open and wait.result is None
    with pytest.raises(ConflictError, match="This approval is over"):
        service.respond(wait_id, Responder("late"), "approve", {})
