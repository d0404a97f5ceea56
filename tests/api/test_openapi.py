"""``GET /v2/openapi.json``: one entry per route and method of ``api/routes.py``, nothing else,
and the answers of a whole story (every resource, every route) match what it says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from mistral_core.api.context import ApiOptions
from mistral_core.api.routes import ROUTES, endpoints, methods
from tests.api.support import PUBLIC_URL, WF_ASYNC, Api

ADHOC = "---\nversion: '2.0'\nmy_echo:\n  base: std.noop\n"
WORKBOOK = (
    "---\nversion: '2.0'\nname: book\nworkflows:\n  wf:\n    tasks:\n      t:\n        action: std.noop\n"
)


@pytest.fixture
def api() -> Api:
    """The API with the endpoints that settings turn on (``/info``, deleting action executions) on."""
    return Api(options=ApiOptions(allow_action_execution_deletion=True, info={"build": "test"}))


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    answer = api.get("/v2/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    return dict(answer.json)


def test_the_document_describes_every_route_and_method_and_nothing_else(document: dict[str, Any]) -> None:
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}

    assert described == {(path, method) for path, method, _ in endpoints()}
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": PUBLIC_URL}]


def test_every_route_answers_some_method() -> None:
    assert all(methods(route) for route in ROUTES)
    assert len({route.path for route in ROUTES}) == len(ROUTES)


def test_path_parameters_are_the_templates_names(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{method} {path}"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for found in _refs(document):
        assert found.removeprefix("#/components/schemas/") in schemas, found


def test_every_link_names_an_operation_and_its_path_parameters(document: dict[str, Any]) -> None:
    links = [link for link in _refs(document, "operationRef")]
    assert len(links) >= 10
    for link in _links(document):
        path, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
        path = path.replace("~1", "/").replace("~0", "~")
        assert method in document["paths"][path], link
        assert set(link["parameters"]) == set(re.findall(r"{(\w+)}", path)), link


def test_the_documents_examples_work(document: dict[str, Any]) -> None:
    """The examples a tool starts from: every one is accepted, in the document's order (on a server
    with dynamic actions on: they are off by default)."""
    api = Api(dynamic_code_max_bytes=65_536)
    created = []
    for path, item in document["paths"].items():
        operation = item.get("post")
        if operation is None or "{" in path or "requestBody" not in operation:
            continue
        content = operation["requestBody"]["content"]
        if "text/plain" in content:
            query = "name=example_module" if path == "/v2/code_sources" else None
            answer = api.post_yaml(content["text/plain"]["example"], path=path, query_string=query)
        else:
            name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            answer = api.post_json(path, document["components"]["schemas"][name]["example"])
        assert answer.status_code in (200, 201), f"POST {path}: {answer.text}"
        created.append(path)
    assert len(created) == 14


def _links(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties":  # a schema's fields (an action execution's own "links" is one)
                continue
            if key == "links":
                yield from value.values()
            else:
                yield from _links(value)
    elif isinstance(node, list):
        for value in node:
            yield from _links(value)


def _refs(node: Any, name: str = "$ref") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name:
                yield value
            else:
                yield from _refs(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value, name)


class Checker:
    """Validates answers against the document (OpenAPI 3.0's ``nullable`` made JSON Schema)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = _json_schema(document["components"])
        self.checked: set[tuple[str, str, int]] = set()

    def check(self, api: Api, method: str, template: str, path: str, body: Any = None, yaml: str = "") -> Any:
        if yaml:
            answer = api.client.simulate_request(method, path, body=yaml, content_type="text/plain")
        elif body is not None:
            answer = api.client.simulate_request(method, path, json=body)
        else:
            answer = api.client.simulate_request(method, path)
        assert answer.status_code < 400, f"{method} {path}: {answer.text}"
        declared = self.document["paths"][template][method.lower()]["responses"][str(answer.status_code)]
        if "text/plain" in declared.get("content", {}):
            assert answer.headers["content-type"].startswith("text/plain") and answer.text
            self.checked.add((template, method, answer.status_code))
            return answer.text
        if "content" in declared:
            schema = _json_schema(declared["content"]["application/json"]["schema"])
            jsonschema.Draft7Validator({**schema, "components": self.components}).validate(answer.json)
        else:
            assert not answer.content
        self.checked.add((template, method, answer.status_code))
        return answer.json if answer.content else None


def _json_schema(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
        if node.get("nullable") and "type" in node:
            converted["type"] = [node["type"], "null"]
        return converted
    if isinstance(node, list):
        return [_json_schema(value) for value in node]
    return node


def test_the_answers_of_a_whole_story_match_the_document(api: Api, document: dict[str, Any]) -> None:
    c = Checker(document)
    c.check(api, "GET", "/", "/")
    c.check(api, "GET", "/v2", "/v2")
    c.check(api, "GET", "/v2/openapi.json", "/v2/openapi.json")
    c.check(api, "GET", "/info", "/info")
    c.check(api, "GET", "/metrics", "/metrics")
    _definitions(api, c)
    _executions(api, c)
    _settings(api, c)
    _maintenance(api, c)
    _dynamic(Api(dynamic_code_max_bytes=65_536), c)
    # Every route and method was answered once with success, but the seed's spelling of the push,
    # the token endpoint (it needs keys: tests/api/test_key_token.py checks it against the document)
    # and sharing (it needs projects: tests/api/test_sharing.py checks it against the document).
    missing = {(t, m) for t, m, _ in endpoints()} - {(t, m) for t, m, _ in c.checked}
    token = ("/realms/{realm}/protocol/openid-connect/token", "POST")
    assert missing == {
        *(("/v2/action-executions/{action_ex_id}", m) for m in ("GET", "PUT", "POST", "DELETE")),
        ("/v2/action-executions/{action_ex_id}/heartbeat", "POST"),
        token,
        *(("/v2/workflows/{identifier}/members", m) for m in ("GET", "POST")),
        *(("/v2/workflows/{identifier}/members/{member_id}", m) for m in ("GET", "PUT", "DELETE")),
    }


def _dynamic(api: Api, c: Checker) -> None:
    """Code sources and dynamic actions, on a server with them on."""
    code = "class Hello:\n    def __init__(self, name):\n        self.name = name\n\n"
    code += "    def run(self, context):\n        return self.name\n"
    c.check(api, "POST", "/v2/code_sources", "/v2/code_sources?name=mod", yaml=code)
    c.check(api, "PUT", "/v2/code_sources", "/v2/code_sources?identifier=mod", yaml=code)
    c.check(api, "GET", "/v2/code_sources", "/v2/code_sources")
    c.check(api, "GET", "/v2/code_sources/{identifier}", "/v2/code_sources/mod")
    body = {"name": "hello", "class_name": "Hello", "code_source_name": "mod"}
    c.check(api, "POST", "/v2/dynamic_actions", "/v2/dynamic_actions", body=body)
    c.check(api, "PUT", "/v2/dynamic_actions", "/v2/dynamic_actions", body={**body, "scope": "public"})
    c.check(api, "GET", "/v2/dynamic_actions", "/v2/dynamic_actions")
    c.check(api, "GET", "/v2/dynamic_actions/{identifier}", "/v2/dynamic_actions/hello")
    c.check(api, "DELETE", "/v2/dynamic_actions/{identifier}", "/v2/dynamic_actions/hello")
    c.check(api, "DELETE", "/v2/code_sources/{identifier}", "/v2/code_sources/mod")


def _definitions(api: Api, c: Checker) -> None:
    c.check(api, "POST", "/v2/workflows", "/v2/workflows", yaml=WF_ASYNC)
    c.check(api, "PUT", "/v2/workflows", "/v2/workflows", yaml=WF_ASYNC)
    c.check(api, "POST", "/v2/workflows/validate", "/v2/workflows/validate", yaml="nope")
    c.check(api, "GET", "/v2/workflows", "/v2/workflows?fields=name,tags")
    c.check(api, "GET", "/v2/workflows/{identifier}", "/v2/workflows/wf_async")
    c.check(api, "PUT", "/v2/workflows/{identifier}", "/v2/workflows/wf_async", yaml=WF_ASYNC)
    c.check(api, "POST", "/v2/actions", "/v2/actions", yaml=ADHOC)
    c.check(api, "PUT", "/v2/actions", "/v2/actions", yaml=ADHOC)
    c.check(api, "PUT", "/v2/actions/{name}", "/v2/actions/my_echo", yaml=ADHOC)
    c.check(api, "POST", "/v2/actions/validate", "/v2/actions/validate", yaml=ADHOC)
    c.check(api, "GET", "/v2/actions", "/v2/actions")
    c.check(api, "GET", "/v2/actions/{name}", "/v2/actions/my_echo")
    c.check(api, "GET", "/v2/actions/{name}/{namespace}", "/v2/actions/std.noop/")
    c.check(api, "DELETE", "/v2/actions/{name}", "/v2/actions/my_echo")
    c.check(api, "POST", "/v2/actions", "/v2/actions?namespace=ns", yaml=ADHOC)
    c.check(api, "DELETE", "/v2/actions/{name}/{namespace}", "/v2/actions/my_echo/ns")
    c.check(api, "POST", "/v2/workbooks", "/v2/workbooks", yaml=WORKBOOK)
    c.check(api, "PUT", "/v2/workbooks", "/v2/workbooks", yaml=WORKBOOK)
    c.check(api, "POST", "/v2/workbooks/validate", "/v2/workbooks/validate", yaml=WORKBOOK)
    c.check(api, "GET", "/v2/workbooks", "/v2/workbooks")
    c.check(api, "GET", "/v2/workbooks/{name}", "/v2/workbooks/book")
    c.check(api, "DELETE", "/v2/workbooks/{name}", "/v2/workbooks/book")


def _executions(api: Api, c: Checker) -> None:
    ex = c.check(api, "POST", "/v2/executions", "/v2/executions", {"workflow_name": "wf_async"})
    ex_id = ex["id"]
    action = api.running_action(ex_id)
    task_id = action["task_execution_id"]
    c.check(api, "GET", "/v2/executions", "/v2/executions?include_output=true")
    c.check(api, "GET", "/v2/executions/{ex_id}", f"/v2/executions/{ex_id}")
    c.check(api, "GET", "/v2/executions/{ex_id}/tasks", f"/v2/executions/{ex_id}/tasks")
    c.check(api, "GET", "/v2/executions/{ex_id}/executions", f"/v2/executions/{ex_id}/executions")
    c.check(api, "GET", "/v2/executions/{ex_id}/report", f"/v2/executions/{ex_id}/report")
    c.check(api, "GET", "/v2/tasks", "/v2/tasks")
    c.check(api, "GET", "/v2/tasks/{task_id}", f"/v2/tasks/{task_id}")
    c.check(api, "GET", "/v2/tasks/{task_id}/action_executions", f"/v2/tasks/{task_id}/action_executions")
    one = "/v2/tasks/{task_id}/action_executions/{action_ex_id}"
    c.check(api, "GET", one, f"/v2/tasks/{task_id}/action_executions/{action['id']}")
    c.check(api, "GET", "/v2/tasks/{task_id}/workflow_executions", f"/v2/tasks/{task_id}/workflow_executions")
    c.check(api, "GET", "/v2/tasks/{task_id}/executions", f"/v2/tasks/{task_id}/executions")
    c.check(api, "GET", "/v2/action_executions", "/v2/action_executions?include_output=true")
    item = "/v2/action_executions/{action_ex_id}"
    c.check(api, "GET", item, f"/v2/action_executions/{action['id']}")
    beat = {"progress": {"percent": 50, "note": "half"}}
    c.check(api, "POST", f"{item}/heartbeat", f"/v2/action_executions/{action['id']}/heartbeat", beat)
    c.check(api, "GET", "/v2/waits", "/v2/waits?stale_for=0&sort_keys=deadline")
    c.check(
        api,
        "POST",
        "/v2/waits/bulk",
        "/v2/waits/bulk",
        {"op": "cancel", "ids": [action["id"]], "dry_run": True},
    )
    c.check(api, "PUT", item, f"/v2/action_executions/{action['id']}", {"state": "ERROR", "output": "x"})
    c.check(api, "POST", item, f"/v2/action_executions/{action['id']}", {"state": "ERROR", "output": "x"})
    c.check(api, "GET", f"{item}/history", f"/v2/action_executions/{action['id']}/history")
    c.check(api, "DELETE", f"{item}/token", f"/v2/action_executions/{action['id']}/token")
    c.check(api, "PUT", "/v2/tasks/{task_id}", f"/v2/tasks/{task_id}", {"state": "SKIPPED"})
    c.check(api, "POST", "/v2/action_executions", "/v2/action_executions", {"name": "std.noop"})
    saved = {"name": "std.noop", "params": {"save_result": True}}
    ran = c.check(api, "POST", "/v2/action_executions", "/v2/action_executions", saved)
    c.check(api, "DELETE", item, f"/v2/action_executions/{ran['id']}")
    second = api.start("wf_async")["id"]
    c.check(api, "PUT", "/v2/executions/{ex_id}", f"/v2/executions/{second}", {"state": "PAUSED"})
    c.check(api, "DELETE", "/v2/executions/{ex_id}", f"/v2/executions/{second}?force=true")


def _maintenance(api: Api, c: Checker) -> None:
    for path in ("/maintenance", "/v2/maintenance"):
        c.check(api, "GET", path, path)
        c.check(api, "PUT", path, path, {"status": "PAUSED"})
        c.check(api, "PUT", path, path, {"status": "RUNNING"})


def _settings(api: Api, c: Checker) -> None:
    c.check(api, "POST", "/v2/environments", "/v2/environments", {"name": "env", "variables": {"a": 1}})
    c.check(api, "PUT", "/v2/environments", "/v2/environments", {"name": "env", "description": "d"})
    c.check(api, "GET", "/v2/environments", "/v2/environments")
    c.check(api, "GET", "/v2/environments/{name}", "/v2/environments/env")
    c.check(api, "DELETE", "/v2/environments/{name}", "/v2/environments/env")
    cron = {"name": "c", "workflow_name": "wf_async", "pattern": "0 * * * *", "remaining_executions": 2}
    c.check(api, "POST", "/v2/cron_triggers", "/v2/cron_triggers", cron)
    c.check(api, "GET", "/v2/cron_triggers", "/v2/cron_triggers")
    c.check(api, "GET", "/v2/cron_triggers/{identifier}", "/v2/cron_triggers/c")
    c.check(api, "DELETE", "/v2/cron_triggers/{identifier}", "/v2/cron_triggers/c")
    event = {"exchange": "nova", "topic": "notifications", "event": "e", "workflow_id": "wf_async"}
    trigger = c.check(api, "POST", "/v2/event_triggers", "/v2/event_triggers", event)
    item = f"/v2/event_triggers/{trigger['id']}"
    c.check(api, "GET", "/v2/event_triggers", "/v2/event_triggers")
    c.check(api, "GET", "/v2/event_triggers/{trigger_id}", item)
    c.check(api, "PUT", "/v2/event_triggers/{trigger_id}", item, {"workflow_input": {"x": 3}})
    c.check(api, "DELETE", "/v2/event_triggers/{trigger_id}", item)
    down = [{"type": "refusing", "to": "http://down.example/hook", "event_types": ["WORKFLOW_LAUNCHED"]}]
    c.check(
        api,
        "POST",
        "/v2/executions",
        "/v2/executions",
        {"workflow_name": "wf_async", "params": {"notify": down}},
    )
    listed = c.check(api, "GET", "/v2/notifications", "/v2/notifications")
    assert [n["state"] for n in listed["notifications"]] == ["RETRYING"]
    c.check(api, "DELETE", "/v2/workflows/{identifier}", "/v2/workflows/wf_async")
