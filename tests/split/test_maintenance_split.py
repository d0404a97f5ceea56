"""Maintenance mode in the split deployment: the API's gunicorn workers and the engine process see
the mode that one request set (the workers refuse new work, the engine holds a cron firing), and
a result pushed meanwhile is applied when the mode is RUNNING again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import (
    BIN_DIR,
    HOST,
    Api,
    ProcessGroup,
    clean_env,
    free_port,
    process_group,
    wait_until,
)
from tests.split import broker

WAIT = """\
---
version: '2.0'
wait_then_say:
  tasks:
    wait:
      action: std.async_noop
      on-success: say
    say:
      action: std.echo output=said
"""


@pytest.fixture
def amqp_url() -> Iterator[str]:
    with broker.vhost() as url:
        yield url


def _deployment(processes: ProcessGroup, database_url: str, transport: str) -> Api:
    port = free_port()
    env = clean_env(
        {
            "MISTRAL_CORE_DATABASE_URL": database_url,
            "MISTRAL_CORE_TRANSPORT": transport,
            "MISTRAL_CORE_PUBLIC_URL": f"http://{HOST}:{port}",
        }
    )
    for name, args in (
        ("engine", ["engine"]),
        ("executor", ["executor"]),
        ("api", ["api", "--port", str(port), "--workers", "2"]),
    ):
        process = processes.spawn(name, [str(BIN_DIR / "mistral-core"), *args], env)
    process.wait_port(port)
    api = Api(f"http://{HOST}:{port}")
    # Listening is not answering: both workers load the app first (seconds, on a busy machine).
    wait_until(lambda: _answers(api), "both gunicorn workers to answer", timeout=60)
    return api


def _answers(api: Api) -> bool:
    try:
        return all(api.call("GET", "/v2", timeout=30).status == 200 for _ in range(4))
    except OSError:
        return False


def _sql(database_url: str, statement: str) -> Any:
    import psycopg2

    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        found = cursor.fetchone() if cursor.description else cursor.rowcount
    connection.close()
    return found


def _due_now(database_url: str) -> None:
    """Bring the cron trigger's next firing to now (as if its minute had come)."""
    now = "(now() AT TIME ZONE 'utc')"
    assert (
        _sql(database_url, f"UPDATE timers SET due_at = {now} - interval '1 second' WHERE kind = 'cron'") == 1
    )


def _held(database_url: str) -> bool:
    """Whether the cron trigger's firing was put off to later (by the engine, in maintenance)."""
    found = _sql(database_url, "SELECT due_at > (now() AT TIME ZONE 'utc') FROM timers WHERE kind = 'cron'")
    return bool(found and found[0])


@pytest.mark.postgres
def test_the_workers_and_the_engine_share_the_mode(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,
) -> None:
    with process_group(tmp_path) as processes:
        api = _deployment(processes, pg_url, amqp_url)
        api.create_workflows(WAIT)
        ex_id = api.start("wait_then_say")["id"]
        action_id = api.wait_running_action(ex_id, "wait")["id"]
        trigger: dict[str, Any] = {"name": "every", "workflow_name": "wait_then_say", "pattern": "* * * * *"}
        trigger["remaining_executions"] = 5
        api.ok("POST", "/v2/cron_triggers", trigger)

        assert api.ok("PUT", "/maintenance", {"status": "PAUSED"}) == {"status": "PAUSED"}
        answers: list[Any] = [
            api.call("POST", "/v2/executions", {"workflow_name": "wait_then_say"}) for _ in range(6)
        ]
        assert {answer.status for answer in answers} == {423}  # whichever worker took it
        assert {api.get("/maintenance")["status"] for _ in range(6)} == {"PAUSED"}
        _due_now(pg_url)
        wait_until(lambda: _held(pg_url), "the engine to hold the cron firing")
        assert [ex["id"] for ex in api.get("/v2/executions")["executions"]] == [ex_id]
        assert api.get("/v2/cron_triggers/every")["remaining_executions"] == 5
        assert api.push(action_id, {"state": "SUCCESS", "output": 1}).status == 200
        assert api.execution(ex_id)["state"] == "PAUSED"

        assert api.ok("PUT", "/v2/maintenance", {"status": "RUNNING"}) == {"status": "RUNNING"}
        assert api.wait_finished(ex_id)["state"] == "SUCCESS"
        _due_now(pg_url)  # the held firing's next look: it happens now
        wait_until(lambda: len(api.get("/v2/executions")["executions"]) == 2, "the held firing to start one")
        assert api.get("/v2/cron_triggers/every")["remaining_executions"] == 4
        assert api.call("POST", "/v2/executions", {"workflow_name": "wait_then_say"}).status == 201
