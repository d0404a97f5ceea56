"""Bad requests to a running server: a clear 4xx fault, nothing left behind, the server keeps serving."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.support import Api, ServerProcess, process_group

pytestmark = pytest.mark.integration

WAIT_ONE = """\
---
version: '2.0'
wait_one:
  output:
    res: <% $.res %>
  tasks:
    t1:
      action: std.async_noop
      publish:
        res: <% task().result %>
"""
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
ONE_MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Running:
    """A server with one execution whose action waits for its result."""

    server: ServerProcess
    ex_id: str
    action_ex_id: str

    @property
    def api(self) -> Api:
        return self.server.api


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One server for the module (each test checks that it changed nothing)."""
    with process_group(Path(tmp_path_factory.mktemp("bad-input"))) as group:
        server = group.server()
        server.api.create_workflows(WAIT_ONE)
        ex_id = server.api.start("wait_one")["id"]
        yield Running(server, ex_id, server.api.wait_running_action(ex_id, "t1")["id"])


@dataclasses.dataclass(frozen=True)
class Bad:
    """A bad request and the answer it must get."""

    method: str
    path: str
    data: bytes
    status: int
    fault: str  # the faultstring, or a part of it when not exact
    exact: bool = False


OVERSIZED_EXECUTION = json.dumps({"workflow_name": "wait_one", "input": {"x": "y" * ONE_MIB}}).encode()
OVERSIZED_RESULT = json.dumps({"state": "SUCCESS", "output": "z" * ONE_MIB}).encode()
BAD_REQUESTS = {
    "malformed JSON, PUT action execution": Bad(
        "PUT",
        "/v2/action_executions/{action}",
        b'{"state": "SUCCESS", "output":',
        400,
        "Request is not in valid JSON format",
        exact=True,
    ),
    "malformed JSON, POST execution": Bad(
        "POST",
        "/v2/executions",
        b"{workflow_name: wait_one}",
        400,
        "Request is not in valid JSON format",
        True,
    ),
    "unknown action execution": Bad(
        "PUT", f"/v2/action_executions/{UNKNOWN_ID}", b'{"state": "SUCCESS", "output": 3}', 404, UNKNOWN_ID
    ),
    "unknown execution": Bad("GET", f"/v2/executions/{UNKNOWN_ID}", b"", 404, UNKNOWN_ID),
    "unknown workflow": Bad("POST", "/v2/executions", b'{"workflow_name": "nope"}', 404, "nope"),
    "oversized execution": Bad("POST", "/v2/executions", OVERSIZED_EXECUTION, 413, "too large"),
    "oversized result": Bad("PUT", "/v2/action_executions/{action}", OVERSIZED_RESULT, 413, "too large"),
}


@pytest.mark.parametrize("bad", list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
def test_a_bad_request_gets_a_fault_and_changes_nothing(running: Running, bad: Bad) -> None:
    before = running.api.snapshot()
    path = bad.path.format(action=running.action_ex_id)

    answer = running.api.call(
        bad.method, path, data=bad.data or None, headers={"Content-Type": "application/json"}
    )

    assert answer.status == bad.status, answer
    assert answer.headers["content-type"].startswith("application/json")
    fault = answer.json()
    assert set(fault) == {"faultcode", "faultstring", "debuginfo"}
    assert fault["faultcode"] == "Client"
    assert fault["faultstring"] == bad.fault if bad.exact else bad.fault in fault["faultstring"]
    assert "Traceback" not in answer.body.decode()
    assert running.api.snapshot() == before
    assert running.server.running
    assert running.api.call("GET", "/v2").status == 200


def test_an_oversized_chunked_body_gets_413_and_changes_nothing(running: Running) -> None:
    before = running.api.snapshot()
    path = f"/v2/action_executions/{running.action_ex_id}"

    answer = running.api.call(
        "PUT", path, data=OVERSIZED_RESULT, headers={"Content-Type": "application/json"}, chunked=True
    )

    assert answer.status == 413, answer
    assert running.api.snapshot() == before


def test_after_bad_requests_the_waiting_workflow_still_completes(running: Running) -> None:
    api = running.api
    for data in (b"{", b"[1, 2", b"\xff\xfe"):
        assert api.call("PUT", f"/v2/action_executions/{running.action_ex_id}", data=data).status == 400

    answer = api.push(running.action_ex_id, {"state": "SUCCESS", "output": 3})

    assert answer.status == 200, answer
    assert api.wait_finished(running.ex_id)["state"] == "SUCCESS"
    assert api.output(running.ex_id) == {"res": 3}
