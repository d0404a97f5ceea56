"""The unchanged ``mistral`` CLI shares a workflow between two projects of ``mistral-core serve
--auth keys``: ``member-create``, ``member-list``, ``member-get`` and ``member-update`` (without
``-m``: the client names its own project, the realm it logged in to), ``member-delete``; once
accepted, the member project lists and runs the workflow through the CLI too."""

from __future__ import annotations

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

SHARED = """\
---
version: '2.0'
shared_wf:
  output:
    said: <% $.said %>
  tasks:
    say:
      action: std.echo output="shared"
      publish:
        said: <% task().result %>
"""


def rows(base: str, *args: str, login: tuple[str, ...]) -> list[dict[str, str]]:
    """A listing command's rows (the CLI prints one row of blanks for an empty list)."""
    listed: list[dict[str, str]] = mistral_json(base, *args, login=login)
    return [row for row in listed if any(row.values())]


@pytest.fixture(scope="module")
def two_projects(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, str], Path]]:
    """A server with ``--auth keys``, and the secrets of the admins of projects ``team-a`` and ``team-b``."""
    directory = tmp_path_factory.mktemp("cli-sharing")
    url = f"sqlite:///{directory / 'sharing.db'}"
    secrets = {
        team: create_key(url, f"{team}-admin", "admin", directory, project=team)
        for team in ("team-a", "team-b")
    }
    (directory / "shared.yaml").write_text(SHARED)
    with process_group(directory) as group:
        yield group.server(database_url=url, options=["--auth", "keys"]), secrets, directory


def test_the_cli_shares_a_workflow_and_the_member_accepts_and_runs_it(
    two_projects: tuple[ServerProcess, dict[str, str], Path],
) -> None:
    server, secrets, directory = two_projects
    base = server.base_url
    # The realm (--os-project-name) is the key's project: the client names it in member-get/update.
    team_a = key_login(base, "team-a-admin", secrets["team-a"], project="team-a")
    team_b = key_login(base, "team-b-admin", secrets["team-b"], project="team-b")

    (created,) = mistral_json(base, "workflow-create", str(directory / "shared.yaml"), login=team_a)
    wf_id = created["ID"]
    made = mistral_json(base, "member-create", wf_id, "workflow", "team-b", login=team_a)
    assert (made["Resource ID"], made["Resource Owner"], made["Member ID"], made["Status"]) == (
        wf_id,
        "team-a",
        "team-b",
        "pending",
    )
    assert rows(base, "workflow-list", login=team_b) == []
    assert mistral_json(base, "member-get", wf_id, "workflow", login=team_b)["Status"] == "pending"

    accepted = mistral_json(base, "member-update", wf_id, "workflow", login=team_b)
    assert accepted["Status"] == "accepted"
    assert [w["Name"] for w in rows(base, "workflow-list", login=team_b)] == ["shared_wf"]
    listed = rows(base, "member-list", wf_id, "workflow", login=team_a)
    assert [(m["Member ID"], m["Status"]) for m in listed] == [("team-b", "accepted")]
    shown = mistral_json(base, "member-get", wf_id, "workflow", "-m", "team-b", login=team_a)
    assert shown["Status"] == "accepted"

    ex_id = mistral_json(base, "execution-create", wf_id, "{}", login=team_b)["ID"]

    def finished() -> dict[str, str] | None:
        execution: dict[str, str] = mistral_json(base, "execution-get", ex_id, login=team_b)
        return execution if execution["State"] != "RUNNING" else None

    assert wait_until(finished, "the member's execution to finish", interval=0.1)["State"] == "SUCCESS"
    assert rows(base, "execution-list", login=team_a) == [], "the execution is the member's"

    rejected = mistral_json(base, "member-update", wf_id, "workflow", "-s", "rejected", login=team_b)
    assert rejected["Status"] == "rejected"
    assert rows(base, "workflow-list", login=team_b) == []

    # Only the owner removes a member; the member is told so in one line.
    refused = mistral(base, "member-delete", wf_id, "workflow", "team-b", login=team_b)
    assert refused.returncode != 0 and "Unable to delete the specified member" in refused.stderr
    assert "a member rejects the workflow instead" in refused.stdout + refused.stderr
    removed = mistral(base, "member-delete", wf_id, "workflow", "team-b", login=team_a)
    assert removed.returncode == 0, removed.stderr
    assert "Request to delete workflow member team-b has been accepted." in removed.stdout
    assert rows(base, "member-list", wf_id, "workflow", login=team_a) == []
    gone = mistral(base, "member-get", wf_id, "workflow", login=team_b)
    assert gone.returncode != 0 and "Workflow not found" in gone.stderr
