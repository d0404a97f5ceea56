"""The rest of Mistral's API with the real ``mistral`` CLI against a real server: ``execution-get-report``,
``workflow-update --id``, ``action-execution-delete`` (with the setting that allows it), and ``/info``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import ServerProcess, mistral, mistral_json, process_group, request, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # the CLI takes ~0.4 s a command

WORKFLOWS = """---
version: '2.0'
rep_child:
  tasks:
    c1:
      action: std.echo output=1
    c2:
      action: std.fail
rep_parent:
  tasks:
    p1:
      action: std.noop
    p2:
      workflow: rep_child
    p3:
      action: std.fail
      retry:
        count: 2
        delay: 0
"""
RENAMED = """---
version: '2.0'
rep_renamed:
  tasks:
    only:
      action: std.noop
"""
INFO = {"build": "2026.12.6", "region": "test"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that deletes action executions when asked and publishes an info document."""
    directory = tmp_path_factory.mktemp("rest")
    info = directory / "info.json"
    info.write_text(json.dumps(INFO))
    settings = {"MISTRAL_CORE_ALLOW_ACTION_EXECUTION_DELETION": "true", "MISTRAL_CORE_INFO_FILE": str(info)}
    with process_group(directory) as group:
        yield group.server(settings=settings)


@pytest.fixture(scope="module")
def failed(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A finished rep_parent execution (ERROR), started with the CLI: its id."""
    path = tmp_path_factory.mktemp("wf") / "workflows.yaml"
    path.write_text(WORKFLOWS)
    mistral_json(server.base_url, "workflow-create", str(path))
    ex_id: str = mistral_json(server.base_url, "execution-create", "rep_parent")["ID"]

    def finished() -> bool:
        return bool(mistral_json(server.base_url, "execution-get", ex_id)["State"] == "ERROR")

    wait_until(finished, f"execution {ex_id} to fail", interval=0.2)
    return ex_id


def cli(server: ServerProcess, *args: str) -> str:
    done = mistral(server.base_url, *args)
    assert done.returncode == 0, f"mistral {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_execution_get_report_prints_the_error_paths_by_default(server: ServerProcess, failed: str) -> None:
    printed = cli(server, "execution-get-report", failed)

    assert "Number of tasks in ERROR state: 3" in printed
    assert "Number of tasks in SUCCESS state: 0" in printed  # errors only: the successes are left out
    assert f"workflow 'rep_parent' [ERROR] {failed}" in printed
    assert "task 'p3' [ERROR]" in printed and "(retry count: 2)" in printed
    assert "workflow 'rep_child' [ERROR]" in printed and "task 'c2' [ERROR]" in printed
    assert "action 'std.fail' [ERROR]" in printed
    assert "task 'p1'" not in printed and "task 'c1'" not in printed


def test_execution_get_report_options(server: ServerProcess, failed: str) -> None:
    everything = cli(server, "execution-get-report", failed, "--no-errors-only")
    assert "task 'p1' [SUCCESS]" in everything and "task 'c1' [SUCCESS]" in everything
    assert "Number of tasks in SUCCESS state: 2" in everything

    statistics = cli(server, "execution-get-report", failed, "--no-errors-only", "--statistics-only")
    assert "Number of tasks in SUCCESS state: 2" in statistics
    assert "Workflow Execution Tree" not in statistics

    shallow = cli(server, "execution-get-report", failed, "--no-errors-only", "--max-depth", "0")
    assert "workflow 'rep_child' [ERROR]" in shallow and "task 'c1'" not in shallow

    # The CLI reads the answer without checking its status (against Mistral too): it fails all the same.
    assert mistral(server.base_url, "execution-get-report", "nope").returncode != 0


def test_workflow_update_by_id_renames_it(server: ServerProcess, tmp_path: Path) -> None:
    original = tmp_path / "original.yaml"
    original.write_text(RENAMED.replace("rep_renamed", "rep_original"))
    (created,) = mistral_json(server.base_url, "workflow-create", str(original))
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(RENAMED)

    (updated,) = mistral_json(server.base_url, "workflow-update", str(renamed), "--id", created["ID"])

    assert (updated["ID"], updated["Name"]) == (created["ID"], "rep_renamed")
    assert mistral_json(server.base_url, "workflow-get", created["ID"])["Name"] == "rep_renamed"


def test_action_execution_delete(server: ServerProcess, failed: str) -> None:
    ran: dict[str, Any] = mistral_json(server.base_url, "run-action", "std.noop", "-s")

    def done() -> bool:
        return bool(mistral_json(server.base_url, "action-execution-get", ran["ID"])["State"] == "SUCCESS")

    wait_until(done, f"action execution {ran['ID']} to finish", interval=0.2)

    cli(server, "action-execution-delete", ran["ID"])
    gone = mistral(server.base_url, "action-execution-get", ran["ID"])
    assert gone.returncode != 0 and f"ActionExecution not found [id={ran['ID']}]" in gone.stderr

    (task,) = [t for t in mistral_json(server.base_url, "task-list", failed) if t["Name"] == "p1"]
    (action_ex,) = mistral_json(server.base_url, "action-execution-list", task["ID"])
    refused = mistral(server.base_url, "action-execution-delete", action_ex["ID"])
    assert "Only ad-hoc action execution can be deleted." in refused.stdout + refused.stderr


def test_info_answers_the_published_document(server: ServerProcess) -> None:
    answer = request("GET", server.base_url + "/info")
    assert (answer.status, json.loads(answer.body)) == (200, INFO)
