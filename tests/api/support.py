"""What the API tests share: the app over the real engine and the in-memory store, the transcript's
workflows and key sets, and helpers that speak the domain.

No threads, no sleeps: a :class:`DrainingRunner` runs each action in the calling
thread right after the engine's commit and feeds its event back, so when a
request returns, every synchronous action it caused has finished.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import falcon
import falcon.testing

from mistral_core.actions.base import Action, ActionContext
from mistral_core.actions.dynamic import DynamicLoader
from mistral_core.actions.registry import ActionRegistry
from mistral_core.api import create_app
from mistral_core.api.context import ApiOptions
from mistral_core.auth.identity import Authenticator
from mistral_core.executor import Executor
from mistral_core.model import Query, RunAction
from mistral_core.notifiers import DeliveryError, Notification, Notifier
from mistral_core.notifiers.noop import NoopNotifier
from mistral_core.notifiers.registry import NotifierRegistry
from mistral_core.persistence.memory import MemoryStore
from mistral_core.scheduler import CronTab
from mistral_core.services.engine import Engine
from mistral_core.testing import InlineRunner

PUBLIC_URL = "http://127.0.0.1:8989"

# The workflows of the wire transcript (shared/mistral-wire.md).
WF_SEQ = """---
version: '2.0'
wf_seq:
  tasks:
    a:
      action: std.echo output="hello"
      publish:
        greeting: <% task().result %>
      on-success: b
    b:
      action: std.noop
"""

WF_ASYNC = """---
version: '2.0'
wf_async:
  input:
    - x: 1
  output:
    result: <% $.r %>
  tasks:
    t1:
      action: std.async_noop
      publish:
        r: <% task().result %>
"""

WF_HTTP = """---
version: '2.0'
wf_http:
  input:
    - url
  output:
    result: <% $.r %>
  tasks:
    call:
      action: std.mistral_http
      input:
        url: <% $.url %>
        method: POST
        json:
          hello: world
      publish:
        r: <% task().result %>
"""

# A parent whose task runs wf_async as a sub-workflow (and waits for its async action).
WF_PARENT = """---
version: '2.0'
wf_parent:
  output:
    child: <% $.child %>
  tasks:
    call_child:
      workflow: wf_async
      input:
        x: 2
      publish:
        child: <% task().result %>
"""

# Key sets of the wire transcript.
WORKFLOW_CREATED_KEYS = {
    "id",
    "name",
    "namespace",
    "input",
    "interface",
    "definition",
    "checksum",
    "tags",
    "scope",
    "project_id",
    "created_at",
}
WORKFLOW_KEYS = WORKFLOW_CREATED_KEYS | {"updated_at"}
EXECUTION_CREATED_KEYS = {
    "id",
    "workflow_id",
    "workflow_name",
    "workflow_namespace",
    "description",
    "tags",
    "params",
    "task_execution_id",
    "root_execution_id",
    "state",
    "state_info",
    "input",
    "output",
    "created_at",
    "updated_at",
    "project_id",
}
EXECUTION_KEYS = EXECUTION_CREATED_KEYS | {"published_global"}
EXECUTION_LISTED_KEYS = EXECUTION_CREATED_KEYS - {"output"}
TASK_LISTED_KEYS = {
    "id",
    "name",
    "type",
    "workflow_name",
    "workflow_namespace",
    "workflow_id",
    "workflow_execution_id",
    "tags",
    "state",
    "state_info",
    "project_id",
    "runtime_context",
    "published",
    "processed",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
}
TASK_KEYS = TASK_LISTED_KEYS | {"result"}
# ``task_name`` is ours (Mistral lists it as a field but never fills it).
ACTION_EX_LISTED_KEYS = {
    "id",
    "workflow_name",
    "workflow_namespace",
    "task_name",
    "task_execution_id",
    "state",
    "state_info",
    "tags",
    "name",
    "description",
    "project_id",
    "accepted",
    "input",
    "created_at",
    "updated_at",
    # ours: the life of an async wait (heartbeats)
    "progress",
    "last_heartbeat_at",
    "deadline",
}
ACTION_EX_KEYS = ACTION_EX_LISTED_KEYS | {"output"}
FAULT_KEYS = {"faultcode", "faultstring", "debuginfo"}


# -- test actions ---------------------------------------------------------------------------------
class NoopAction(Action):
    """Do nothing."""

    def run(self, context: ActionContext) -> None:
        return None


class AsyncNoopAction(Action):
    """Do nothing, asynchronously."""

    def run(self, context: ActionContext) -> None:
        return None

    def is_sync(self) -> bool:
        return False


class EchoAction(Action):
    """Return the output."""

    def __init__(self, output: Any, delay: int = 0) -> None:
        self.output = output

    def run(self, context: ActionContext) -> Any:
        return self.output


class FakeMistralHttpAction(Action):
    """Stands for std.mistral_http: asynchronous, and calls nobody."""

    def __init__(self, url: str, method: str = "GET", json: Any = None) -> None:
        self.url = url

    def run(self, context: ActionContext) -> None:
        return None

    def is_sync(self) -> bool:
        return False


ACTIONS: dict[str, type[Any]] = {
    "std.noop": NoopAction,
    "std.async_noop": AsyncNoopAction,
    "std.echo": EchoAction,
    "std.mistral_http": FakeMistralHttpAction,
}


class SteppingClock:
    """A clock that moves one second each time it is read (distinct, ordered timestamps)."""

    def __init__(self) -> None:
        self._now = dt.datetime(2026, 11, 29, 11, 28, 44)

    def now(self) -> dt.datetime:
        self._now += dt.timedelta(seconds=1)
        return self._now


class RefusingNotifier(Notifier):
    """A publisher whose receiver is always down (``to``: where it pretends to send)."""

    options = frozenset({"to", "secret"})

    @classmethod
    def target(cls, config: Any) -> str:
        return str(config.get("to", ""))

    def publish(self, notification: Notification) -> None:
        raise DeliveryError("the receiver is down")


class DrainingRunner(InlineRunner):
    """The project's inline runner, drained at once: a request returns when its sync actions are done."""

    def __init__(self, executor: Executor) -> None:
        super().__init__(executor)
        self._draining = False

    def submit(self, commands: Sequence[RunAction]) -> None:
        super().submit(commands)
        if not self._draining:  # an action's event leads to more actions: the running drain takes them
            self._draining = True
            try:
                self.drain()
            finally:
                self._draining = False


# -- the API ------------------------------------------------------------------------------------
class Api:
    """The app under test with helpers that speak the domain."""

    def __init__(
        self,
        max_body_bytes: int = 1_048_576,
        authenticators: Callable[[MemoryStore], Sequence[Authenticator]] | None = None,
        dynamic_code_max_bytes: int | None = None,
        options: ApiOptions | None = None,
        actions: Mapping[str, type[Any]] | None = None,
        store: Any = None,
    ) -> None:
        clock = SteppingClock()
        self.store = store if store is not None else MemoryStore(clock=clock)
        registry = ActionRegistry.from_classes({**ACTIONS, **(actions or {})})
        notifiers = NotifierRegistry({"noop": NoopNotifier, "refusing": RefusingNotifier})
        dynamic = None if dynamic_code_max_bytes is None else DynamicLoader(dynamic_code_max_bytes)
        runner = DrainingRunner(Executor(registry, PUBLIC_URL, notifiers, dynamic))
        self.clock = clock
        self.engine = Engine(
            self.store,
            registry,
            runner,
            clock=clock,
            cron=CronTab(),
            notifiers=notifiers,
            dynamic_code_max_bytes=dynamic_code_max_bytes,
        )
        runner.engine = self.engine
        self.client = falcon.testing.TestClient(
            create_app(
                self.engine,
                public_url=PUBLIC_URL,
                max_body_bytes=max_body_bytes,
                authenticators=authenticators(self.store) if authenticators else (),
                options=options or ApiOptions(),
            )
        )

    # raw requests
    def get(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.client.simulate_get(path, **kwargs)

    def post_json(self, path: str, body: Any, **kwargs: Any) -> falcon.testing.Result:
        kwargs.setdefault("content_type", "application/json")
        return self.client.simulate_post(path, body=json.dumps(body), **kwargs)

    def put_json(self, path: str, body: Any, **kwargs: Any) -> falcon.testing.Result:
        kwargs.setdefault("content_type", "application/json")
        return self.client.simulate_put(path, body=json.dumps(body), **kwargs)

    def post_yaml(self, text: str, path: str = "/v2/workflows", **kwargs: Any) -> falcon.testing.Result:
        kwargs.setdefault("content_type", "text/plain")
        return self.client.simulate_post(path, body=text, **kwargs)

    # domain helpers
    def create_workflow(self, text: str) -> dict[str, Any]:
        result = self.post_yaml(text)
        assert result.status_code == 201, result.text
        workflow: dict[str, Any] = result.json["workflows"][0]
        return workflow

    def start(self, wf_name: str, wf_input: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"workflow_name": wf_name}
        if wf_input is not None:
            body["input"] = dict(wf_input)
        result = self.post_json("/v2/executions", body)
        assert result.status_code == 201, result.text
        wf_ex: dict[str, Any] = result.json
        return wf_ex

    def execution(self, ex_id: str) -> dict[str, Any]:
        result = self.get(f"/v2/executions/{ex_id}")
        assert result.status_code == 200, result.text
        wf_ex: dict[str, Any] = result.json
        return wf_ex

    def tasks(self, ex_id: str) -> list[dict[str, Any]]:
        result = self.get(f"/v2/executions/{ex_id}/tasks")
        assert result.status_code == 200, result.text
        tasks: list[dict[str, Any]] = result.json["tasks"]
        return tasks

    def action_executions(self, task_id: str) -> list[dict[str, Any]]:
        result = self.get(f"/v2/tasks/{task_id}/action_executions")
        assert result.status_code == 200, result.text
        action_exs: list[dict[str, Any]] = result.json["action_executions"]
        return action_exs

    def running_action(self, ex_id: str) -> dict[str, Any]:
        """The one action execution of a one-task execution (RUNNING for an async action)."""
        (task,) = self.tasks(ex_id)
        (action_ex,) = self.action_executions(task["id"])
        return action_ex

    def start_async(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """A wf_async execution and its RUNNING action execution (wf_async must exist)."""
        wf_ex = self.start("wf_async")
        return wf_ex, self.running_action(wf_ex["id"])

    def push(self, action_ex_id: str, state: str, output: Any = None) -> dict[str, Any]:
        """Deliver an async action's result as a third party does (200 expected)."""
        body: dict[str, Any] = {"state": state}
        if output is not None:
            body["output"] = output
        result = self.put_json(f"/v2/action_executions/{action_ex_id}", body)
        assert result.status_code == 200, result.text
        action_ex: dict[str, Any] = result.json
        return action_ex

    def failed_async(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """A wf_async execution whose one task failed (an ERROR pushed): the execution and the task."""
        wf_ex, action_ex = self.start_async()
        self.push(action_ex["id"], "ERROR", {"error": "boom"})
        (task,) = self.tasks(wf_ex["id"])
        assert task["state"] == "ERROR", task
        return self.execution(wf_ex["id"]), task

    def snapshot(self) -> dict[str, Any]:
        """Everything the store holds, for "nothing changed" assertions."""
        store = self.engine.store
        everything = Query(limit=None)
        return {
            "workflows": store.list_workflow_definitions(everything),
            "executions": store.list_workflow_executions(everything),
            "tasks": store.list_task_executions(everything),
            "action_executions": store.list_action_executions(everything),
            "cron_triggers": store.list_cron_triggers(everything),
            "environments": store.list_environments(everything),
            "workbooks": store.list_workbooks(everything),
            "action_definitions": store.list_action_definitions(everything),
        }


def assert_fault(result: falcon.testing.Result, status: int, *fragments: str) -> str:
    """Assert a Mistral error document with ``status`` whose faultstring contains ``fragments``."""
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == "application/json"
    body = result.json
    assert set(body) == FAULT_KEYS
    assert body["faultcode"] == ("Client" if status < 500 else "Server")
    assert body["debuginfo"] is None
    message: str = body["faultstring"]
    assert "\n" not in message.strip() or status == 400, message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message
