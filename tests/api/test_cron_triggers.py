"""``/v2/cron_triggers``: created as the CLI sends it, list, get, delete, firing, bad input."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.api.support import Api, assert_fault

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
CRON_TRIGGER_KEYS = {
    "id",
    "name",
    "workflow_name",
    "workflow_id",
    "workflow_input",
    "workflow_params",
    "pattern",
    "first_execution_time",
    "next_execution_time",
    "remaining_executions",
    "scope",
    "project_id",
    "created_at",
    "updated_at",
}
# What ``mistral cron-trigger-list`` asks for (CronTriggerFormatter.fields()).
CLI_FIELDS = (
    "name",
    "workflow_name",
    "workflow_params",
    "pattern",
    "next_execution_time",
    "remaining_executions",
    "created_at",
    "updated_at",
)
CLI_LIST_QUERY = "sort_keys=created_at&sort_dirs=asc&fields=" + "%2C".join(CLI_FIELDS)


def cli_body(name: str = "every5", workflow: str = "wf_seq", **extra: Any) -> dict[str, Any]:
    """The body the CLI sends: every field present, unset ones null."""
    body = {"name": name, "pattern": None, "first_execution_time": None, "remaining_executions": None}
    body["workflow_id" if len(workflow) == 36 else "workflow_name"] = workflow
    body.update(extra)
    return body


def create(api: Api, body: Any) -> Any:
    return api.post_json("/v2/cron_triggers", body)


def created(api: Api, body: Any) -> dict[str, Any]:
    result = create(api, body)
    assert result.status_code == 201, result.text
    trigger: dict[str, Any] = result.json
    return trigger


# -- create ----------------------------------------------------------------------------------------
def test_create_with_a_pattern_as_the_cli_sends_it(wf_api: Api) -> None:
    trigger = created(wf_api, cli_body(pattern="*/5 * * * *"))

    assert set(trigger) == CRON_TRIGGER_KEYS
    assert (trigger["name"], trigger["workflow_name"], trigger["pattern"]) == (
        "every5",
        "wf_seq",
        "*/5 * * * *",
    )
    assert trigger["workflow_id"] == wf_api.get("/v2/workflows/wf_seq").json["id"]
    assert (trigger["workflow_input"], trigger["workflow_params"]) == ("{}", "{}")
    assert (trigger["first_execution_time"], trigger["remaining_executions"]) == (None, None)
    assert trigger["next_execution_time"] == "2026-11-29 11:30:00"  # the next multiple of 5 minutes
    assert (trigger["scope"], trigger["project_id"]) == ("private", "<default-project>")


def test_create_with_everything_as_json_strings_and_a_workflow_id(wf_api: Api) -> None:
    wf_id = wf_api.get("/v2/workflows/wf_http").json["id"]
    body = cli_body(
        "nightly",
        wf_id,
        pattern="0 2 * * *",
        first_execution_time="2026-12-01 10:00",
        remaining_executions=3,
        workflow_input='{"url": "http://example.com"}',
        workflow_params='{"env": {"k": 1}}',
    )

    trigger = created(wf_api, body)

    assert trigger["workflow_name"] == "wf_http"
    assert json.loads(trigger["workflow_input"]) == {"url": "http://example.com"}
    assert json.loads(trigger["workflow_params"]) == {"env": {"k": 1}}
    assert trigger["first_execution_time"] == "2026-12-01 10:00:00"
    assert trigger["next_execution_time"] == "2026-12-01 10:00:00"
    assert trigger["remaining_executions"] == 3


def test_a_first_time_alone_fires_once(wf_api: Api) -> None:
    trigger = created(wf_api, cli_body("once", first_execution_time="2026-12-24 18:00"))

    assert (trigger["pattern"], trigger["remaining_executions"]) == (None, 1)


def test_inputs_may_be_objects(wf_api: Api) -> None:
    body = cli_body("obj", "wf_http", pattern="* * * * *", workflow_input={"url": "u"}, workflow_params={})

    assert json.loads(created(wf_api, body)["workflow_input"]) == {"url": "u"}


# -- read and delete ------------------------------------------------------------------------------
def test_list_as_the_cli_asks(wf_api: Api) -> None:
    first = created(wf_api, cli_body("a", pattern="* * * * *"))
    second = created(wf_api, cli_body("b", pattern="0 * * * *", remaining_executions=2))

    result = wf_api.get("/v2/cron_triggers", query_string=CLI_LIST_QUERY)

    assert result.status_code == 200, result.text
    listed = result.json["cron_triggers"]
    assert [t["id"] for t in listed] == [first["id"], second["id"]]
    assert set(listed[1]) == {"id"} | set(CLI_FIELDS)
    assert listed[1]["remaining_executions"] == 2


def test_list_pages_and_filters(wf_api: Api) -> None:
    for name in ("a", "b", "c"):
        created(wf_api, cli_body(name, pattern="* * * * *", remaining_executions=len(name) + ord(name) - 96))

    page = wf_api.get("/v2/cron_triggers", query_string="limit=2&fields=name").json
    filtered = wf_api.get("/v2/cron_triggers", query_string="remaining_executions=gte:3&fields=name").json

    assert [t["name"] for t in page["cron_triggers"]] == ["a", "b"]
    assert "marker=" in page["next"]
    assert [t["name"] for t in filtered["cron_triggers"]] == ["b", "c"]
    assert wf_api.get("/v2/cron_triggers").json["cron_triggers"][0]["workflow_input"] == "{}"


def test_get_by_name_or_id_and_delete(wf_api: Api) -> None:
    trigger = created(wf_api, cli_body(pattern="* * * * *"))

    assert wf_api.get("/v2/cron_triggers/every5").json == trigger
    assert wf_api.get(f"/v2/cron_triggers/{trigger['id']}").json == trigger
    assert wf_api.client.simulate_delete("/v2/cron_triggers/every5").status_code == 204
    assert_fault(wf_api.get("/v2/cron_triggers/every5"), 404, "every5")
    assert wf_api.get("/v2/cron_triggers").json == {"cron_triggers": []}


def test_unknown_trigger_is_404(api: Api) -> None:
    assert_fault(api.get(f"/v2/cron_triggers/{UNKNOWN_ID}"), 404, UNKNOWN_ID)
    assert_fault(api.client.simulate_delete("/v2/cron_triggers/nope"), 404, "nope")


def test_there_is_no_update(wf_api: Api) -> None:
    created(wf_api, cli_body(pattern="* * * * *"))

    assert_fault(wf_api.put_json("/v2/cron_triggers/every5", {"pattern": "0 * * * *"}), 405, "PUT")


# -- firing ------------------------------------------------------------------------------------------
def test_a_firing_starts_one_execution_and_counts_down(wf_api: Api) -> None:
    trigger = created(wf_api, cli_body(pattern="*/5 * * * *", remaining_executions=2))
    due = dt.datetime(2026, 11, 29, 11, 30, 1)

    wf_api.engine.timers.fire_timers(
        wf_api.store.claim_due_timers(due, "test", due + dt.timedelta(minutes=1), 10)
    )

    (wf_ex,) = wf_api.get("/v2/executions").json["executions"]
    assert (wf_ex["workflow_name"], wf_ex["state"]) == ("wf_seq", "SUCCESS")
    assert json.loads(wf_ex["description"])["triggered_by"]["id"] == trigger["id"]
    after = wf_api.get("/v2/cron_triggers/every5").json
    assert (after["remaining_executions"], after["next_execution_time"]) == (1, "2026-11-29 11:35:00")


# -- bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"workflow_name": "wf_seq", "pattern": "* * * * *"}, 400, "field 'name'"),
        ({"name": "", "workflow_name": "wf_seq", "pattern": "* * * * *"}, 400, "field 'name'"),
        ({"name": 3, "workflow_name": "wf_seq"}, 400, "field 'name': expected a string"),
        ({"name": "t", "pattern": "* * * * *"}, 400, "Workflow ID or workflow name must be provided"),
        (cli_body(workflow="nope", pattern="* * * * *"), 404, "nope"),
        (cli_body(pattern="61 * * * *"), 400, "Invalid cron pattern '61 * * * *'"),
        (cli_body(pattern="* * *"), 400, "Invalid cron pattern"),
        (cli_body(pattern=5), 400, "field 'pattern': expected a string"),
        (cli_body(), 400, "pattern"),
        (cli_body(first_execution_time="2020-01-01 00:00"), 400, "in the past"),
        (cli_body(first_execution_time="tomorrow"), 400, "'tomorrow' is not a time; use YYYY-MM-DD HH:MM"),
        (cli_body(first_execution_time=20261201), 400, "field 'first_execution_time': expected a string"),
        (
            cli_body(pattern="* * * * *", remaining_executions=0),
            400,
            "remaining_executions must be at least 1",
        ),
        (cli_body(pattern="* * * * *", remaining_executions=-3), 400, "at least 1"),
        (cli_body(pattern="* * * * *", remaining_executions="3"), 400, "expected an integer, got a string"),
        (cli_body(pattern="* * * * *", remaining_executions=True), 400, "expected an integer, got a boolean"),
        (cli_body(pattern="* * * * *", remaining_executions=1.5), 400, "expected an integer, got a number"),
        (cli_body(pattern="* * * * *", workflow_input="[1]"), 400, "field 'workflow_input'"),
        (cli_body(pattern="* * * * *", workflow_input="{x"), 400, "field 'workflow_input'"),
        (cli_body(pattern="* * * * *", workflow_params=7), 400, "field 'workflow_params'"),
        (cli_body(workflow="wf_http", pattern="* * * * *"), 400, "url"),
        (cli_body(pattern="* * * * *", workflow_input={"nope": 1}), 400, "nope"),
    ],
)
def test_bad_bodies_are_refused_and_change_nothing(
    wf_api: Api, body: Any, status: int, fragment: str
) -> None:
    before = wf_api.snapshot()

    assert_fault(create(wf_api, body), status, fragment)

    assert wf_api.snapshot() == before


def test_a_duplicate_name_is_409(wf_api: Api) -> None:
    created(wf_api, cli_body(pattern="* * * * *"))

    assert_fault(create(wf_api, cli_body(pattern="0 * * * *")), 409, "every5")


@pytest.mark.parametrize("raw", ["{", "[]", '"x"', ""])
def test_a_body_that_is_not_a_json_object_is_400(wf_api: Api, raw: str) -> None:
    result = wf_api.client.simulate_post("/v2/cron_triggers", body=raw, content_type="application/json")

    assert_fault(result, 400)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [("colour=red", "colour"), ("remaining_executions=many", "not an integer"), ("sort_keys=nope", "nope")],
)
def test_bad_list_parameters_are_400(api: Api, query: str, fragment: str) -> None:
    assert_fault(api.get("/v2/cron_triggers", query_string=query), 400, fragment)


def test_an_oversized_body_is_413() -> None:
    small = Api(max_body_bytes=32)

    assert_fault(create(small, cli_body(pattern="* * * * *")), 413, "too large")
