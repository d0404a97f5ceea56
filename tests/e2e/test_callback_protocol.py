"""The callback protocol end to end, through real processes: ``mistral-core serve --auth keys``,
keys made by ``mistral-core keys create``, std.mistral_http, and the contrib sum service calling
back with nothing but the token it was sent.

A recording proxy (or a recorder standing for a third party) sees exactly what std.mistral_http
sent, headers included, so the test holds each token as the third party does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import (
    REPO_ROOT,
    Api,
    ProcessGroup,
    Recorded,
    Recorder,
    Response,
    ServerProcess,
    create_key,
    request,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = (REPO_ROOT / "contrib" / "example_workflows" / "seed.yaml").read_text()
TOKEN_HEADER = "Mistral-Callback-Token"
WAITS = """---
version: '2.0'
two_waits:
  input:
    - url
  tasks:
    first:
      action: std.mistral_http url=<% $.url %>
    second:
      action: std.mistral_http url=<% $.url %>
late:
  input:
    - url
  tasks:
    slow:
      action: std.mistral_http url=<% $.url %>
      timeout: 1
"""


class ThirdParty(Api):
    """The API as a third party holding a callback token calls it."""

    def __init__(self, base_url: str, token: str, how: str) -> None:
        super().__init__(base_url)
        self._header = {"Authorization": f"Bearer {token}"} if how == "bearer" else {how: token}

    def call(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        """Any request, with the token."""
        kwargs["headers"] = {**self._header, **(kwargs.get("headers") or {})}
        return request(method, self.base_url + path, json_body, **kwargs)


class Keyed:
    """A server with authentication on, and an admin's, an operator's and a reader's key."""

    def __init__(self, processes: ProcessGroup, directory: Path, settings: str = "") -> None:
        directory.mkdir(exist_ok=True)
        if settings:  # serve reads mistral-core.toml from its working directory
            (directory / "mistral-core.toml").write_text(settings)
        url = f"sqlite:///{directory / 'keyed.db'}"
        self.secrets = {
            role: create_key(url, f"the-{role}", role, directory) for role in ("admin", "operator", "reader")
        }
        saved, processes.directory = processes.directory, directory
        try:
            self.server: ServerProcess = processes.server(database=url, options=("--auth", "keys"))
        finally:
            processes.directory = saved
        self.admin = Api(self.server.base_url, self.secrets["admin"])
        self.operator = Api(self.server.base_url, self.secrets["operator"])
        self.reader = Api(self.server.base_url, self.secrets["reader"])
        self.anyone = Api(self.server.base_url)

    def with_token(self, token: str, how: str = TOKEN_HEADER) -> Api:
        """A third party calling with a callback token, in header ``how`` (``bearer``: Authorization)."""
        return ThirdParty(self.server.base_url, token, how)

    def history(self, action_ex_id: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.reader.get(f"/v2/action_executions/{action_ex_id}/history")[
            "history"
        ]
        return entries


def _headers(recorded: Recorded) -> dict[str, str]:
    return {name.lower(): value for name, value in recorded.headers.items()}


def _tokens(recorder: Recorder, count: int) -> dict[str, str]:
    """Action execution id -> the callback token std.mistral_http sent with it."""
    return {
        _headers(r)["mistral-action-execution-id"]: _headers(r)["mistral-callback-token"]
        for r in recorder.wait_requests(count)
    }


def test_the_sum_service_completes_its_action_with_its_token_alone(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    keyed = Keyed(processes, tmp_path / "keyed")
    service = processes.sum_service()
    keyed.admin.create_workflows(SEED)

    with Recorder(forward_to=service.url) as proxy:
        ex_id = keyed.operator.start("sum_async", {"url": f"{proxy.url}/sum", "a": 1, "b": 2})["id"]
        execution = keyed.reader.wait_finished(ex_id)
    assert execution["state"] == "SUCCESS", execution
    assert keyed.reader.output(ex_id) == {"sum": 3}

    (sent,) = proxy.requests
    token = _headers(sent)["mistral-callback-token"]
    action_ex_id = _headers(sent)["mistral-action-execution-id"]
    assert token.startswith("mcb_")
    (entry,) = keyed.history(action_ex_id)
    assert (entry["outcome"], entry["state"], entry["by"], entry["remote_addr"]) == (
        "accepted",
        "SUCCESS",
        "callback-token",
        "127.0.0.1",
    )
    assert "-> 200" in service.log() and token not in service.log()
    assert token not in keyed.server.log()

    # The action ended: its token repeats the result (200) and does nothing else.
    third_party = keyed.with_token(token)
    assert third_party.push(action_ex_id, {"state": "SUCCESS", "output": 3}, method="POST").status == 200
    assert third_party.push(action_ex_id, {"state": "SUCCESS", "output": 4}).status == 409
    assert third_party.call("GET", f"/v2/action_executions/{action_ex_id}").status == 403
    assert [e["outcome"] for e in keyed.history(action_ex_id)] == ["accepted", "repeated", "rejected"]
    assert keyed.anyone.push(action_ex_id, {"state": "SUCCESS", "output": 3}).status == 401


@pytest.mark.parametrize("how", [TOKEN_HEADER, "X-Auth-Token", "bearer"])
def test_a_token_reads_and_completes_its_own_action_only(
    processes: ProcessGroup, tmp_path: Path, how: str
) -> None:
    keyed = Keyed(processes, tmp_path / "keyed")
    keyed.admin.create_workflows(WAITS)
    with Recorder() as third_party:
        ex_id = keyed.operator.start("two_waits", {"url": third_party.url})["id"]
        tokens = _tokens(third_party, 2)
    mine, other = sorted(tokens)
    api = keyed.with_token(tokens[mine], how)

    assert api.call("GET", f"/v2/action_executions/{mine}").status == 200
    for method, path in (
        ("GET", f"/v2/action_executions/{other}"),
        ("PUT", f"/v2/action_executions/{other}"),
        ("POST", f"/v2/action-executions/{other}"),
        ("GET", f"/v2/executions/{ex_id}"),
        ("GET", f"/v2/action_executions/{mine}/history"),
        ("DELETE", f"/v2/action_executions/{mine}/token"),
        ("DELETE", f"/v2/executions/{ex_id}"),
    ):
        answer = api.call(method, path, {"state": "SUCCESS", "output": 1})
        assert answer.status == 403, f"{method} {path}: {answer}"
    assert (
        api.push(mine, {"state": "SUCCESS", "output": {"done": True}}, spelling="action-executions").status
        == 200
    )

    assert keyed.reader.get(f"/v2/action_executions/{mine}")["state"] == "SUCCESS"
    assert keyed.reader.get(f"/v2/action_executions/{other}")["state"] == "RUNNING"
    refused = [e for e in keyed.history(other) if e["outcome"] == "rejected"]
    assert [(e["by"], e["state"]) for e in refused] == [("callback-token", "SUCCESS")] * 2


def test_a_revoked_token_and_an_expired_token_are_refused(processes: ProcessGroup, tmp_path: Path) -> None:
    keyed = Keyed(processes, tmp_path / "keyed", settings="callback_token_max_age = 2\n")
    keyed.admin.create_workflows(WAITS)
    with Recorder() as third_party:
        keyed.operator.start("two_waits", {"url": third_party.url})
        tokens = _tokens(third_party, 2)
    revoked, expiring = sorted(tokens)

    assert keyed.reader.call("DELETE", f"/v2/action_executions/{revoked}/token").status == 403
    assert keyed.operator.call("DELETE", f"/v2/action_executions/{revoked}/token").status == 204
    refused = keyed.with_token(tokens[revoked]).push(revoked, {"state": "SUCCESS", "output": 1})
    assert refused.status == 401, refused
    assert "expired or was revoked" in refused.json()["faultstring"]

    def expired() -> bool:
        answer = keyed.with_token(tokens[expiring]).call("GET", f"/v2/action_executions/{expiring}")
        assert answer.status in (200, 401), answer
        return answer.status == 401

    wait_until(expired, "the token to expire (max age 2 s)", timeout=10)
    assert keyed.with_token(tokens[expiring]).push(expiring, {"state": "SUCCESS", "output": 1}).status == 401
    for action_ex_id in (revoked, expiring):
        assert keyed.reader.get(f"/v2/action_executions/{action_ex_id}")["state"] == "RUNNING"
        (entry,) = keyed.history(action_ex_id)
        assert (entry["outcome"], entry["by"]) == ("rejected", "callback-token")
        assert "expired or was revoked" in entry["reason"]
    assert keyed.operator.push(revoked, {"state": "SUCCESS", "output": 1}).status == 200  # keys still work


def test_the_history_of_a_conflicting_and_of_a_late_push(processes: ProcessGroup, tmp_path: Path) -> None:
    keyed = Keyed(processes, tmp_path / "keyed")
    keyed.admin.create_workflows(WAITS)
    with Recorder() as third_party:
        keyed.operator.start("two_waits", {"url": third_party.url})
        conflicting = _tokens(third_party, 2)
        late_ex = keyed.operator.start("late", {"url": third_party.url})["id"]
        late = {k: v for k, v in _tokens(third_party, 3).items() if k not in conflicting}
    mine = sorted(conflicting)[0]
    assert keyed.with_token(conflicting[mine]).push(mine, {"state": "SUCCESS", "output": 1}).status == 200
    assert keyed.operator.push(mine, {"state": "ERROR", "output": "no"}).status == 409

    accepted, rejected = keyed.history(mine)
    assert (accepted["outcome"], accepted["by"]) == ("accepted", "callback-token")
    assert (rejected["outcome"], rejected["state"], rejected["by"]) == ("rejected", "ERROR", "the-operator")
    assert rejected["reason"] == f"Action execution {mine} is already SUCCESS; its result cannot be changed"

    assert keyed.reader.wait_finished(late_ex)["state"] == "ERROR"  # its task timed out after 1 s
    ((late_id, late_token),) = late.items()
    answer = keyed.with_token(late_token).push(late_id, {"state": "SUCCESS", "output": 1})
    assert answer.status == 409, answer
    (entry,) = keyed.history(late_id)
    assert (entry["outcome"], entry["state"], entry["by"]) == ("rejected", "SUCCESS", "callback-token")
    assert "already ERROR" in entry["reason"] and "timed out" in entry["reason"].lower()
    output = json.loads(keyed.reader.get(f"/v2/action_executions/{late_id}")["output"])
    assert output["result"].startswith("Task timed out")  # the late result changed nothing
    assert request("GET", f"{keyed.server.base_url}/v2/action_executions/{late_id}/history").status == 401
