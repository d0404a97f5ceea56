"""Lists read only the columns they show (``fields=``, and the default set of each list): every
field of every list, over each backend, is what the single GET of the same record shows."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.api import serializers as ser
from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import InputError
from mistral_core.model import Query
from tests.api.support import WF_ASYNC, WF_SEQ, Api

WF_PARENT = """---
version: '2.0'
wf_parent:
  tasks:
    child:
      workflow: wf_async
      publish-on-error:
        failed: yes
    tagged:
      action: std.echo output="x"
      publish:
        shared: <% task().result %>
"""

#: list path -> (single GET path of an item, every field of the resource).
ENDPOINTS = {
    "executions": ("/v2/executions/{}", ser.EXECUTION.names),
    "tasks": ("/v2/tasks/{}", ser.TASK.names),
    "action_executions": ("/v2/action_executions/{}", ser.ACTION_EXECUTION.names),
}


@pytest.fixture
def filled(store: ExecutionStore) -> Api:
    """Finished, failed, running and waiting executions, sub-workflows and async actions."""
    api = Api(store=store)
    for text in (WF_SEQ, WF_ASYNC, WF_PARENT):
        api.create_workflow(text)
    api.start("wf_seq")
    _, action_ex = api.start_async()
    api.push(action_ex["id"], "SUCCESS", {"done": 1})
    api.failed_async()
    api.start_async()
    api.start("wf_parent")
    return api


def _listed(api: Api, path: str, query: str = "") -> list[dict[str, Any]]:
    key = path.rsplit("/", 1)[-1].replace("workflow_executions", "executions")
    result = api.get(path, query_string=query)
    assert result.status_code == 200, result.text
    items: list[dict[str, Any]] = result.json[key]
    assert items
    return items


def _check_against_gets(api: Api, kind: str, items: list[dict[str, Any]]) -> None:
    single, _ = ENDPOINTS[kind]
    for item in items:
        whole = api.get(single.format(item["id"])).json
        assert {name: whole[name] for name in item} == item


@pytest.mark.parametrize("kind", ENDPOINTS)
def test_each_field_alone_shows_what_a_get_shows(filled: Api, kind: str) -> None:
    for name in ENDPOINTS[kind][1]:
        items = _listed(filled, f"/v2/{kind}", f"fields={name}")
        assert all(set(item) == {"id", name} for item in items), name
        _check_against_gets(filled, kind, items)


#: (list, query): each list's default view, its ``include_output`` view (tasks have none), a narrowed one.
LISTS = [
    (kind, query)
    for kind in ENDPOINTS
    for query in ("", "include_output=true", "fields=state,created_at,updated_at")
    if not (kind == "tasks" and query == "include_output=true")
]


@pytest.mark.parametrize(("kind", "query"), LISTS)
def test_default_and_narrowed_lists_show_what_a_get_shows(filled: Api, kind: str, query: str) -> None:
    _check_against_gets(filled, kind, _listed(filled, f"/v2/{kind}", query))


def test_nested_lists_read_only_what_they_show(filled: Api) -> None:
    for wf_ex in _listed(filled, "/v2/executions"):
        tasks = _listed(filled, f"/v2/executions/{wf_ex['id']}/tasks") if wf_ex["state"] != "ERROR" else []
        _check_against_gets(filled, "tasks", tasks)
        for task in tasks:
            path = f"/v2/tasks/{task['id']}/action_executions"
            if task["type"] == "ACTION":
                _check_against_gets(
                    filled, "action_executions", _listed(filled, path, "fields=state_info,output")
                )
            else:
                children = _listed(
                    filled, f"/v2/tasks/{task['id']}/workflow_executions", "fields=published_global"
                )
                _check_against_gets(filled, "executions", children)


def test_a_store_reads_only_the_columns_asked(store: ExecutionStore, backend: str) -> None:
    api = Api(store=store)
    api.create_workflow(WF_SEQ)
    started = api.start("wf_seq")
    (wf_ex,) = store.list_workflow_executions(Query(columns=frozenset({"state"})))
    assert (wf_ex.id, wf_ex.state.value) == (started["id"], "SUCCESS")
    if backend != "memory":  # the in-memory store gives whole records: a superset
        with pytest.raises(AttributeError):
            _ = wf_ex.context
        with pytest.raises(InputError, match="bogus"):
            store.list_workflow_executions(Query(columns=frozenset({"bogus"})))
