"""What a new user meets in the first hour, from a fresh clone: the scripts, the tour's CLI, the
messages of a missing driver and of a restart, the commands the docs cite, the benchmark's port."""

from __future__ import annotations

import configparser
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mistral_core.persistence.sql import POSTGRESQL_DRIVER_MISSING
from tests.integration.support import (
    BIN_DIR,
    REPO_ROOT,
    ProcessGroup,
    clean_env,
    free_port,
    mistral,
    mistral_json,
    wait_until,
)

pytestmark = pytest.mark.integration

WAITING = """\
---
version: '2.0'
waits:
  tasks:
    t:
      action: std.async_noop
"""


def test_serve_sh_installs_the_mistral_command_of_the_tour() -> None:
    """serve.sh sets up with --client, which installs python-mistralclient (README's tour)."""
    serve = (REPO_ROOT / "scripts" / "serve.sh").read_text()
    setup = (REPO_ROOT / "scripts" / "setup.sh").read_text()
    assert "scripts/setup.sh --client" in serve
    assert re.search(r'--client\) extras="\[client\]"', setup)
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "setup.cfg")
    assert "python-mistralclient" in config["options.extras_require"]["client"]
    assert "`scripts/serve.sh` installs it into `.venv`" in (REPO_ROOT / "README.md").read_text()


def _without_psycopg2(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mistral-core <args>`` in a Python where psycopg2 cannot be imported (as after serve.sh)."""
    code = (
        "import sys; sys.modules['psycopg2'] = None; sys.argv = ['mistral-core', *sys.argv[1:]]; "
        "from mistral_core.cli import main; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--port", "0", "--database-url", "postgresql://postgres@127.0.0.1/test"),
        ("db", "upgrade", "--database-url", "postgresql://postgres@127.0.0.1/test"),
        ("db", "version", "--database-url", "postgres://postgres@127.0.0.1/test"),
    ],
)
def test_a_postgresql_url_without_its_driver_names_the_extra(args: tuple[str, ...], tmp_path: Path) -> None:
    result = _without_psycopg2(*args, cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert POSTGRESQL_DRIVER_MISSING in result.stderr
    assert "pip install -e '.[postgresql]'" in result.stderr
    assert "driver not found" not in result.stderr
    assert "Traceback" not in result.stderr


def _engine_timers(database: Path) -> int:
    with sqlite3.connect(database) as db:
        (count,) = db.execute("SELECT count(*) FROM timers WHERE kind = 'engine'").fetchone()
    return int(count)


def test_a_restart_with_actions_waiting_warns_of_nothing(processes: ProcessGroup) -> None:
    """Waiting async actions are normal: INFO at restart; a clean stop leaves no heartbeat behind."""
    database = processes.directory / "waits.db"
    first = processes.server(database)
    first.api.create_workflows(WAITING)
    execution = first.api.start("waits")
    first.api.wait_running_action(execution["id"], "t")
    assert first.stop() == 0
    assert _engine_timers(database) == 0  # stopped cleanly: nobody must take over its actions

    second = processes.server(database)
    wait_until(lambda: "listening on" in second.log(), "the server to listen")
    action = second.api.wait_running_action(execution["id"], "t")
    assert second.api.push(action["id"], {"state": "SUCCESS", "output": 1}).status == 200
    second.api.wait_finished(execution["id"])
    log = second.log()
    assert " WARNING " not in log, log
    assert "1 action execution(s) run again (safe to re-run; asynchronous ones wait" in log


def test_run_action_of_an_async_action_answers_as_mistral(processes: ProcessGroup) -> None:
    """Without -s the CLI prints the output, None, as against Mistral 23; -s shows the id."""
    server = processes.server()

    plain = mistral(server.base_url, "run-action", "std.async_noop")
    saved = mistral_json(server.base_url, "run-action", "-s", "std.async_noop")

    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "None"  # what the CLI prints against Mistral 23 too
    assert saved["State"] == "RUNNING"
    listed = server.api.get("/v2/action_executions")["action_executions"]
    assert {a["id"] for a in listed} >= {saved["ID"]}
    assert len(listed) == 2  # the first one was stored as well, as Mistral stores it


def test_the_docs_cite_only_commands_the_mistral_cli_has() -> None:
    """Every ``mistral <command>`` of README.md and docs/ exists in python-mistralclient."""
    texts = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    cited = {
        command
        for path in texts
        for command in re.findall(r"`mistral ([a-z]+(?:-[a-z]+)+|[a-z]+-[a-z]+)", path.read_text())
    }
    listing = subprocess.run(
        [str(BIN_DIR / "mistral"), "help"], capture_output=True, text=True, env=clean_env(), check=False
    )
    known = set(re.findall(r"^  ([a-z][a-z-]+) ", listing.stdout, re.MULTILINE))
    assert cited, "no command found in the docs"
    assert cited <= known, sorted(cited - known)


def test_the_benchmark_serves_on_the_port_asked(tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        str(REPO_ROOT / "benchmarks" / "run.py"),
        "--port",
        str(port),
        "--scenarios",
        "e",
        "--e-tasks",
        "2",
        "--repeat",
        "1",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, env=clean_env(), cwd=tmp_path, check=False
    )

    assert result.returncode == 0, result.stderr
    assert f"on http://127.0.0.1:{port};" in result.stderr
    refused = subprocess.run(
        [*command[:2], "--port", "70000"], capture_output=True, text=True, env=clean_env(), check=False
    )
    assert refused.returncode == 2
    assert "--port must be 1 to 65535" in refused.stderr


def test_serve_sh_installs_no_test_provider() -> None:
    """The tour's set-up (--client) installs no npm packages: the OIDC provider is for the tests (--dev)."""
    setup = (REPO_ROOT / "scripts" / "setup.sh").read_text()
    npm_guard = next(line for line in setup.splitlines() if "command -v npm" in line)
    assert '"$1"' not in npm_guard and '"[dev]"' in npm_guard, npm_guard


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("serve", "--port", "99999"), {}),
        (("serve",), {"MISTRAL_CORE_PORT": "-1"}),
        (("run", "--port", "70000", str(REPO_ROOT / "contrib" / "example_workflows" / "seq.yaml")), {}),
    ],
)
def test_a_port_out_of_range_is_one_line_not_a_traceback(
    args: tuple[str, ...], env: dict[str, str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [str(BIN_DIR / "mistral-core"), *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "port must be 0 to 65535" in result.stderr
