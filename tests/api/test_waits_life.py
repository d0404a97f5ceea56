"""The life of a wait through HTTP: heartbeats with progress and deadlines, heartbeat-timeout,
on-timeout, output-schema, and the third party told when its wait is over (timers driven by the
test engine's clock)."""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest

from mistral_core.api import create_app
from mistral_core.testing import TestEngine
from tests.api.support import PUBLIC_URL, AsyncNoopAction, NoopAction


class Reported(AsyncNoopAction):
    """An async action whose third party is told when its wait is over."""

    told: list[tuple[str | None, str | None]] = []

    def cancel(self, context: Any) -> None:
        Reported.told.append((context.execution.action_execution_id, context.cancel_reason))


class Checked(AsyncNoopAction):
    """An async action whose class declares the shape of its result."""

    output_schema = {"type": "object", "required": ["size"], "properties": {"size": {"type": "integer"}}}


WORKFLOWS = """
version: '2.0'
long_copy:
  tasks:
    copy:
      action: test.reported
      timeout: 100
      heartbeat-timeout: <% 30 %>
      on-timeout: [timed_out]
      on-error: [failed]
    timed_out: {action: std.noop}
    failed: {action: std.noop}
unrouted:
  tasks:
    copy:
      action: test.reported
      timeout: 10
      on-error: [failed]
    failed: {action: std.noop}
checked:
  tasks:
    ask:
      action: test.reported
      output-schema:
        type: object
        required: [approved]
        properties:
          approved: {type: boolean}
class_checked:
  tasks:
    ask: {action: test.checked}
"""


class Client:
    """The app over a test engine whose clock the test moves."""

    def __init__(self) -> None:
        Reported.told.clear()
        self.t = TestEngine(
            {"test.reported": Reported, "test.checked": Checked, "std.noop": NoopAction},
            public_url=PUBLIC_URL,
        )
        self.t.engine.definitions.create_workflows(WORKFLOWS)
        self.http = falcon.testing.TestClient(create_app(self.t.engine, public_url=PUBLIC_URL))

    def waiting(self, workflow: str) -> tuple[str, str]:
        answer = self.http.simulate_post("/v2/executions", json={"workflow_name": workflow})
        assert answer.status_code == 201, answer.text
        self.t.runner.drain()
        ex_id = answer.json["id"]
        (task,) = self.http.simulate_get(f"/v2/executions/{ex_id}/tasks").json["tasks"]
        (action,) = self.http.simulate_get(f"/v2/tasks/{task['id']}/action_executions").json[
            "action_executions"
        ]
        return ex_id, action["id"]

    def beat(self, action_id: str, body: Any = None, dash: bool = False) -> falcon.testing.Result:
        path = f"/v2/action{'-' if dash else '_'}executions/{action_id}/heartbeat"
        return self.http.simulate_post(path, json=body) if body is not None else self.http.simulate_post(path)

    def action(self, action_id: str) -> dict[str, Any]:
        answer = self.http.simulate_get(f"/v2/action_executions/{action_id}")
        assert answer.status_code == 200, answer.text
        action: dict[str, Any] = answer.json
        return action

    def tasks(self, ex_id: str) -> dict[str, str]:
        tasks = self.http.simulate_get(f"/v2/executions/{ex_id}/tasks").json["tasks"]
        return {t["name"]: t["state"] for t in tasks}

    def push(self, action_id: str, state: str, output: Any) -> falcon.testing.Result:
        body = {"state": state, "output": json.dumps(output)}
        answer = self.http.simulate_put(f"/v2/action_executions/{action_id}", json=body)
        self.t.runner.drain()
        return answer

    def history(self, action_id: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.http.simulate_get(
            f"/v2/action_executions/{action_id}/history"
        ).json["history"]
        return entries


@pytest.fixture
def client() -> Client:
    return Client()


def test_a_heartbeat_answers_the_action_with_progress_last_heartbeat_and_deadline(client: Client) -> None:
    _, action_id = client.waiting("long_copy")
    client.t.advance(10)

    answer = client.beat(
        action_id, {"progress": {"percent": 40, "note": "copying", "details": {"files": 12}}}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json["progress"] == {"percent": 40, "note": "copying", "details": {"files": 12}}
    assert answer.json["last_heartbeat_at"] == "2030-01-01T12:00:10Z"
    assert answer.json["deadline"] == "2030-01-01T12:01:40Z"  # the task's timeout: 100 s
    shown = client.action(action_id)
    assert shown["progress"] == answer.json["progress"]
    assert shown["state_info"] == (
        "waiting: 40% copying; last heartbeat 2030-01-01 12:00:10; deadline 2030-01-01 12:01:40"
    )


def test_extend_by_moves_the_deadline_and_the_timeout_with_it(client: Client) -> None:
    ex_id, action_id = client.waiting("unrouted")

    client.t.advance(8)
    answer = client.beat(action_id, {"extend_by": 60}, dash=True)  # both spellings of the path
    assert answer.status_code == 200, answer.text
    assert answer.json["deadline"] == "2030-01-01T12:01:10Z"  # 10 s + 60 s
    client.t.advance(20)  # past the first deadline
    assert client.tasks(ex_id) == {"copy": "RUNNING"}

    client.t.advance(43)

    assert client.tasks(ex_id) == {"copy": "ERROR", "failed": "SUCCESS"}  # no on-timeout: on-error
    assert Reported.told == [(action_id, "timeout")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"extend_by": 10**9}, "'extend_by' must be above 0 and at most 604800 seconds"),
        ({"extend_by": -1}, "'extend_by' must be above 0"),
        ({"progress": {"percent": 150}}, "percent"),
        ({"progress": {"colour": "red"}}, "'progress' is an object with"),
        ([1, 2], "A heartbeat is a JSON object"),
        ({"progress": {"details": "x" * 70000}}, "'progress' must be at most 65536 bytes"),
    ],
)
def test_a_bad_heartbeat_is_a_400_in_one_line(client: Client, body: Any, message: str) -> None:
    _, action_id = client.waiting("long_copy")

    answer = client.beat(action_id, body)

    assert answer.status_code == 400, answer.text
    assert message in answer.json["faultstring"] and "\n" not in answer.json["faultstring"]


def test_a_heartbeat_for_a_finished_action_is_a_409_naming_its_state(client: Client) -> None:
    _, action_id = client.waiting("long_copy")
    assert client.push(action_id, "SUCCESS", {"done": True}).status_code == 200

    answer = client.beat(action_id, {})

    assert answer.status_code == 409
    assert "SUCCESS" in answer.json["faultstring"]
    assert client.beat("no-such-action", {}).status_code == 404


def test_silence_past_heartbeat_timeout_ends_the_task_through_on_timeout(client: Client) -> None:
    ex_id, action_id = client.waiting("long_copy")
    for _ in range(2):  # 50 s of work, a heartbeat every 25 s: never 30 s of silence
        client.t.advance(25)
        assert client.beat(action_id).status_code == 200  # an empty body is a heartbeat too

    client.t.advance(31)

    action = client.action(action_id)
    assert action["state"] == "ERROR"
    assert "heartbeat" in action["state_info"]
    assert client.tasks(ex_id) == {"copy": "ERROR", "timed_out": "SUCCESS"}
    assert client.http.simulate_get(f"/v2/executions/{ex_id}").json["state"] == "SUCCESS"
    assert Reported.told == [(action_id, "heartbeat-timeout")]


def test_the_first_heartbeat_window_starts_with_the_action(client: Client) -> None:
    ex_id, _ = client.waiting("long_copy")

    client.t.advance(31)

    assert client.tasks(ex_id) == {"copy": "ERROR", "timed_out": "SUCCESS"}


@pytest.mark.parametrize(
    ("workflow", "good", "bad", "path"),
    [
        ("checked", {"approved": True}, {"approved": "yes"}, "approved"),
        ("class_checked", {"size": 3}, {"size": "big"}, "size"),
    ],
)
def test_a_result_that_does_not_match_the_output_schema_is_a_422_and_the_wait_goes_on(
    client: Client, workflow: str, good: Any, bad: Any, path: str
) -> None:
    ex_id, action_id = client.waiting(workflow)

    answer = client.push(action_id, "SUCCESS", bad)

    assert answer.status_code == 422, answer.text
    assert path in answer.json["faultstring"]
    assert client.action(action_id)["state"] == "RUNNING"
    (entry,) = client.history(action_id)
    assert (entry["outcome"], entry["state"]) == ("rejected", "SUCCESS")
    assert path in entry["reason"]

    assert client.push(action_id, "SUCCESS", good).status_code == 200
    assert client.http.simulate_get(f"/v2/executions/{ex_id}").json["state"] == "SUCCESS"


def test_cancelling_the_execution_tells_the_third_party_with_the_reason(client: Client) -> None:
    ex_id, action_id = client.waiting("long_copy")

    answer = client.http.simulate_put(f"/v2/executions/{ex_id}", json={"state": "CANCELLED"})
    client.t.runner.drain()

    assert answer.status_code == 200, answer.text
    assert Reported.told == [(action_id, "cancelled")]
    entries = [e for e in client.history(action_id) if e["outcome"] == "notified"]
    assert [(e["by"], e["reason"]) for e in entries] == [("mistral-core", "try 1: cancelled")]
