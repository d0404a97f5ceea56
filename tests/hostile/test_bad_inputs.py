"""Hostile inputs thrown at every route of a real server, on SQLite and on PostgreSQL.

Each case is one request a stranger can send: a NUL, a lone surrogate or bytes that are not
UTF-8 in a path or a query string; a NUL, a lone surrogate, ``NaN``, ``Infinity`` or a number
too large for a float anywhere in a JSON body (names, filters, descriptions, free input and
output); a cron pattern that never fires; a number too large for a count. Every one must get a
4xx with Mistral's one-line fault body, never a 500, and leave nothing half-written: at the
end, the server's lists are what the seeds made, in strict JSON, and its log holds no crash.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import pg_module_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import Api, ServerProcess, process_group, request

pytestmark = pytest.mark.integration

WAIT_ONE = """\
---
version: '2.0'
wait_one:
  input:
    - x: 1
  tasks:
    t1:
      action: std.async_noop
"""
ADHOC = """\
---
version: '2.0'
hostile_action:
  base: std.noop
"""
WORKBOOK = """\
---
version: '2.0'
name: hostile_book
workflows:
  wf:
    tasks:
      t:
        action: std.noop
"""
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclasses.dataclass(frozen=True)
class World:
    """A server with one of everything, and what the seeds left in its lists."""

    server: ServerProcess
    ids: dict[str, str]
    seeded: dict[str, Any]

    @property
    def api(self) -> Api:
        return self.server.api


def _lists(api: Api) -> dict[str, Any]:
    """What every list shows, parsed strictly (``NaN`` or ``Infinity`` would fail here)."""
    found = {}
    for name in ("workflows", "executions", "tasks", "action_executions", "cron_triggers", "environments"):
        answer = api.call("GET", f"/v2/{name}")
        assert answer.status == 200, answer
        found[name] = json.loads(answer.body, parse_constant=_refuse_constant)
    return found


def _refuse_constant(name: str) -> Any:
    raise AssertionError(f"the server answered {name}, which is not JSON")


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server over the backend, seeded with a waiting execution, a cron trigger and an environment."""
    database_url = request.getfixturevalue("pg_module_url") if request.param == "postgresql" else None
    with process_group(Path(tmp_path_factory.mktemp("hostile"))) as group:
        server = group.server(database_url=database_url)
        api = server.api
        api.create_workflows(WAIT_ONE)
        api.ok("POST", "/v2/actions", data=ADHOC.encode(), headers={"Content-Type": "text/plain"})
        api.ok("POST", "/v2/workbooks", data=WORKBOOK.encode(), headers={"Content-Type": "text/plain"})
        ex_id = api.start("wait_one")["id"]
        action = api.wait_running_action(ex_id, "t1")
        api.ok("POST", "/v2/environments", {"name": "env1", "variables": {"a": 1}})
        api.ok(
            "POST",
            "/v2/cron_triggers",
            {"name": "hourly", "workflow_name": "wait_one", "pattern": "0 * * * *"},
        )
        ids = {"ex": ex_id, "task": action["task_execution_id"], "action": action["id"]}
        yield World(server, ids, _settled(api))


def _settled(api: Api) -> dict[str, Any]:
    """The lists once nothing moves any more: the executor records the hand-off of the async action
    in a later transaction, which a loaded machine may run after the action shows RUNNING."""
    before = _lists(api)
    for _ in range(60):
        time.sleep(0.5)
        now = _lists(api)
        if now == before:
            return now
        before = now
    raise AssertionError("the seeded records kept changing for 30 s")


# -- the table ------------------------------------------------------------------------------------

#: Percent-encoded, for paths and query strings: what each token decodes to.
URL_TOKENS = {"NUL": "a%00b", "surrogate": "a%ED%A0%80b", "not UTF-8": "a%FFb"}
#: Raw JSON text, for bodies.
STRING_TOKENS = {"NUL": r'"a\u0000b"', "high surrogate": r'"a\ud800b"', "low surrogate": r'"\udfffb"'}
NUMBER_TOKENS = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity", "1e999": "1e999"}
ALL_TOKENS = {**STRING_TOKENS, **NUMBER_TOKENS}
PLACEHOLDER = "__HOSTILE__"


@dataclasses.dataclass(frozen=True)
class Case:
    """One request; ``{ex}``, ``{task}`` and ``{action}`` in the path are the seeds' ids."""

    method: str
    path: str
    body: bytes | None = None
    content_type: str = "application/json"
    fault: str = ""  # a part of the faultstring, when it matters


def _json_body(template: Any, token: str) -> bytes:
    """``template`` as JSON with the placeholder (a value or a key) replaced by ``token``."""
    return json.dumps(template).replace(f'"{PLACEHOLDER}"', token).encode()


def _put(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with ``value`` at ``dotted`` (``params.env.k``)."""
    copy = json.loads(json.dumps(document))
    target = copy
    *parents, last = dotted.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[last] = value
    return copy


YAML = "text/plain"
#: Routes with a path parameter: (method, path with {bad}, body, content type).
PATH_ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/v2/workflows/{bad}", None, YAML),
    ("DELETE", "/v2/workflows/{bad}", None, YAML),
    ("GET", "/v2/executions/{bad}", None, YAML),
    ("PUT", "/v2/executions/{bad}", {"state": "PAUSED"}, "application/json"),
    ("DELETE", "/v2/executions/{bad}", None, YAML),
    ("GET", "/v2/executions/{bad}/tasks", None, YAML),
    ("GET", "/v2/executions/{bad}/executions", None, YAML),
    ("GET", "/v2/tasks/{bad}", None, YAML),
    ("PUT", "/v2/tasks/{bad}", {"state": "SKIPPED"}, "application/json"),
    ("GET", "/v2/tasks/{bad}/action_executions", None, YAML),
    ("GET", "/v2/tasks/{bad}/workflow_executions", None, YAML),
    ("GET", "/v2/tasks/{bad}/executions", None, YAML),
    ("GET", "/v2/action_executions/{bad}", None, YAML),
    ("PUT", "/v2/action_executions/{bad}", {"state": "SUCCESS", "output": 1}, "application/json"),
    ("POST", "/v2/action_executions/{bad}", {"state": "SUCCESS", "output": 1}, "application/json"),
    ("PUT", "/v2/action-executions/{bad}", {"state": "SUCCESS", "output": 1}, "application/json"),
    ("GET", "/v2/actions/{bad}", None, YAML),
    ("PUT", "/v2/actions/{bad}", ADHOC, YAML),
    ("DELETE", "/v2/actions/{bad}", None, YAML),
    ("GET", "/v2/actions/{bad}/ns", None, YAML),
    ("GET", "/v2/actions/std.noop/{bad}", None, YAML),
    ("DELETE", "/v2/actions/hostile_action/{bad}", None, YAML),
    ("GET", "/v2/workbooks/{bad}", None, YAML),
    ("DELETE", "/v2/workbooks/{bad}", None, YAML),
    ("GET", "/v2/cron_triggers/{bad}", None, YAML),
    ("DELETE", "/v2/cron_triggers/{bad}", None, YAML),
    ("GET", "/v2/environments/{bad}", None, YAML),
    ("DELETE", "/v2/environments/{bad}", None, YAML),
]
LIST_ROUTES = [
    "/v2/workflows",
    "/v2/executions",
    "/v2/tasks",
    "/v2/action_executions",
    "/v2/actions",
    "/v2/workbooks",
    "/v2/cron_triggers",
    "/v2/environments",
    "/v2/executions/{ex}/tasks",
    "/v2/tasks/{task}/action_executions",
    "/v2/tasks/{task}/workflow_executions",
]
LIST_PARAMETERS = ["id={bad}", "id=in:x,{bad}", "marker={bad}", "sort_keys={bad}", "fields={bad}", "{bad}=1"]
#: Other query strings: (method, path?query with {bad}, body, content type).
QUERY_ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/v2/workflows/wait_one?namespace={bad}", None, YAML),
    ("DELETE", "/v2/workflows/nothing?namespace={bad}", None, YAML),
    ("POST", "/v2/workflows?namespace={bad}", WAIT_ONE, YAML),
    ("PUT", "/v2/workflows?scope={bad}", WAIT_ONE, YAML),
    ("POST", "/v2/workflows/validate?{bad}=1", WAIT_ONE, YAML),
    ("POST", "/v2/actions?namespace={bad}", ADHOC, YAML),
    ("GET", "/v2/actions/hostile_action?namespace={bad}", None, YAML),
    ("POST", "/v2/workbooks?namespace={bad}", WORKBOOK, YAML),
    ("GET", "/v2/workbooks/hostile_book?namespace={bad}", None, YAML),
    ("DELETE", "/v2/executions/{ex}?force={bad}", None, YAML),
    ("GET", "/v2/executions/{ex}/executions?max_depth={bad}", None, YAML),
    ("GET", "/v2/tasks/{task}/executions?errors_only={bad}", None, YAML),
]
#: JSON bodies: (method, path, a valid body, the dotted fields to poison).
BODY_ROUTES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    (
        "POST",
        "/v2/executions",
        {"workflow_name": "wait_one"},
        [
            "workflow_name",
            "workflow_id",
            "workflow_namespace",
            "description",
            "id",
            "input.x",
            "params.env.k",
        ],
    ),
    ("PUT", "/v2/executions/{ex}", {"state": "PAUSED"}, ["state", "state_info", "params.env.k"]),
    ("PUT", "/v2/executions/{ex}", {}, ["description"]),
    (
        "PUT",
        "/v2/tasks/{task}",
        {"state": "RUNNING", "reset": True},
        ["state", "name", "workflow_name", "env.k"],
    ),
    ("PUT", "/v2/action_executions/{action}", {"state": "SUCCESS"}, ["state", "output", "output.k"]),
    ("POST", "/v2/action_executions/{action}", {"state": "ERROR"}, ["output.k"]),
    (
        "POST",
        "/v2/action_executions",
        {"name": "std.noop"},
        ["name", "description", "input.k", "params.k"],
    ),
    (
        "POST",
        "/v2/environments",
        {"name": "hostile-env"},
        ["name", "description", "scope", "variables.k"],
    ),
    ("PUT", "/v2/environments", {"name": "env1"}, ["name", "description", "variables.k"]),
    (
        "POST",
        "/v2/cron_triggers",
        {"name": "hostile-cron", "workflow_name": "wait_one", "pattern": "0 * * * *"},
        [
            "name",
            "workflow_name",
            "workflow_namespace",
            "pattern",
            "first_execution_time",
            "workflow_input.x",
            "workflow_params.env.k",
            "remaining_executions",
        ],
    ),
]
#: Free JSON objects where a key may be hostile too.
KEY_FIELDS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/v2/executions", {"workflow_name": "wait_one"}, "input"),
    ("PUT", "/v2/action_executions/{action}", {"state": "SUCCESS"}, "output"),
    ("POST", "/v2/environments", {"name": "hostile-env"}, "variables"),
    (
        "POST",
        "/v2/cron_triggers",
        {"name": "c", "workflow_name": "wait_one", "pattern": "0 * * * *"},
        "workflow_input",
    ),
]
CRON = {"name": "hostile-cron", "workflow_name": "wait_one"}
BIG = 10**20
#: Single cases: (id, case).
SINGLE: dict[str, Case] = {
    "cron 31 February": Case(
        "POST", "/v2/cron_triggers", json.dumps({**CRON, "pattern": "0 0 31 2 *"}).encode(), fault="never"
    ),
    "cron 30 February": Case(
        "POST", "/v2/cron_triggers", json.dumps({**CRON, "pattern": "0 0 30 2 *"}).encode(), fault="never"
    ),
    "cron 31 of 30-day months": Case(
        "POST",
        "/v2/cron_triggers",
        json.dumps({**CRON, "pattern": "0 0 31 4,6,9,11 *"}).encode(),
        fault="never",
    ),
    "cron step 0": Case("POST", "/v2/cron_triggers", json.dumps({**CRON, "pattern": "*/0 * * * *"}).encode()),
    "cron count of 20 digits": Case(
        "POST",
        "/v2/cron_triggers",
        json.dumps({**CRON, "pattern": "0 * * * *", "remaining_executions": BIG}).encode(),
    ),
    "cron first time in year 1 with an offset": Case(
        "POST",
        "/v2/cron_triggers",
        json.dumps({**CRON, "first_execution_time": "0001-01-01T00:00+01:00"}).encode(),
    ),
    "filter count of 20 digits": Case("GET", f"/v2/cron_triggers?remaining_executions={BIG}"),
    "filter count of 20 digits with gt": Case("GET", f"/v2/cron_triggers?remaining_executions=gt:{BIG}"),
    "limit of 31 digits": Case("GET", f"/v2/executions?limit={10**30}"),
    "limit of 31 digits on actions": Case("GET", f"/v2/actions?limit={10**30}"),
    "time filter in year 1 with an offset": Case(
        "GET", "/v2/executions?created_at=0001-01-01T00:00:00%2B01:00"
    ),
    "time filter in year 9999 with an offset": Case(
        "GET", "/v2/executions?created_at=gt:9999-12-31T23:59:59-01:00"
    ),
    "a bare NaN body": Case("POST", "/v2/executions", b"NaN"),
    "input as a JSON string holding NaN": Case(
        "POST", "/v2/executions", json.dumps({"workflow_name": "wait_one", "input": '{"x": NaN}'}).encode()
    ),
    "input as a JSON string holding a NUL": Case(
        "POST",
        "/v2/executions",
        json.dumps({"workflow_name": "wait_one", "input": '{"x": "\\u0000"}'}).encode(),
    ),
    "env as a JSON string holding Infinity": Case(
        "PUT",
        "/v2/tasks/{task}",
        json.dumps({"state": "RUNNING", "reset": True, "env": '{"a": Infinity}'}).encode(),
    ),
    "variables as a JSON string holding a surrogate": Case(
        "POST",
        "/v2/environments",
        json.dumps({"name": "hostile-env", "variables": '{"a": "\\ud800"}'}).encode(),
    ),
    "run-action input as a JSON string holding NaN": Case(
        "POST", "/v2/action_executions", json.dumps({"name": "std.noop", "input": '{"a": NaN}'}).encode()
    ),
    "a surrogate pair encoded raw as UTF-8 (CESU)": Case(
        "POST", "/v2/environments", b'{"name": "hostile-\xed\xa0\xbd\xed\xb8\x80"}'
    ),
    "workflow YAML with a raw NUL": Case(
        "POST", "/v2/workflows", WAIT_ONE.replace("tasks:", "description: a\x00b\n  tasks:").encode(), YAML
    ),
    "workflow YAML naming a surrogate": Case(
        "POST", "/v2/workflows", WAIT_ONE.replace("wait_one:", '"w\\ud800":').encode(), YAML
    ),
    "workbook YAML naming a surrogate": Case(
        "POST", "/v2/workbooks", WORKBOOK.replace("name: hostile_book", 'name: "b\\ud800"').encode(), YAML
    ),
    "action YAML naming a NUL": Case(
        "POST", "/v2/actions", ADHOC.replace("hostile_action:", '"a\\x00":').encode(), YAML
    ),
    "input nested 990 deep": Case(
        "POST",
        "/v2/executions",
        b'{"workflow_name": "wait_one", "input": {"x": ' + b"[" * 990 + b"]" * 990 + b"}}",
    ),
}


def _url_cases() -> Iterator[tuple[str, Case]]:
    for method, template, body, content_type in PATH_ROUTES + QUERY_ROUTES:
        data = (
            None if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        for what, token in URL_TOKENS.items():
            yield (
                f"{method} {template} {what}",
                Case(method, template.replace("{bad}", token), data, content_type),
            )
    for path in LIST_ROUTES:
        for parameter in LIST_PARAMETERS:
            for what in ("NUL", "surrogate"):
                query = parameter.replace("{bad}", URL_TOKENS[what])
                yield f"GET {path}?{parameter} {what}", Case("GET", f"{path}?{query}")


def _body_cases() -> Iterator[tuple[str, Case]]:
    for method, path, base, fields in BODY_ROUTES:
        for field in fields:
            for what, token in ALL_TOKENS.items():
                body = _json_body(_put(base, field, PLACEHOLDER), token)
                yield f"{method} {path} {field}={what}", Case(method, path, body)
    for method, path, base, field in KEY_FIELDS:
        for what, token in STRING_TOKENS.items():
            yield f"{method} {path} key of {field}={what}", Case(method, path, _key_body(base, field, token))


def _key_body(base: dict[str, Any], field: str, token: str) -> bytes:
    """``base`` with ``{field: {<token>: 1}}``."""
    text = json.dumps({**base, field: {PLACEHOLDER: 1}})
    return text.replace(f'"{PLACEHOLDER}"', token).encode()


CASES = {**dict(_url_cases()), **dict(_body_cases()), **SINGLE}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_hostile_input_gets_a_one_line_4xx(world: World, case: Case) -> None:
    path = case.path.format(**world.ids)

    answer = request(
        case.method, world.server.base_url + path, data=case.body, headers={"Content-Type": case.content_type}
    )

    assert 400 <= answer.status < 500, f"{case.method} {path} -> {answer}"
    assert answer.headers["content-type"].startswith("application/json"), answer
    fault = answer.json()
    assert fault["faultcode"] == "Client", answer
    assert "\n" not in fault["faultstring"] and len(fault["faultstring"]) < 400, answer
    assert case.fault in fault["faultstring"], answer


def test_the_hostile_inputs_left_nothing_behind(world: World) -> None:
    assert _lists(world.api) == world.seeded
    log = world.server.log()
    assert "Traceback" not in log and "crashed" not in log, log[-3000:]
    action = world.api.get(f"/v2/action_executions/{world.ids['action']}")
    assert action["state"] == "RUNNING"
