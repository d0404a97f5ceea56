"""Workflow-language fixtures run through the REST API.

A fixture is a YAML file of several documents separated by ``---`` lines. Every document but the
last is uploaded exactly as written (``documents:`` says where each goes: ``workflows`` by default,
``actions`` or ``workbook``); the last one says what to do and what to expect::

    environments:              # optional, created with POST /v2/environments
      - {name: prod, variables: {url: https://prod}}
    cases:
      - id: defaults
        workflow: wf           # POST /v2/executions
        input: {x: 1}
        params: {env: prod}
        steps:                 # optional, in order; each step is one of
          - push: {task: ask, state: SUCCESS, output: 42, tag: q1, in: call}
          - skip: {task: a}    # PUT /v2/tasks/<id> {"state": "SKIPPED"}
          - update: {state: PAUSED, in: call}   # PUT /v2/executions/<id>
          - expect: {...}      # as below, part way through
        refused_start: {status: 400, message: "..."}   # instead of steps and expect
        expect:
          state: SUCCESS
          state_info: "a substring"
          output: {...}        # exact
          output_includes: {...}
          output_keys: [result]   # exactly these keys (values not compared)
          published_global: {...}   # GET /v2/executions/<id> "published_global"
          tasks: {a: SUCCESS, b: [ERROR, SUCCESS]}   # every task name, in creation order
          results: {a: 42}     # GET /v2/tasks/<id> "result"
          published: {a: {x: 1}}
          task_info: {a: "a substring"}
          running: {ask: 2}    # RUNNING action executions of a task
          actions: {a: [ERROR, SUCCESS]}   # states of a task's action executions, in any order
          children: {call: {state: SUCCESS, ...}}   # the sub-execution of a task, same keys
        xfail: "why it fails"  # optional: the case is xfail(strict=True)

``async_as_written: true`` tells the differential harness (tests/differential) to run the fixture's
``std.async_noop`` as written and push its results unwrapped (objects or nothing).

A fixture may instead be refused at upload (its last document; the others must be accepted)::

    refused: {status: 400, line: 6, path: wf.tasks.a.on-success, message: "unknown task 'x'"}
    exact_xfail: "why the line or path is not yet the offending value's own"   # optional
    xfail: "why it is not refused at all"                                     # optional

``in: call/inner`` names a sub-execution by the tasks leading to it from the started execution.
A push goes to the task's RUNNING action execution, or with ``tag:`` to the one whose input has that
``tag`` (the async ``test.wait tag=...`` action, for with-items items).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
import yaml
from mistral_std_actions import AsyncNoopAction, EchoAction, FailAction, NoopAction

from mistral_core.actions.base import Action, ActionContext
from mistral_core.actions.registry import ActionRegistry
from mistral_core.api import create_app
from mistral_core.executor import Executor
from mistral_core.persistence.memory import MemoryStore
from mistral_core.scheduler import CronTab
from mistral_core.services.engine import Engine
from tests.api.support import PUBLIC_URL, Api, DrainingRunner, SteppingClock, assert_fault

FIXTURES = Path(__file__).parent / "fixtures"
_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
_ENDPOINTS = {"workflows": "/v2/workflows", "actions": "/v2/actions", "workbook": "/v2/workbooks"}


class TaggedWaitAction(Action):
    """An async action whose input tags it, so that a test can push the result of one given item."""

    def __init__(self, tag: Any = None) -> None:
        self.tag = tag

    def run(self, context: ActionContext) -> None:
        return None

    def is_sync(self) -> bool:
        return False


#: The real standard actions (the std-actions plugin), as users run them, and ``test.wait``.
ACTIONS: dict[str, type[Any]] = {
    "std.noop": NoopAction,
    "std.async_noop": AsyncNoopAction,
    "std.echo": EchoAction,
    "std.fail": FailAction,
    "test.wait": TaggedWaitAction,
}

Doc = dict[str, Any]
_FIXTURE_KEYS = {"documents", "environments", "cases", "refused", "xfail", "exact_xfail", "async_as_written"}
_STEP_KEYS = {
    "push": {"task", "state", "output", "tag", "in"},
    "skip": {"task", "in"},
    "update": {"state", "state_info", "description", "params", "in"},
    "expect": None,  # checked by check()
}
_CASE_KEYS = {"id", "workflow", "input", "params", "steps", "expect", "refused_start", "xfail"}
_EXPECT_KEYS = {
    "in",
    "state",
    "state_info",
    "output",
    "output_includes",
    "output_keys",
    "input",
    "published_global",
    "tasks",
    "results",
    "published",
    "task_info",
    "running",
    "actions",
    "children",
}


# -- the fixtures --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Fixture:
    """One fixture file: the documents to upload (text, endpoint) and the expectations."""

    name: str
    uploads: tuple[tuple[str, str], ...]
    spec: Doc

    @property
    def cases(self) -> list[Doc]:
        cases: list[Doc] = self.spec.get("cases", [])
        return cases


def load_fixture(path: Path) -> Fixture:
    """Read a fixture file: uploads in order, then the expectations (the last document)."""
    chunks = [c for c in _SEPARATOR.split(path.read_text()) if c.strip()]
    *texts, expectations = chunks
    spec: Doc = yaml.safe_load(expectations) or {}
    assert set(spec) <= _FIXTURE_KEYS, f"{path.name}: unknown keys {set(spec) - _FIXTURE_KEYS}"
    kinds = spec.get("documents") or ["workflows"] * len(texts)
    assert len(kinds) == len(texts), f"{path.name}: 'documents' must name one endpoint per document"
    uploads = tuple(("---" + text, _ENDPOINTS[kind]) for text, kind in zip(texts, kinds, strict=True))
    return Fixture(path.relative_to(FIXTURES).with_suffix("").as_posix(), uploads, spec)


def fixtures(folder: str = "") -> list[Fixture]:
    """Every fixture of ``fixtures/<folder>`` (not recursive), sorted by name."""
    return [load_fixture(p) for p in sorted((FIXTURES / folder).glob("*.yaml"))]


def case_params(loaded: list[Fixture]) -> Iterator[Any]:
    """``pytest.param(fixture, case)`` for every case, xfail(strict) where the case says so."""
    for fixture in loaded:
        for case in fixture.cases:
            assert set(case) <= _CASE_KEYS, f"{fixture.name}: unknown case keys {set(case) - _CASE_KEYS}"
            marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
            yield pytest.param(fixture, case, id=f"{fixture.name}:{case['id']}", marks=marks)


# -- the API -------------------------------------------------------------------------------------
class LanguageApi(Api):
    """The shared test API over the real std actions (``std.fail`` included)."""

    def __init__(self) -> None:  # replaces Api.__init__: same wiring, another registry
        clock = SteppingClock()
        self.store = MemoryStore(clock=clock)
        registry = ActionRegistry.from_classes(ACTIONS)
        self.runner = DrainingRunner(Executor(registry, PUBLIC_URL))
        self.clock = clock
        self.engine = Engine(self.store, registry, self.runner, clock=clock, cron=CronTab())
        self.runner.engine = self.engine
        self.client = falcon.testing.TestClient(create_app(self.engine, public_url=PUBLIC_URL))

    def upload(self, text: str, endpoint: str) -> falcon.testing.Result:
        """Upload a document as the CLI does (text/plain)."""
        return self.post_yaml(text, path=endpoint)

    def tasks_by_name(self, ex_id: str) -> dict[str, list[Doc]]:
        """Task executions of an execution by name, each list in creation order."""
        by_name: dict[str, list[Doc]] = {}
        for task in sorted(self.tasks(ex_id), key=lambda t: (t["created_at"], t["id"])):
            by_name.setdefault(task["name"], []).append(task)
        return by_name

    def task(self, ex_id: str, name: str) -> Doc:
        """The latest task execution named ``name`` (full view, with its result)."""
        by_name = self.tasks_by_name(ex_id)
        assert name in by_name, f"no task {name!r} in {sorted(by_name)}"
        result = self.get(f"/v2/tasks/{by_name[name][-1]['id']}")
        assert result.status_code == 200, result.text
        task: Doc = result.json
        return task

    def child(self, ex_id: str, task_name: str) -> Doc:
        """The sub-execution run by a task, its links to the parent checked."""
        task = self.task(ex_id, task_name)
        result = self.get(f"/v2/executions?task_execution_id={task['id']}")
        assert result.status_code == 200, result.text
        (listed,) = result.json["executions"]
        child = self.execution(listed["id"])
        parent = self.execution(ex_id)
        assert child["task_execution_id"] == task["id"]
        assert child["root_execution_id"] == (parent["root_execution_id"] or parent["id"])
        return child

    def resolve(self, ex_id: str, path: str | None) -> str:
        """The id of the execution reached from ``ex_id`` through the tasks of ``path`` (a/b/...)."""
        for task_name in (path or "").split("/"):
            if task_name:
                ex_id = self.child(ex_id, task_name)["id"]
        return ex_id

    def running_actions(
        self, ex_id: str, task_name: str, states: tuple[str, ...] = ("RUNNING",)
    ) -> list[Doc]:
        """RUNNING (or ``states``) action executions of a task, oldest first (any order within a second)."""
        task = self.task(ex_id, task_name)
        action_exs = sorted(self.action_executions(task["id"]), key=lambda a: (a["created_at"], a["id"]))
        return [a for a in action_exs if a["state"] in states]


# -- running a case ------------------------------------------------------------------------------
def upload_all(api: LanguageApi, fixture: Fixture) -> None:
    """Upload the fixture's documents and environments (each must be accepted)."""
    for text, endpoint in fixture.uploads:
        result = api.upload(text, endpoint)
        assert result.status_code == 201, result.text
    for env in fixture.spec.get("environments", []):
        result = api.post_json("/v2/environments", env)
        assert result.status_code == 201, result.text


def start_request(api: LanguageApi, case: Doc) -> falcon.testing.Result:
    """POST /v2/executions for the case."""
    body: Doc = {"workflow_name": case["workflow"]}
    for key in ("input", "params"):
        if key in case:
            body[key] = case[key]
    return api.post_json("/v2/executions", body)


def start(api: LanguageApi, case: Doc) -> str:
    """Start the case's execution; its id."""
    result = start_request(api, case)
    assert result.status_code == 201, result.text
    ex_id: str = result.json["id"]
    return ex_id


def run_step(api: LanguageApi, root_id: str, step: Doc) -> None:
    """Do one step of a case (see the module docstring)."""
    ((kind, args),) = step.items()
    assert kind in _STEP_KEYS, f"unknown step {kind!r}"
    allowed = _STEP_KEYS[kind]
    assert allowed is None or set(args) <= allowed, f"unknown {kind} keys {set(args) - (allowed or set())}"
    ex_id = api.resolve(root_id, args.get("in"))
    if kind == "push":
        running = api.running_actions(ex_id, args["task"], ("RUNNING", "PAUSED"))
        if "tag" in args:
            running = [a for a in running if json.loads(a["input"]).get("tag") == args["tag"]]
        assert running, f"no RUNNING action execution of {args}"
        api.push(running[0]["id"], args["state"], args.get("output"))
    elif kind == "skip":
        task = api.task(ex_id, args["task"])
        result = api.put_json(f"/v2/tasks/{task['id']}", {"state": "SKIPPED"})
        assert result.status_code == 200, result.text
    elif kind == "update":
        body = {k: v for k, v in args.items() if k != "in"}
        result = api.put_json(f"/v2/executions/{ex_id}", body)
        assert result.status_code == 200, result.text
    else:
        check(api, ex_id, args)
    api.runner.drain()


def check(api: LanguageApi, ex_id: str, expect: Mapping[str, Any]) -> None:
    """Assert an execution is as ``expect`` says (see the module docstring)."""
    assert set(expect) <= _EXPECT_KEYS, f"unknown expectations {set(expect) - _EXPECT_KEYS}"
    wf_ex = api.execution(ex_id)
    if "state" in expect:
        assert wf_ex["state"] == expect["state"], wf_ex["state_info"]
    if "state_info" in expect:
        assert expect["state_info"] in (wf_ex["state_info"] or ""), wf_ex["state_info"]
    output = json.loads(wf_ex["output"])
    if "output" in expect:
        assert output == expect["output"]
    for key, value in expect.get("output_includes", {}).items():
        assert key in output and output[key] == value, output
    if "output_keys" in expect:
        assert sorted(output) == sorted(expect["output_keys"])
    if "input" in expect:
        assert json.loads(wf_ex["input"]) == expect["input"]
    if "published_global" in expect:
        assert json.loads(wf_ex["published_global"]) == expect["published_global"]
    check_tasks(api, ex_id, expect)
    for task_name, child_expect in expect.get("children", {}).items():
        check(api, api.child(ex_id, task_name)["id"], child_expect)


def check_tasks(api: LanguageApi, ex_id: str, expect: Mapping[str, Any]) -> None:
    """Assert the task-level expectations: states, results, published, state_info, actions."""
    if "tasks" in expect:
        states = {name: [t["state"] for t in ts] for name, ts in api.tasks_by_name(ex_id).items()}
        wanted = {name: v if isinstance(v, list) else [v] for name, v in expect["tasks"].items()}
        assert states == wanted
    for name, result in expect.get("results", {}).items():
        assert json.loads(api.task(ex_id, name)["result"]) == result
    for name, published in expect.get("published", {}).items():
        assert json.loads(api.task(ex_id, name)["published"]) == published
    for name, fragment in expect.get("task_info", {}).items():
        info = api.task(ex_id, name)["state_info"] or ""
        assert fragment in info, info
    for name, count in expect.get("running", {}).items():
        assert len(api.running_actions(ex_id, name)) == count
    for name, states in expect.get("actions", {}).items():
        action_exs = api.action_executions(api.task(ex_id, name)["id"])
        assert sorted(a["state"] for a in action_exs) == sorted(states)


def run_case(fixture: Fixture, case: Doc) -> None:
    """Upload, start, do the steps, check the end."""
    api = LanguageApi()
    upload_all(api, fixture)
    if "refused_start" in case:
        refused = case["refused_start"]
        assert_fault(start_request(api, case), refused.get("status", 400), refused["message"])
        assert api.get("/v2/executions").json["executions"] == []
        return
    ex_id = start(api, case)
    api.runner.drain()
    for step in case.get("steps", []):
        run_step(api, ex_id, step)
    check(api, ex_id, case["expect"])


_LOCATED = re.compile(r"^line (?P<line>\d+): (?P<path>\S+): (?P<problem>.+)$", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Where an upload's faultstring says the problem is."""

    line: int
    path: str
    problem: str


def refusal(fixture: Fixture) -> Refusal:
    """Upload the documents and read where the refusal of the last one says the problem is.

    All documents but the last must be accepted; the last gets ``refused.status`` (400) with a
    faultstring ``line N: <path>: <problem>`` whose problem contains ``refused.message``.
    """
    api = LanguageApi()
    *accepted, (text, endpoint) = fixture.uploads
    for ok_text, ok_endpoint in accepted:
        result = api.upload(ok_text, ok_endpoint)
        assert result.status_code == 201, result.text
    expected = fixture.spec["refused"]
    message = assert_fault(api.upload(text, endpoint), expected.get("status", 400))
    located = _LOCATED.match(message.strip())
    assert located, f"no 'line N: path: problem' in {message!r}"
    assert expected.get("message", "") in located["problem"], message
    return Refusal(int(located["line"]), located["path"], located["problem"])


def is_within(path: str, ancestor: str) -> bool:
    """Whether ``ancestor`` is ``path`` or a path above it (``wf.tasks.a`` is within ``wf.tasks``)."""
    return path == ancestor or path.startswith(ancestor + ".")
