"""The unchanged ``mistral`` CLI, authenticated by an OpenID Connect provider, end to end.

python-mistralclient's ``keycloak-oidc`` auth type asks
``{--os-auth-url}/realms/{--os-project-name}/protocol/openid-connect/token`` for an access token
with the password grant and sends it as ``X-Auth-Token``. The provider (node-oidc-provider,
tests/oidc) serves that route; the server (``auth = oidc``) checks the token against the
provider's keys. Exactly the flags docs/operations.md documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import ProcessGroup, ServerProcess, mistral, process_group, wait_until
from tests.oidc.support import (
    CLIENT_SECRET,
    CONFIDENTIAL_CLIENT,
    PASSWORD,
    PUBLIC_CLIENT,
    OidcProvider,
    oidc_server,
    start_provider,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # the CLI takes ~0.5 s a command

WF = """\
---
version: '2.0'
cli_oidc_wf:
  input:
    - x: 1
  output:
    result: <% $.r %>
  tasks:
    wait:
      action: std.async_noop
      publish:
        r: <% task().result %>
"""


class Setup:
    def __init__(self, group: ProcessGroup) -> None:
        self.provider: OidcProvider = start_provider(group)
        self.server: ServerProcess = oidc_server(group, self.provider)

    def flags(self, username: str, client_secret: bool = False) -> list[str]:
        """The CLI's flags for ``username`` (docs/operations.md, "Authentication with OpenID Connect")."""
        flags = [
            "--auth-type", "keycloak-oidc",
            "--os-auth-url", self.provider.base_url,
            "--os-project-name", self.provider.realm,
            "--openid-client-id", CONFIDENTIAL_CLIENT if client_secret else PUBLIC_CLIENT,
            "--os-username", username,
            "--os-password", PASSWORD,
        ]  # fmt: skip
        return [*flags, "--openid-client-secret", CLIENT_SECRET] if client_secret else flags

    def cli(self, username: str, *args: str, client_secret: bool = False) -> Any:
        """A ``mistral`` command as ``username`` that must succeed; its JSON output."""
        result = mistral(self.server.base_url, *self.flags(username, client_secret), *args, "-f", "json")
        assert result.returncode == 0, f"mistral {' '.join(args)} -> {result.returncode}: {result.stderr}"
        return json.loads(result.stdout)

    def cli_fails(self, username: str, *args: str) -> str:
        """A ``mistral`` command as ``username`` that must fail; what it printed on stderr."""
        result = mistral(self.server.base_url, *self.flags(username), *args)
        assert result.returncode != 0, result.stdout
        return str(result.stderr)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with process_group(tmp_path_factory.mktemp("cli-oidc")) as group:
        yield Setup(group)


def test_the_cli_creates_runs_and_completes_a_workflow_through_the_provider(
    setup: Setup, tmp_path: Path
) -> None:
    definition = tmp_path / "wf.yaml"
    definition.write_text(WF)

    created = setup.cli("ada", "workflow-create", str(definition))
    assert [wf["Name"] for wf in created] == ["cli_oidc_wf"]
    assert "cli_oidc_wf" in {wf["Name"] for wf in setup.cli("rita", "workflow-list")}

    # An operator, through the confidential client (--openid-client-secret), runs it and pushes
    # the async action's result as a person would.
    ex_id = setup.cli("otto", "execution-create", "cli_oidc_wf", "{}", client_secret=True)["ID"]

    def running_action() -> str | None:
        tasks = setup.cli("otto", "task-list", ex_id)
        actions = [a for t in tasks for a in setup.cli("otto", "action-execution-list", t["ID"])]
        return next((a["ID"] for a in actions if a["State"] == "RUNNING"), None)

    action_id = wait_until(running_action, "the async action to run", interval=0.2)
    updated = setup.cli("otto", "action-execution-update", action_id, "--state", "SUCCESS", "--output", "42")
    assert updated["State"] == "SUCCESS"

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = setup.cli("rita", "execution-get", ex_id)
        return execution if execution["State"] != "RUNNING" else None

    assert wait_until(finished, "the execution to finish", interval=0.2)["State"] == "SUCCESS"
    output = mistral(setup.server.base_url, *setup.flags("rita"), "execution-get-output", ex_id)
    assert json.loads(output.stdout) == {"result": 42}


def test_the_cli_is_refused_beyond_the_role_and_without_credentials(setup: Setup, tmp_path: Path) -> None:
    definition = tmp_path / "wf.yaml"
    definition.write_text(WF.replace("cli_oidc_wf", "cli_oidc_other"))

    assert "POST /v2/workflows needs the role admin; rita is reader" in setup.cli_fails(
        "rita", "workflow-create", str(definition)
    )
    assert "nobody has no role here" in setup.cli_fails("nobody", "workflow-list")
    assert "Failed to get access token" in setup.cli_fails("ada", "--os-password", "wrong", "workflow-list")
    without = mistral(setup.server.base_url, "workflow-list")
    assert without.returncode != 0 and "Authentication required" in without.stderr
