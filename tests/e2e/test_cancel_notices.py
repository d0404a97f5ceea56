"""Cancel notices through real processes: std.mistral_http's ``cancel_url`` is told, by a durable
retry that survives kill -9 when the web service was down."""

from __future__ import annotations

import json

import pytest

from tests.integration.support import Api, ProcessGroup, Recorder, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKFLOWS = """\
---
version: '2.0'
wait:
  input:
    - url
    - cancel_url
  tasks:
    ask:
      action: std.mistral_http url=<% $.url %> cancel_url=<% $.cancel_url %>
"""


def _history(api: Api, action_ex_id: str) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = api.get(f"/v2/action_executions/{action_ex_id}/history")["history"]
    return entries


def _entries(api: Api, action_ex_id: str, outcome: str) -> list[dict[str, object]]:
    return [e for e in _history(api, action_ex_id) if e["outcome"] == outcome]


def _waiting(api: Api, url: str, cancel_url: str) -> tuple[str, str]:
    api.create_workflows(WORKFLOWS)
    ex_id = api.start("wait", {"url": url, "cancel_url": cancel_url})["id"]
    return ex_id, api.wait_running_action(ex_id, "ask")["id"]


def test_cancelling_the_execution_posts_the_notice_to_cancel_url(processes: ProcessGroup) -> None:
    server = processes.server()
    with Recorder() as service:
        ex_id, action_ex_id = _waiting(server.api, f"{service.url}/work", f"{service.url}/cancel")
        service.wait_requests(1)

        answer = server.api.call("PUT", f"/v2/executions/{ex_id}", {"state": "CANCELLED"})
        assert answer.status == 200, answer

        notice = service.wait_requests(2)[1]
    assert (notice.method, notice.path) == ("POST", "/cancel")
    assert json.loads(notice.body) == {
        "action_execution_id": action_ex_id,
        "workflow_execution_id": ex_id,
        "reason": "cancelled",
    }
    headers = {name.lower(): value for name, value in notice.headers.items()}
    assert headers["mistral-action-execution-id"] == action_ex_id
    assert headers["content-type"] == "application/json"
    assert "mistral-callback-token" not in headers  # a notice carries no credential
    entry = wait_until(
        lambda: [e for e in _history(server.api, action_ex_id) if e["outcome"] == "notified"], "notified"
    )
    assert (entry[0]["by"], entry[0]["reason"]) == ("mistral-core", "try 1: cancelled")


def test_a_notice_nobody_answered_is_tried_again_by_the_restarted_server(processes: ProcessGroup) -> None:
    first = processes.server()
    port = free_port()  # the web service's cancel endpoint is down for now
    with Recorder() as service:
        ex_id, action_ex_id = _waiting(first.api, f"{service.url}/work", f"http://127.0.0.1:{port}/cancel")
        service.wait_requests(1)
    assert first.api.call("PUT", f"/v2/executions/{ex_id}", {"state": "CANCELLED"}).status == 200
    wait_until(
        lambda: [e for e in _history(first.api, action_ex_id) if e["outcome"] == "notice-failed"],
        "a failed try",
    )

    first.kill()
    second = processes.server(port=first.port)
    with Recorder(port=port) as back_up:
        (notice,) = back_up.wait_requests(1)  # the retry timer, 5 s after the first try

    assert json.loads(notice.body)["reason"] == "cancelled"
    outcomes = wait_until(
        lambda: (
            [e["outcome"] for e in _history(second.api, action_ex_id)]
            if any(e["outcome"] == "notified" for e in _history(second.api, action_ex_id))
            else []
        ),
        "a delivered try",
    )
    assert outcomes == ["notice-failed", "notified"]
    assert second.api.execution(ex_id)["state"] == "CANCELLED"
