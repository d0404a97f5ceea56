"""std.mistral_http and the services it calls: what they are told, and how they answer back."""

from __future__ import annotations

import json

import pytest

from tests.integration.support import REPO_ROOT, Api, Recorder, SumService, request, wait_until

pytestmark = pytest.mark.integration

SEED = REPO_ROOT / "contrib" / "example_workflows" / "seed.yaml"
CALL_OUT = """\
---
version: '2.0'
call_out:
  input:
    - url
  output:
    answer: <% $.answer %>
  tasks:
    call:
      action: std.mistral_http url=<% $.url %> method=POST
      input:
        json:
          question: life
      publish:
        answer: <% task().result %>
"""


def test_the_sum_service_pushes_an_error_for_bad_numbers(api: Api, sum_service: SumService) -> None:
    api.create_workflows(SEED.read_text())

    ex_id = api.start("sum_async", {"url": sum_service.url, "a": "one", "b": 2})["id"]

    execution = api.wait_finished(ex_id)
    assert execution["state"] == "ERROR"
    assert "a and b must be numbers" in execution["state_info"]
    task = api.task(ex_id, "sum")
    assert task["state"] == "ERROR"
    assert "Traceback" not in execution["state_info"]
    wait_until(
        lambda: '{"state": "ERROR", "output": "a and b must be numbers"} -> 200' in sum_service.log(), "log"
    )


def test_a_service_can_push_to_the_action_execution_url_it_was_given(api: Api) -> None:
    api.create_workflows(CALL_OUT)

    with Recorder() as service:
        ex_id = api.start("call_out", {"url": service.url})["id"]
        (received,) = service.wait_requests(1)

    headers = {name.lower(): value for name, value in received.headers.items()}
    assert (received.method, json.loads(received.body)) == ("POST", {"question": "life"})
    action_ex_id = headers["mistral-action-execution-id"]
    assert headers["mistral-action-execution-url"].startswith(f"{api.base_url}/v2/action")
    assert headers["mistral-action-execution-url"].endswith(f"/{action_ex_id}")
    assert api.execution(ex_id)["state"] == "RUNNING"  # the service's 200 is not the result

    answer = request("PUT", headers["mistral-action-execution-url"], {"state": "SUCCESS", "output": 42})

    assert answer.status == 200, answer
    assert api.wait_finished(ex_id)["state"] == "SUCCESS"
    assert api.output(ex_id) == {"answer": 42}
