"""std.mistral_http against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from mistral_http_actions import MistralHTTPAction

from mistral_core import ActionContext, ActionError, ExecutionContext, Result
from mistral_core.actions.registry import ActionRegistry

Server = Any  # conftest's LoopbackServer (conftest modules cannot be imported)

CONTEXT = ActionContext(
    execution=ExecutionContext(
        workflow_name="sum_async",
        workflow_execution_id="wf-1",
        task_execution_id="task-2",
        action_execution_id="action-3",
        callback_url="http://127.0.0.1:8989",
        action_execution_url="http://127.0.0.1:8989/v2/action_executions/action-3",
    )
)

MISTRAL_HEADERS = {
    "Mistral-Workflow-Name": "sum_async",
    "Mistral-Workflow-Execution-Id": "wf-1",
    "Mistral-Task-Id": "task-2",
    "Mistral-Action-Execution-Id": "action-3",
    "Mistral-Callback-URL": "http://127.0.0.1:8989",
    "Mistral-Action-Execution-URL": "http://127.0.0.1:8989/v2/action_executions/action-3",
}


def run(action: MistralHTTPAction, context: ActionContext = CONTEXT) -> Any:
    """Run the action as the executor does (through the contract's ``Any`` result)."""
    result: Any = action.run(context)
    return result


def test_it_is_async() -> None:
    assert MistralHTTPAction(url="http://127.0.0.1/").is_sync() is False
    assert ActionRegistry.from_entry_points().prepare("mistral_http", {"url": "http://x/"}).is_sync is False


def test_it_sends_the_mistral_headers_and_discards_the_answer(http_server: Server) -> None:
    action = MistralHTTPAction(url=http_server.url("/echo"), params={"a": 1, "b": 2})
    assert run(action) is None
    request = http_server.requests[-1]
    assert {name: request["headers"].get(name) for name in MISTRAL_HEADERS} == MISTRAL_HEADERS
    assert request["query"] == {"a": ["1"], "b": ["2"]}


def test_the_callback_url_joins_into_the_seed_callback(http_server: Server) -> None:
    run(MistralHTTPAction(url=http_server.url()))
    headers = http_server.requests[-1]["headers"]
    callback = (
        f"{headers['Mistral-Callback-URL']}/v2/action-executions/{headers['Mistral-Action-Execution-Id']}"
    )
    assert callback == "http://127.0.0.1:8989/v2/action-executions/action-3"


def test_mistral_headers_replace_caller_headers_of_any_case(http_server: Server) -> None:
    action = MistralHTTPAction(
        url=http_server.url(),
        method="POST",
        json={"x": 1},
        headers={"mistral-task-id": "forged", "MISTRAL-CALLBACK-URL": "http://evil/", "X-Mine": "kept"},
    )
    run(action)
    headers = http_server.requests[-1]["headers"]
    assert headers["Mistral-Task-Id"] == "task-2"
    assert headers["Mistral-Callback-URL"] == "http://127.0.0.1:8989"
    assert headers["X-Mine"] == "kept"
    assert http_server.requests[-1]["body"] == '{"x":1}'
    assert action.headers == {  # the action's own input is left as it was
        "mistral-task-id": "forged",
        "MISTRAL-CALLBACK-URL": "http://evil/",
        "X-Mine": "kept",
    }


def test_the_callback_token_is_sent_and_no_caller_can_forge_or_leak_one(http_server: Server) -> None:
    execution = dataclasses.replace(CONTEXT.execution, callback_token="mcb_secret")
    headers = {"mistral-callback-token": "mcb_forged", "X-Mine": "kept"}
    run(MistralHTTPAction(url=http_server.url(), headers=headers), ActionContext(execution=execution))
    sent = http_server.requests[-1]["headers"]
    assert [value for name, value in sent.items() if name.lower() == "mistral-callback-token"] == [
        "mcb_secret"
    ]

    run(MistralHTTPAction(url=http_server.url(), headers=headers))  # a context without a token
    assert "mistral-callback-token" not in {name.lower() for name in http_server.requests[-1]["headers"]}


def test_unknown_context_values_send_no_header(http_server: Server) -> None:
    run(MistralHTTPAction(url=http_server.url(), headers={"Mistral-Task-Id": "caller"}), ActionContext())
    headers = http_server.requests[-1]["headers"]
    assert not [name for name in headers if name.lower().startswith("mistral-")]


@pytest.mark.parametrize("status", [200, 202, 204, 302, 307])
def test_2xx_and_3xx_leave_the_action_running(http_server: Server, status: int) -> None:
    assert run(MistralHTTPAction(url=http_server.url(f"/status/{status}"))) is None


@pytest.mark.parametrize("status", [400, 404, 500])
def test_an_error_status_fails_the_action_with_the_answer(http_server: Server, status: int) -> None:
    result = run(MistralHTTPAction(url=http_server.url(f"/status/{status}")))
    assert isinstance(result, Result)
    assert result.is_error()
    assert result.error["status"] == status
    assert result.error["content"] == {"error": f"status {status}"}


def test_a_request_that_cannot_be_sent_raises(http_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_CORE_HTTP_DENIED_CIDRS", "127.0.0.0/8")
    with pytest.raises(ActionError, match="refused by the egress policy"):
        run(MistralHTTPAction(url=http_server.url()))


CANCELLING = dataclasses.replace(CONTEXT, cancel_reason="timeout")


def test_cancel_posts_the_notice_to_cancel_url(http_server: Server) -> None:
    action = MistralHTTPAction(
        url=http_server.url("/work"), cancel_url=http_server.url("/stop"), headers={"X-Team": "ops"}
    )
    action.cancel(CANCELLING)

    request = http_server.requests[-1]
    assert (request["method"], request["path"]) == ("POST", "/stop")
    assert json.loads(request["body"]) == {
        "action_execution_id": "action-3",
        "workflow_execution_id": "wf-1",
        "reason": "timeout",
    }
    assert request["headers"]["X-Team"] == "ops"
    assert request["headers"]["Mistral-Action-Execution-Id"] == "action-3"
    assert "Mistral-Callback-Token" not in request["headers"]


def test_without_cancel_url_nobody_is_told(http_server: Server) -> None:
    MistralHTTPAction(url=http_server.url()).cancel(CANCELLING)
    assert http_server.requests == []


@pytest.mark.parametrize("status", [404, 500, 503])
def test_a_notice_answered_with_an_error_raises_to_be_tried_again(http_server: Server, status: int) -> None:
    action = MistralHTTPAction(url=http_server.url(), cancel_url=http_server.url(f"/status/{status}"))
    with pytest.raises(ActionError, match=f"answered {status}"):
        action.cancel(CANCELLING)


def test_a_cancel_url_must_be_a_string() -> None:
    with pytest.raises(ValueError, match="cancel_url must be a non-empty string"):
        MistralHTTPAction(url="http://127.0.0.1/", cancel_url="")
