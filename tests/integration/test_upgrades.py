"""Upgrading a database written by mistral-core 0.1.0, through the commands an operator types.

The databases of tests/fixtures were written by the real 0.1.0 (see the README there): ``hello``
finished, ``approve`` waiting for the result of its async action. After ``db upgrade`` (or
``serve --upgrade``) the result is pushed over HTTP and the old execution finishes.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from mistral_core.persistence.migrations import LATEST_VERSION, STEPS
from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.fixtures.databases import copy_v010_sqlite, load_v010_postgresql
from tests.integration.support import BIN_DIR, HOST, Api, ProcessGroup, clean_env, free_port

pytestmark = pytest.mark.integration
Completed = subprocess.CompletedProcess[str]

UPGRADE_FROM_1 = [
    *(f"applied step {step.version}: {step.description}" for step in STEPS[1:]),
    f"upgraded from schema version 1 to {LATEST_VERSION}",
]


def mistral_core(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Completed:
    """Run ``mistral-core`` to its end (environment: :func:`clean_env` plus ``env``); never raises."""
    return subprocess.run(
        [str(BIN_DIR / "mistral-core"), *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def serve_once(url: str, cwd: Path, *options: str) -> Completed:
    """``mistral-core serve`` over ``url``, expected to refuse to start."""
    return mistral_core("serve", "--port", str(free_port()), "--database-url", url, *options, cwd=cwd)


def older_message(url: str) -> str:
    return (
        f"database schema version 1 is older than this mistral-core ({LATEST_VERSION}): "
        f"run: mistral-core db upgrade --database-url {url} (or start with --upgrade)"
    )


def finish_the_0_1_0_story(api: Api) -> None:
    """The executions 0.1.0 left: ``hello`` done, ``approve`` waiting; push the answer; it ends."""
    executions = {e["workflow_name"]: e for e in api.get("/v2/executions")["executions"]}
    assert executions["hello"]["state"] == "SUCCESS"
    waiting = executions["approve"]
    assert waiting["state"] == "RUNNING"
    action = api.wait_running_action(waiting["id"], "ask")

    answer = api.push(action["id"], {"state": "SUCCESS", "output": {"approved": True}})

    assert answer.status == 200, answer
    assert api.wait_finished(waiting["id"])["state"] == "SUCCESS"
    assert api.output(waiting["id"]) == {"greeting": "hello 0.1.0", "answer": {"approved": True}}
    assert sorted((t["name"], t["state"]) for t in api.tasks(waiting["id"])) == [
        ("ask", "SUCCESS"),
        ("done", "SUCCESS"),
        ("greet", "SUCCESS"),
    ]


def test_a_0_1_0_sqlite_database_is_refused_then_upgraded_and_its_wait_ends(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    database = copy_v010_sqlite(tmp_path)
    url = f"sqlite:///{database}"

    refused = serve_once(url, tmp_path)
    assert refused.returncode != 0
    assert refused.stderr.splitlines()[-1] == f"Error: {older_message(url)}"
    assert "Traceback" not in refused.stderr

    upgraded = mistral_core("db", "upgrade", "--database-url", url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.splitlines() == UPGRADE_FROM_1

    server = processes.server(database)
    finish_the_0_1_0_story(server.api)
    assert server.stop() == 0, server.log()[-3000:]
    again = mistral_core("db", "upgrade", "--database-url", url, cwd=tmp_path)
    assert again.stdout == f"already at schema version {LATEST_VERSION}\n"


@pytest.mark.postgres
def test_a_0_1_0_postgresql_database_is_refused_then_upgraded_and_its_wait_ends(
    pg_url: str,  # noqa: F811  (the fixture imported above)
    processes: ProcessGroup,
    tmp_path: Path,
) -> None:
    load_v010_postgresql(pg_url)

    refused = serve_once(pg_url, tmp_path)
    assert refused.returncode != 0
    assert refused.stderr.splitlines()[-1] == f"Error: {older_message(pg_url)}"

    upgraded = mistral_core("db", "upgrade", "--database-url", pg_url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.splitlines() == UPGRADE_FROM_1

    server = processes.server(pg_url)
    finish_the_0_1_0_story(server.api)
    assert server.stop() == 0, server.log()[-3000:]


def test_serve_creates_the_schema_of_an_empty_database(processes: ProcessGroup, tmp_path: Path) -> None:
    server = processes.server(tmp_path / "fresh.db")

    assert f"INFO mistral_core.persistence.sql: {server.database_url}: created schema version" in server.log()
    assert server.api.get("/v2/executions")["executions"] == []


def test_serve_upgrade_upgrades_first_and_logs_each_step(processes: ProcessGroup, tmp_path: Path) -> None:
    database = copy_v010_sqlite(tmp_path)

    server = processes.server(database, options=("--upgrade",))

    log = server.log()
    for line in UPGRADE_FROM_1:
        assert f"WARNING mistral_core.persistence.sql: sqlite:///{database}: {line}" in log
    finish_the_0_1_0_story(server.api)


def test_the_upgrade_setting_of_the_config_file_upgrades_too(processes: ProcessGroup, tmp_path: Path) -> None:
    database = copy_v010_sqlite(tmp_path)
    (tmp_path / "mistral-core.toml").write_text("upgrade = true\n")  # the server runs in tmp_path

    server = processes.server(database)

    assert UPGRADE_FROM_1[-1] in server.log()


def test_an_upgrade_setting_that_is_not_a_boolean_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{copy_v010_sqlite(tmp_path)}"

    refused = mistral_core(
        "serve", "--database-url", url, cwd=tmp_path, env={"MISTRAL_CORE_UPGRADE": "maybe"}
    )

    assert refused.returncode != 0
    assert refused.stderr == "Error: setting upgrade must be true or false, not 'maybe'\n"


def test_a_newer_database_is_refused_whatever_the_flags(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    assert mistral_core("db", "upgrade", "--database-url", url, cwd=tmp_path).returncode == 0
    newer = LATEST_VERSION + 1
    with sqlite3.connect(tmp_path / "newer.db") as conn:
        conn.execute(f'INSERT INTO "schema_version" ("version") VALUES ({newer})')
    conn.close()
    message = (
        f"Error: database schema version {newer} is newer than this mistral-core ({LATEST_VERSION}): "
        "upgrade mistral-core"
    )

    for refused in (
        serve_once(url, tmp_path),
        serve_once(url, tmp_path, "--upgrade"),
        mistral_core("db", "upgrade", "--database-url", url, cwd=tmp_path),
    ):
        assert refused.returncode != 0
        assert refused.stderr.splitlines()[-1] == message
        assert "Traceback" not in refused.stderr


def test_db_version_names_the_pending_steps(tmp_path: Path) -> None:
    url = f"sqlite:///{copy_v010_sqlite(tmp_path)}"

    result = mistral_core("db", "version", "--database-url", url, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"database schema version 1; this mistral-core's: {LATEST_VERSION}",
        *(f"pending step {step.version}: {step.description}" for step in STEPS[1:]),
    ]


def test_gunicorn_refuses_an_older_database_in_one_line_and_upgrades_when_told(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    database = copy_v010_sqlite(tmp_path)
    url = f"sqlite:///{database}"
    port = free_port()
    command = [
        str(BIN_DIR / "gunicorn"),
        "mistral_core.wsgi:app",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        "1",
    ]

    refused = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=clean_env({"MISTRAL_CORE_DATABASE_URL": url}),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert older_message(url) in refused.stderr.splitlines()
    assert "Traceback" not in refused.stderr

    env = clean_env({"MISTRAL_CORE_DATABASE_URL": url, "MISTRAL_CORE_UPGRADE": "true"})
    gunicorn = processes.spawn("gunicorn", command, env)
    gunicorn.wait_port(port)
    finish_the_0_1_0_story(Api(f"http://{HOST}:{port}"))
