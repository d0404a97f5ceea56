"""The unchanged ``mistral`` CLI against ``mistral-core serve --auth keys``: keys made with
``mistral-core keys create``, logged in with python-mistralclient's keycloak-oidc options
(README.md, "With authentication"), the roles holding through the CLI as through HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.support import (
    ServerProcess,
    create_key,
    key_login,
    mistral,
    mistral_json,
    process_group,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # the CLI takes ~0.4 s a command

WAIT = """\
---
version: '2.0'
wait_for_answer:
  output:
    answer: <% $.answer %>
  tasks:
    ask:
      action: std.async_noop
      publish:
        answer: <% task().result.answer %>
"""


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, dict[str, str], Path]]:
    """A server with ``--auth keys``, and the secrets of an admin, an operator and a reader."""
    directory = tmp_path_factory.mktemp("cli-keys")
    url = f"sqlite:///{directory / 'keys.db'}"
    secrets = {
        role: create_key(url, f"{role}-key", role, directory) for role in ("admin", "operator", "reader")
    }
    (directory / "wait.yaml").write_text(WAIT)
    with process_group(directory) as group:
        yield group.server(database_url=url, options=["--auth", "keys"]), secrets, directory


def test_the_cli_creates_starts_and_completes_with_keys(
    keyed: tuple[ServerProcess, dict[str, str], Path],
) -> None:
    server, secrets, directory = keyed
    base = server.base_url
    admin = key_login(base, "admin-key", secrets["admin"])
    operator = key_login(base, "operator-key", secrets["operator"])
    reader = key_login(base, "reader-key", secrets["reader"])

    created = mistral_json(base, "workflow-create", str(directory / "wait.yaml"), login=admin)
    assert [wf["Name"] for wf in created] == ["wait_for_answer"]
    ex_id = mistral_json(base, "execution-create", "wait_for_answer", "{}", login=operator)["ID"]

    def running_action() -> str | None:
        (task,) = mistral_json(base, "task-list", ex_id, login=reader) or [None]
        if task is None:
            return None
        actions = mistral_json(base, "action-execution-list", task["ID"], login=reader)
        return next((a["ID"] for a in actions if a["State"] == "RUNNING"), None)

    action_id = wait_until(running_action, "the async action to run", interval=0.1)
    updated = mistral_json(
        base,
        "action-execution-update",
        action_id,
        "--state",
        "SUCCESS",
        "--output",
        json.dumps({"answer": 42}),
        login=operator,
    )
    assert updated["State"] == "SUCCESS"

    def finished() -> dict[str, str] | None:
        execution: dict[str, str] = mistral_json(base, "execution-get", ex_id, login=reader)
        return execution if execution["State"] != "RUNNING" else None

    assert wait_until(finished, "the execution to finish", interval=0.1)["State"] == "SUCCESS"
    output = mistral(base, "execution-get-output", ex_id, login=reader)
    assert json.loads(output.stdout) == {"answer": 42}


def test_the_cli_is_held_to_its_role_and_to_a_valid_secret(
    keyed: tuple[ServerProcess, dict[str, str], Path],
) -> None:
    server, secrets, directory = keyed
    base = server.base_url

    no_login = mistral(base, "workflow-list")
    assert (no_login.returncode != 0 and "401" in no_login.stderr) or "Authentication" in no_login.stderr
    operator = key_login(base, "operator-key", secrets["operator"])
    refused = mistral(base, "workflow-create", str(directory / "wait.yaml"), login=operator)
    assert refused.returncode != 0
    assert "needs the role admin; operator-key is operator" in refused.stderr
    wrong = mistral(base, "workflow-list", login=key_login(base, "operator-key", secrets["reader"]))
    assert wrong.returncode != 0
    assert "Failed to get access token" in wrong.stderr and "401" in wrong.stderr
    assert secrets["reader"] not in server.log()
