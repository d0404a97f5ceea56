"""``gunicorn mistral_core.wsgi:app`` serves the same API (the deployed process model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.support import (
    BIN_DIR,
    HOST,
    REPO_ROOT,
    Api,
    Process,
    ProcessGroup,
    Recorder,
    clean_env,
    free_port,
)

pytestmark = pytest.mark.integration

SEQ = REPO_ROOT / "contrib" / "example_workflows" / "seq.yaml"
CALL_OUT = """\
---
version: '2.0'
call_out:
  input:
    - url
  tasks:
    call:
      action: std.mistral_http url=<% $.url %>
"""


def _gunicorn(processes: ProcessGroup, database: Path) -> tuple[Process, Api]:
    """``gunicorn mistral_core.wsgi:app`` on a free port, configured by the environment only."""
    port = free_port()
    command = [
        str(BIN_DIR / "gunicorn"),
        "mistral_core.wsgi:app",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        "1",
    ]
    gunicorn = processes.spawn(
        "gunicorn", command, clean_env({"MISTRAL_CORE_DATABASE_URL": f"sqlite:///{database}"})
    )
    gunicorn.wait_port(port)
    return gunicorn, Api(f"http://{HOST}:{port}")


def test_gunicorn_serves_the_api_and_runs_a_sync_workflow(processes: ProcessGroup, tmp_path: Path) -> None:
    gunicorn, api = _gunicorn(processes, tmp_path / "gunicorn.db")

    assert api.call("GET", "/v2").status == 200
    assert [wf["name"] for wf in api.create_workflows(SEQ.read_text())] == ["seq"]
    ex_id = api.start("seq", {"name": "gunicorn"})["id"]

    assert api.wait_finished(ex_id)["state"] == "SUCCESS"
    assert api.output(ex_id) == {"message": "hello, gunicorn!"}
    assert [t["state"] for t in api.tasks(ex_id)] == ["SUCCESS"] * 3
    assert (tmp_path / "gunicorn.db").is_file()  # the database the environment named
    assert gunicorn.stop() == 0, gunicorn.log()[-3000:]


def test_under_gunicorn_callbacks_point_at_gunicorn(processes: ProcessGroup, tmp_path: Path) -> None:
    _, api = _gunicorn(processes, tmp_path / "gunicorn.db")
    api.create_workflows(CALL_OUT)

    with Recorder() as recorder:
        ex_id = api.start("call_out", {"url": recorder.url})["id"]
        api.wait_running_action(ex_id, "call")
        headers = recorder.wait_requests()[0].headers

    assert headers["Mistral-Callback-URL"] == api.base_url
    assert api.get("/v2")["uri"] == f"{api.base_url}/v2"
