"""The seed's example end to end: the real ``mistral`` CLI, the real server, the contrib sum service.

A recording proxy sits between std.mistral_http and the sum service, so the test sees exactly the
request the service received (the service itself logs only the action execution id).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.support import (
    REPO_ROOT,
    Recorder,
    ServerProcess,
    SumService,
    mistral,
    mistral_json,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # the CLI takes ~0.4 s a command

SEED = REPO_ROOT / "contrib" / "example_workflows" / "seed.yaml"
FINISHED = ("SUCCESS", "ERROR", "CANCELLED")


def _wait_finished_with_cli(base_url: str, ex_id: str) -> dict[str, Any]:
    """Poll ``mistral execution-get`` until the execution finished; its last answer."""

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = mistral_json(base_url, "execution-get", ex_id)
        return execution if execution["State"] in FINISHED else None

    return wait_until(finished, f"execution {ex_id} to finish", interval=0.1)


def test_the_seed_with_the_real_cli_and_the_sum_service(
    server: ServerProcess, sum_service: SumService
) -> None:
    base = server.base_url
    with Recorder(forward_to=sum_service.url) as proxy:
        created = mistral_json(base, "workflow-create", str(SEED))
        assert [wf["Name"] for wf in created] == ["sum_async"]
        wf_input = json.dumps({"url": f"{proxy.url}/sum", "a": 1, "b": 2})
        ex_id = mistral_json(base, "execution-create", "sum_async", wf_input)["ID"]

        execution = _wait_finished_with_cli(base, ex_id)

    assert execution["State"] == "SUCCESS", execution
    output = mistral(base, "execution-get-output", ex_id)
    assert output.returncode == 0, output.stderr
    assert json.loads(output.stdout) == {"sum": 3}

    (task,) = mistral_json(base, "task-list", ex_id)
    (action,) = mistral_json(base, "action-execution-list", task["ID"])
    assert (task["Name"], task["State"], action["Name"], action["State"]) == (
        "sum",
        "SUCCESS",
        "std.mistral_http",
        "SUCCESS",
    )
    (received,) = proxy.requests
    headers = {name.lower(): value for name, value in received.headers.items()}
    assert received.path == "/sum?a=1&b=2"
    assert headers["mistral-workflow-name"] == "sum_async"
    assert headers["mistral-workflow-execution-id"] == ex_id
    assert headers["mistral-task-id"] == task["ID"]
    assert headers["mistral-action-execution-id"] == action["ID"]
    assert headers["mistral-callback-url"] == base

    callback = f"callback POST {base}/v2/action-executions/{action['ID']} "
    assert f"action_execution={action['ID']} -> 200" in sum_service.log()
    wait_until(
        lambda: f'{callback}{{"state": "SUCCESS", "output": 3}} -> 200' in sum_service.log(), "the callback"
    )
