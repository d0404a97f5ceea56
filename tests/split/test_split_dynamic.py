"""Dynamic actions in the split deployment (real PostgreSQL and RabbitMQ): an API of two gunicorn
workers, an engine, and two executors that never open the database. The module's text reaches
them in the command; a code source updated through one API worker is run by the next execution
whichever worker starts it; an executor whose setting is off fails such an action, saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import BIN_DIR, Api, process_group, wait_until
from tests.split import broker
from tests.split.test_split_deployment import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

CODE = (
    "class Hello:\n    def __init__(self, name):\n        self.name = name\n\n    def run(self, context):\n"
)
WF = """\
---
version: '2.0'
greets:
  input: [who, zone]
  output:
    said: <% $.said %>
  tasks:
    greet:
      action: hello name=<% $.who %>
      target: <% $.zone %>
      publish:
        said: <% task().result %>
"""


@pytest.fixture
def amqp_url() -> Any:
    with broker.vhost() as url:
        yield url


def _upload(api: Api, method: str, query: str, text: str) -> Any:
    return api.ok(
        method,
        f"/v2/code_sources?{query}",
        data=text.encode(),
        headers={"Content-Type": "text/plain"},
        timeout=60.0,  # a gunicorn worker still starting on a busy machine
    )


def _answers(api: Api) -> bool:
    try:
        return api.call("GET", "/v2/code_sources", timeout=30.0).status == 200
    except OSError:
        return False


def _said(api: Api, who: str, zone: str = "") -> dict[str, Any]:
    return api.wait_finished(api.start("greets", {"who": who, "zone": zone})["id"])


def test_the_executors_run_uploaded_code_they_are_sent_and_see_each_update(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,
) -> None:
    with process_group(tmp_path) as processes:
        deployment = Deployment(processes, pg_url, amqp_url)
        deployment.env["MISTRAL_CORE_DYNAMIC_ACTIONS"] = "true"
        deployment.spawn("engine", "engine")
        deployment.spawn("executor", "executor")
        off = dict(deployment.env, MISTRAL_CORE_DYNAMIC_ACTIONS="false")
        processes.spawn(
            "executor off",
            [str(BIN_DIR / "mistral-core"), "executor", "--target", "off", "--targets-only"],
            off,
        )
        api_process = deployment.spawn("api", "api", "--port", str(deployment.port), "--workers", "2")
        api_process.wait_port(deployment.port)
        api = deployment.api
        wait_until(lambda: _answers(api), "both API workers to have opened the database", timeout=60.0)
        assert (
            _upload(api, "POST", "name=greetings", CODE + "        return 'Hello, ' + self.name\n")["version"]
            == 1
        )
        api.ok(
            "POST",
            "/v2/dynamic_actions",
            {"name": "hello", "class_name": "Hello", "code_source_name": "greetings"},
        )
        api.create_workflows(WF)

        first = _said(api, "Ada")
        assert first["state"] == "SUCCESS", first["state_info"]
        assert api.output(first["id"]) == {"said": "Hello, Ada"}

        for n in range(2, 5):  # each update through either worker; each next run sees it
            _upload(api, "PUT", "identifier=greetings", CODE + f"        return '{n}: ' + self.name\n")
            for _ in range(2):
                ended = _said(api, "Bob")
                assert api.output(ended["id"]) == {"said": f"{n}: Bob"}

        refused = _said(api, "Cy", zone="off")
        assert refused["state"] == "ERROR"
        assert "dynamic actions are off on this executor" in refused["state_info"]
