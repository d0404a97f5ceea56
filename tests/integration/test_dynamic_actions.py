"""Dynamic actions with the real ``mistral`` CLI against a real ``mistral-core serve``: off by
default (the CLI shows the 404's one line), and on (a config file): ``code-source-create``,
``dynamic-action-create``, a workflow running the class, ``code-source-update`` changing what the
next execution runs, the lists, and the deletes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import ProcessGroup, mistral, mistral_json, wait_until

pytestmark = pytest.mark.integration

HELLO = '''\
class Hello:
    """Says hello."""

    def __init__(self, name):
        self.name = name

    def run(self, context):
        return "Hello, " + self.name
'''

WF = """---
version: '2.0'
greets:
  input:
    - who
  output:
    said: <% $.said %>
  tasks:
    greet:
      action: hello name=<% $.who %>
      publish:
        said: <% task().result %>
"""


def _finished(base_url: str, ex_id: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def done() -> bool:
        found.update(mistral_json(base_url, "execution-get", ex_id))
        return found["State"] != "RUNNING"

    wait_until(done, f"execution {ex_id} to finish", timeout=30.0)
    return found


def _run(base_url: str, who: str) -> dict[str, Any]:
    started = mistral_json(base_url, "execution-create", "greets", json.dumps({"who": who}))
    finished = _finished(base_url, started["ID"])
    assert finished["State"] == "SUCCESS", finished
    output: dict[str, Any] = json.loads(mistral(base_url, "execution-get-output", started["ID"]).stdout)
    return output


def test_off_by_default_the_cli_says_why(processes: ProcessGroup) -> None:
    server = processes.server()

    listed = mistral(server.base_url, "code-source-list")

    assert listed.returncode != 0
    assert "Dynamic actions are off on this server" in listed.stderr + listed.stdout


def test_the_cli_uploads_a_module_names_a_class_and_runs_it(processes: ProcessGroup, tmp_path: Path) -> None:
    (processes.directory / "mistral-core.toml").write_text("dynamic_actions = true\n")
    server = processes.server()
    url = server.base_url
    (tmp_path / "greetings.py").write_text(HELLO)
    (tmp_path / "goodbye.py").write_text(HELLO.replace("Hello, ", "Goodbye, "))
    (tmp_path / "wf.yaml").write_text(WF)

    source = mistral_json(url, "code-source-create", "greetings", str(tmp_path / "greetings.py"))
    assert (source["Name"], source["Scope"]) == ("greetings", "private")
    action = mistral_json(url, "dynamic-action-create", "hello", "Hello", "greetings")
    assert (action["Name"], action["Class"], action["Code source name"]) == ("hello", "Hello", "greetings")
    assert action["Code source ID"] == source["ID"]
    mistral_json(url, "workflow-create", str(tmp_path / "wf.yaml"))

    assert _run(url, "Ada") == {"said": "Hello, Ada"}

    mistral_json(url, "code-source-update", "greetings", str(tmp_path / "goodbye.py"))
    assert _run(url, "Bob") == {"said": "Goodbye, Bob"}
    content = mistral(url, "code-source-get-content", "greetings")
    assert "Goodbye, " in content.stdout

    assert [a["Name"] for a in mistral_json(url, "dynamic-action-list")] == ["hello"]
    assert [s["Name"] for s in mistral_json(url, "code-source-list")] == ["greetings"]
    assert mistral_json(url, "dynamic-action-get", "hello")["Class"] == "Hello"
    assert "hello" in {a["Name"] for a in mistral_json(url, "action-list")}

    assert mistral(url, "dynamic-action-delete", "hello").returncode == 0
    assert mistral(url, "code-source-delete", "greetings").returncode == 0
    # The client shows an empty list as one row of empty cells.
    assert [s["Name"] for s in mistral_json(url, "code-source-list")] in ([], [""])
