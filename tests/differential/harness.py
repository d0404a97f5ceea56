"""Runs a language fixture's cases against a live server over HTTP and records what it sees.

The fixtures are those of ``tests/api/language`` (their format is described in
``tests/api/language/support.py``). Here they are not checked against their ``expect`` blocks:
each case is run on two servers (mistral-core and Mistral 23) and what each server shows is
recorded as an :class:`Observation`, to be compared (``compare.py``).

Asynchronous actions are completed through the REST API on both servers the same way. Mistral
accepts only a JSON object as a pushed ``output``, so on both servers the documents are rewritten:
``std.async_noop`` and ``test.wait`` become the ad-hoc actions ``diff.async_noop`` and
``diff.wait`` (based on ``std.async_noop``), whose ``output`` unwraps ``{"diff:value": x}``; a push
sends ``{"diff:value": x}`` whatever ``x`` is (a push without ``output``: ``{"diff:value": null}``;
Mistral would give an empty output to the ad-hoc action's ``output`` expression as it is, text).
A fixture saying ``async_as_written: true`` is run as written instead, its pushes unwrapped (it
may push only objects or nothing).

A server works asynchronously, so before each step and at the end the runner waits until the
execution *settles*: it and every task and sub-execution finished, or nothing in them changed
for a quiet period.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import yaml

from tests.api.language.support import Fixture
from tests.integration.support import request

Doc = dict[str, Any]
FINISHED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "SKIPPED"})
WRAP_KEY = "diff:value"
#: The ad-hoc actions both servers run instead of std.async_noop and test.wait.
HELPER_ACTIONS = f"""---
version: '2.0'
diff.async_noop:
  base: std.async_noop
  output: "{{{{ _['{WRAP_KEY}'] if (_ is mapping and '{WRAP_KEY}' in _) else _ }}}}"
diff.wait:
  input: [tag]
  base: std.async_noop
  output: "{{{{ _['{WRAP_KEY}'] if (_ is mapping and '{WRAP_KEY}' in _) else _ }}}}"
"""
_REWRITES = (
    (re.compile(r"\bstd\.async_noop\b"), "diff.async_noop"),
    (re.compile(r"\btest\.wait\b"), "diff.wait"),
)


def rewrite(text: str) -> str:
    """A fixture document as both servers get it (the async actions replaced by the helpers)."""
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


class Failure(Exception):
    """A server did not do what a step needs (a refused request, nothing to push to)."""


@dataclasses.dataclass
class Server:
    """One server's REST API v2 at ``base_url`` (``http://host:port/v2``).

    Args:
        name: how the report names it.
        base_url: its ``/v2`` URL.
        quiet: seconds without any change after which a RUNNING or PAUSED execution is settled.
        timeout: seconds to wait for an execution to settle.
    """

    name: str
    base_url: str
    quiet: float = 1.0
    timeout: float = 60.0

    def call(self, method: str, path: str, body: Any = None, text: str | None = None) -> tuple[int, Any]:
        """One request; its status and its JSON body (None when empty or not JSON)."""
        url = self.base_url.rstrip("/") + path
        if text is not None:
            answer = request(
                method,
                url,
                data=text.encode(),
                headers={"Content-Type": "text/plain", "Accept": "*/*"},
                timeout=60,
            )
        else:
            answer = request(method, url, body, timeout=60)
        try:
            parsed = json.loads(answer.body) if answer.body else None
        except ValueError:
            parsed = None
        return answer.status, parsed

    def ok(self, method: str, path: str, body: Any = None, text: str | None = None) -> Any:
        """A request that must succeed; its JSON body."""
        status, parsed = self.call(method, path, body, text)
        if not 200 <= status < 300:
            raise Failure(f"{self.name}: {method} {path} -> {status} {_message(parsed)}")
        return parsed

    # -- reading ---------------------------------------------------------------------------------
    def execution(self, ex_id: str) -> Doc:
        """One workflow execution."""
        found: Doc = self.ok("GET", f"/executions/{ex_id}")
        return found

    def tasks(self, ex_id: str) -> list[Doc]:
        """The task executions of an execution, in creation order."""
        listed = self.ok("GET", f"/executions/{ex_id}/tasks")["tasks"]
        return sorted(listed, key=lambda t: (t["created_at"], t["id"]))

    def task(self, task_id: str) -> Doc:
        """One task execution (with its result)."""
        found: Doc = self.ok("GET", f"/tasks/{task_id}")
        return found

    def action_executions(self, task_id: str) -> list[Doc]:
        """The action executions of a task, in creation order."""
        listed = self.ok("GET", f"/tasks/{task_id}/action_executions")["action_executions"]
        return sorted(listed, key=lambda a: (a["created_at"], a["id"]))

    def children(self, task_id: str) -> list[Doc]:
        """The sub-executions a task started."""
        listed: list[Doc] = self.ok("GET", f"/executions?task_execution_id={task_id}")["executions"]
        return listed

    # -- settling --------------------------------------------------------------------------------
    def progress(self, ex_id: str) -> tuple[Any, ...]:
        """What changes while an execution moves: states of it, its tasks, actions and children."""
        execution = self.execution(ex_id)
        parts: list[Any] = [execution["state"]]
        for task in self.tasks(ex_id):
            actions = tuple(a["state"] for a in self.action_executions(task["id"]))
            children = tuple(self.progress(c["id"]) for c in self.children(task["id"]))
            parts.append((task["name"], task["state"], actions, children))
        return tuple(parts)

    def settle(self, ex_id: str) -> None:
        """Wait until the execution settled (see the module docstring)."""
        deadline = time.monotonic() + self.timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            now = self.progress(ex_id)
            if _all_finished(now):
                return
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= self.quiet:
                return
            time.sleep(0.1)
        raise Failure(f"{self.name}: execution {ex_id} did not settle in {self.timeout:g} s")

    # -- writing ---------------------------------------------------------------------------------
    def upload(self, text: str, endpoint: str) -> tuple[int, Any]:
        """Upload a document (YAML text) to ``/workflows``, ``/actions`` or ``/workbooks``."""
        return self.call("POST", endpoint, text=text)

    def delete(self, path: str) -> None:
        """Delete, ignoring what is not there."""
        self.call("DELETE", path)


def _all_finished(progress: tuple[Any, ...]) -> bool:
    state, *tasks = progress
    return state in FINISHED and all(
        t_state in FINISHED
        and all(a in FINISHED for a in actions)
        and all(_all_finished(c) for c in children)
        for _, t_state, actions, children in tasks
    )


def _message(parsed: Any) -> str:
    if isinstance(parsed, dict):
        text = str(parsed.get("faultstring") or parsed.get("description") or parsed)
        return text.splitlines()[0][:300] if text else ""
    return repr(parsed)[:300]


# -- observations ----------------------------------------------------------------------------------
@dataclasses.dataclass
class Observation:
    """What one server showed for one case: snapshots after each ``expect`` step and at the end."""

    server: str
    uploads: list[int] = dataclasses.field(default_factory=list)
    start_status: int | None = None
    snapshots: list[tuple[str, Doc]] = dataclasses.field(default_factory=list)
    error: str | None = None


def snapshot(server: Server, ex_id: str) -> Doc:
    """End state, output, published_global and, per task name, states, published and results."""
    execution = server.execution(ex_id)
    tasks: dict[str, list[Doc]] = {}
    for task in server.tasks(ex_id):
        seen: Doc = {"state": task["state"], "published": _json(task.get("published"))}
        seen["result"] = _result(server, task) if task["state"] == "SUCCESS" else "(not compared)"
        if task.get("type") == "WORKFLOW":
            seen["children"] = _canonical([snapshot(server, c["id"]) for c in server.children(task["id"])])
        tasks.setdefault(task["name"], []).append(seen)
    return {
        "state": execution["state"],
        "output": _json(execution.get("output")),
        "published_global": _json(execution.get("published_global")),
        "tasks": {name: _canonical(runs) for name, runs in tasks.items()},
    }


def _result(server: Server, task: Doc) -> Any:
    status, full = server.call("GET", f"/tasks/{task['id']}")
    if status != 200:  # Mistral 23 answers 400 for some tasks (it re-evaluates expressions there)
        return f"(GET /tasks/<id>: {status} {_message(full)})"
    return _json(full.get("result"))


def _canonical(runs: list[Doc]) -> list[Doc]:
    """Runs of one task (or sub-executions of one task) in a known order: those created in the same
    second have no order a server shows."""
    return sorted(runs, key=lambda run: json.dumps(run, sort_keys=True, default=str))


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _json(text: Any) -> Any:
    """A JSON field decoded, every id in it written ``<id>`` (ids differ between servers)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(_UUID.sub("<id>", text))
    except ValueError:
        return _UUID.sub("<id>", text)


# -- running a fixture -----------------------------------------------------------------------------
_ENDPOINT_PATHS = {"/v2/workflows": "/workflows", "/v2/actions": "/actions", "/v2/workbooks": "/workbooks"}


class FixtureRun:
    """Uploads one fixture to one server, runs its cases, deletes what it uploaded."""

    def __init__(self, server: Server, fixture: Fixture) -> None:
        self.server = server
        self.fixture = fixture
        self.upload_statuses: list[int] = []
        self._created: list[str] = []
        #: The fixture runs std.async_noop as written (``async_as_written: true``): pushes unwrapped.
        self.as_written = bool(fixture.spec.get("async_as_written"))

    def upload(self) -> None:
        """Upload every document and environment of the fixture; remember what to delete."""
        for text, endpoint in self.fixture.uploads:
            path = _ENDPOINT_PATHS[endpoint]
            text = text if self.as_written else rewrite(text)
            for leftover in _defined_paths(path, text):  # left by an interrupted run
                self.server.delete(leftover)
            status, answer = self.server.upload(text, path)
            self.upload_statuses.append(status)
            if 200 <= status < 300:
                self._created.extend(_created_paths(path, answer))
        for env in self.fixture.spec.get("environments", []):
            self.server.delete(f"/environments/{env['name']}")
            status, _ = self.server.call("POST", "/environments", env)
            self.upload_statuses.append(status)
            self._created.append(f"/environments/{env['name']}")

    def clean(self) -> None:
        """Delete what :meth:`upload` created (workbooks first: they hold workflows and actions)."""
        for path in sorted(self._created, key=lambda p: not p.startswith("/workbooks")):
            self.server.delete(path)

    def run_case(self, case: Doc) -> Observation:
        """Start the case's execution, do its steps, snapshot at each ``expect`` and at the end."""
        seen = Observation(self.server.name, uploads=list(self.upload_statuses))
        body: Doc = {"workflow_name": case["workflow"]}
        for key in ("input", "params"):
            if key in case:
                body[key] = case[key]
        try:
            status, answer = self.server.call("POST", "/executions", body)
            seen.start_status = status
            if not 200 <= status < 300:
                return seen
            ex_id = answer["id"]
            self.server.settle(ex_id)
            for number, step in enumerate(case.get("steps", []), 1):
                self._step(ex_id, step, number, seen)
                self.server.settle(ex_id)
            seen.snapshots.append(("end", snapshot(self.server, ex_id)))
        except Failure as failure:
            seen.error = str(failure)
        return seen

    def _step(self, root_id: str, step: Mapping[str, Any], number: int, seen: Observation) -> None:
        ((kind, args),) = step.items()
        ex_id = self._resolve(root_id, args.get("in"))
        if kind == "expect":
            seen.snapshots.append((f"step {number}", snapshot(self.server, ex_id)))
        elif kind == "push":
            self._push(ex_id, args)
        elif kind == "skip":
            task = self._latest_task(ex_id, args["task"])
            self.server.ok("PUT", f"/tasks/{task['id']}", {"state": "SKIPPED"})
        elif kind == "update":
            self.server.ok("PUT", f"/executions/{ex_id}", {k: v for k, v in args.items() if k != "in"})
        else:
            raise Failure(f"unknown step {kind!r}")

    def _push(self, ex_id: str, args: Mapping[str, Any]) -> None:
        task = self._latest_task(ex_id, args["task"])
        running = [
            a for a in self.server.action_executions(task["id"]) if a["state"] in ("RUNNING", "PAUSED")
        ]
        if "tag" in args:
            running = [a for a in running if _json(a.get("input") or "{}").get("tag") == args["tag"]]
        if not running:
            raise Failure(f"{self.server.name}: no RUNNING action execution for push {dict(args)}")
        body: Doc = {"state": args["state"]}
        if args["state"] in ("RUNNING", "PAUSED"):
            pass  # a state change only
        elif self.as_written:
            if "output" in args:
                body["output"] = args["output"]
        else:
            body["output"] = {WRAP_KEY: args.get("output")}
        self.server.ok("PUT", f"/action_executions/{running[0]['id']}", body)

    def _latest_task(self, ex_id: str, name: str) -> Doc:
        found = [t for t in self.server.tasks(ex_id) if t["name"] == name]
        if not found:
            raise Failure(f"{self.server.name}: no task {name!r}")
        return found[-1]

    def _resolve(self, ex_id: str, path: str | None) -> str:
        for name in (path or "").split("/"):
            if name:
                children = self.server.children(self._latest_task(ex_id, name)["id"])
                if not children:
                    raise Failure(f"{self.server.name}: task {name!r} has no sub-execution")
                ex_id = children[0]["id"]
        return ex_id


def _defined_paths(path: str, text: str) -> list[str]:
    """What a document would create (to delete it first)."""
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    if not isinstance(body, dict):
        return []
    if path == "/workbooks":
        return [f"/workbooks/{body['name']}"] if isinstance(body.get("name"), str) else []
    return [f"{path}/{name}" for name in body if name not in ("version", "description")]


def _created_paths(path: str, answer: Any) -> list[str]:
    if path == "/workbooks":
        return [f"/workbooks/{answer['name']}"] if isinstance(answer, dict) and "name" in answer else []
    key = path.strip("/")
    items = answer.get(key, []) if isinstance(answer, dict) else []
    return [f"{path}/{item['name']}" for item in items]


def install_helpers(server: Server) -> None:
    """Create (or replace) the ad-hoc actions the rewritten documents use."""
    for name in ("diff.async_noop", "diff.wait"):
        server.delete(f"/actions/{name}")
    status, answer = server.call("POST", "/actions", text=HELPER_ACTIONS)
    if not 200 <= status < 300:
        raise Failure(f"{server.name}: cannot create the helper actions: {status} {_message(answer)}")
