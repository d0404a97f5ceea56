"""``mistral event-trigger-*`` of python-mistralclient against the real server: create (with an
input file), list, get, delete, as a user of Mistral would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.support import ServerProcess, mistral, mistral_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # the CLI takes ~0.4 s a command

WORKFLOW = """---
version: '2.0'
cli_event_wf:
  input: [x]
  tasks:
    t:
      action: std.noop
"""


def test_the_cli_creates_lists_gets_and_deletes_event_triggers(server: ServerProcess, tmp_path: Path) -> None:
    base = server.base_url
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    (tmp_path / "input.json").write_text(json.dumps({"x": 1}))
    (wf,) = mistral_json(base, "workflow-create", str(tmp_path / "wf.yaml"))

    created = mistral_json(
        base,
        "event-trigger-create",
        "on_create",
        wf["ID"],
        "nova",
        "notifications",
        "compute.instance.create.end",
        str(tmp_path / "input.json"),
    )

    assert (created["Name"], created["Exchange"], created["Event"]) == (
        "on_create",
        "nova",
        "compute.instance.create.end",
    )
    assert [t["ID"] for t in mistral_json(base, "event-trigger-list")] == [created["ID"]]
    assert mistral_json(base, "event-trigger-get", created["ID"])["Workflow ID"] == wf["ID"]
    deleted = mistral(base, "event-trigger-delete", created["ID"])
    assert deleted.returncode == 0, deleted.stderr
    # The client prints one empty row for an empty list.
    assert [t["ID"] for t in mistral_json(base, "event-trigger-list") if t["ID"]] == []
    missing = mistral(base, "event-trigger-get", created["ID"])
    assert missing.returncode != 0 and "Event trigger not found" in missing.stderr
