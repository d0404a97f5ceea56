"""Workflow specs: immutable objects built from a validated workflow body.

``WorkflowSpec.build(name, body)`` trusts that ``body`` passed validation
(:mod:`mistral_core.lang.validation`); the engine rebuilds specs from stored
bodies and caches them by checksum.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from mistral_core.lang.inline import split_inline

ENGINE_COMMANDS = frozenset({"fail", "succeed", "pause", "noop"})
TRANSITION_KEYS = ("on-success", "on-error", "on-complete", "on-skip", "on-timeout")
#: The policies of a task (``task-defaults`` may give them too).
POLICY_KEYS = (
    "pause-before",
    "wait-before",
    "wait-after",
    "timeout",
    "heartbeat-timeout",
    "retry",
    "concurrency",
    "fail-on",
)
_WITH_ITEMS = re.compile(r"^\s*([A-Za-z_]\w*)\s+in\s+(.+?)\s*$", re.DOTALL)
_NO_VALUE = object()


@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    """One item of an ``on-*`` clause: a task or an engine command, maybe guarded."""

    target: str
    guard: Any = None
    is_command: bool = False
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class Clause:
    """An ``on-success`` / ``on-error`` / ``on-complete`` / ``on-skip`` clause."""

    transitions: tuple[Transition, ...] = ()
    publish: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class InputParam:
    """A declared workflow input: required unless it has a default."""

    name: str
    default: Any = _NO_VALUE

    @property
    def required(self) -> bool:
        """Whether the caller must give it."""
        return self.default is _NO_VALUE


@dataclasses.dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task, with the workflow's ``task-defaults`` already applied."""

    name: str
    action: str | None
    workflow: str | None
    inline_input: Mapping[str, Any]
    input: Any
    publish: Any
    publish_on_error: Any
    publish_on_skip: Any
    on_success: Clause
    on_error: Clause
    on_complete: Clause
    on_skip: Clause
    #: Followed instead of ``on-error`` when the task failed because it timed out (``timeout``,
    #: ``heartbeat-timeout``); without it, ``on-error`` handles timeouts.
    on_timeout: Clause
    join: str | int | None
    with_items: tuple[tuple[str, str], ...]
    requires: tuple[str, ...]
    policies: Mapping[str, Any]
    keep_result: Any = True
    target: str | None = None
    safe_rerun: Any = False
    description: str = ""
    tags: tuple[str, ...] = ()
    #: A JSON Schema a result pushed for this task's actions must match (checked before it counts).
    output_schema: Mapping[str, Any] | None = None

    def clauses(self) -> Iterable[tuple[str, Clause]]:
        """The four clauses with their keys."""
        yield "on-success", self.on_success
        yield "on-error", self.on_error
        yield "on-complete", self.on_complete
        yield "on-skip", self.on_skip
        yield "on-timeout", self.on_timeout

    @property
    def handles_timeouts(self) -> bool:
        """Whether ``on-timeout`` says anything (else ``on-error`` handles timeouts)."""
        return bool(self.on_timeout.transitions or self.on_timeout.publish)

    @property
    def type(self) -> str:
        """``WORKFLOW`` for a sub-workflow task, else ``ACTION``."""
        return "WORKFLOW" if self.workflow else "ACTION"


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowSpec:
    """One workflow of the language v2."""

    name: str
    type: str
    description: str
    tags: tuple[str, ...]
    input: tuple[InputParam, ...]
    output: Any
    output_on_error: Any
    vars: Mapping[str, Any]
    tasks: Mapping[str, TaskSpec]
    start_tasks: tuple[str, ...]
    inbound: Mapping[str, tuple[str, ...]]
    #: task name -> the join tasks it is an inbound task of.
    feeds_joins: Mapping[str, tuple[str, ...]]
    body: Mapping[str, Any]

    @classmethod
    def build(cls, name: str, body: Mapping[str, Any]) -> WorkflowSpec:
        """Build the spec of a validated workflow body."""
        defaults = body.get("task-defaults") or {}
        names = frozenset(body["tasks"])
        tasks = {
            t_name: build_task(t_name, t_body or {}, defaults, names)
            for t_name, t_body in body["tasks"].items()
        }
        inbound = _inbound(tasks)
        wf_type = body.get("type", "direct")
        starts = tuple(n for n in tasks if not inbound.get(n)) if wf_type == "direct" else ()
        return cls(
            name=name,
            type=wf_type,
            description=body.get("description", ""),
            tags=tuple(body.get("tags") or ()),
            input=tuple(_input_param(item) for item in body.get("input") or ()),
            output=body.get("output"),
            output_on_error=body.get("output-on-error"),
            vars=body.get("vars") or {},
            tasks=tasks,
            start_tasks=starts,
            inbound=inbound,
            feeds_joins=_feeds_joins(tasks, inbound),
            body=body,
        )

    def interface(self) -> dict[str, Any]:
        """Mistral's ``interface`` field: the declared input as written and the output names."""
        inputs = [p.name if p.required else {p.name: p.default} for p in self.input]
        outputs = list(self.output) if isinstance(self.output, dict) else []
        return {"input": inputs, "output": outputs}

    def input_text(self) -> str:
        """Mistral's ``input`` string: ``a, b="1"``."""
        parts = []
        for param in self.input:
            if param.required:
                parts.append(param.name)
            else:
                default = param.default
                parts.append(
                    f'{param.name}="{default}"'
                    if not isinstance(default, dict | list)
                    else f"{param.name}={default}"
                )
        return ", ".join(parts)


def _feeds_joins(
    tasks: Mapping[str, TaskSpec], inbound: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    feeds: dict[str, list[str]] = {}
    for name, sources in inbound.items():
        if name in tasks and tasks[name].join is not None:
            for source in sources:
                feeds.setdefault(source, []).append(name)
    return {source: tuple(joins) for source, joins in feeds.items()}


def _input_param(item: Any) -> InputParam:
    if isinstance(item, str):
        return InputParam(item)
    ((name, default),) = item.items()
    return InputParam(str(name), default)


def _inbound(tasks: Mapping[str, TaskSpec]) -> dict[str, tuple[str, ...]]:
    inbound: dict[str, list[str]] = {}
    for task in tasks.values():
        for _, clause in task.clauses():
            for transition in clause.transitions:
                # A command named like a task still makes that task no start task (as in Mistral 23).
                known = not transition.is_command or transition.target in tasks
                if known and task.name not in inbound.get(transition.target, []):
                    inbound.setdefault(transition.target, []).append(task.name)
    return {name: tuple(sources) for name, sources in inbound.items()}


def build_task(
    name: str, body: Mapping[str, Any], defaults: Mapping[str, Any], task_names: frozenset[str] = frozenset()
) -> TaskSpec:
    """Build one task spec, with ``task-defaults`` merged under the task's own keys."""
    merged = {**{k: v for k, v in defaults.items()}, **body}
    action_text = merged.get("action")
    workflow_text = merged.get("workflow")
    inline: dict[str, Any] = {}
    action = workflow = None
    if action_text:
        action, inline = split_inline(str(action_text))
    elif workflow_text:
        workflow, inline = split_inline(str(workflow_text))
    else:
        action = "std.noop"
    policies: dict[str, Any] = {k: merged[k] for k in POLICY_KEYS if k in merged}
    clauses = {
        key: parse_clause(merged.get(key), own=name, is_default=key not in body, task_names=task_names)
        for key in TRANSITION_KEYS
    }
    return TaskSpec(
        name=name,
        action=action,
        workflow=workflow,
        inline_input=inline,
        input=merged.get("input") or {},
        publish=merged.get("publish") or {},
        publish_on_error=merged.get("publish-on-error") or {},
        publish_on_skip=merged.get("publish-on-skip") or {},
        on_success=clauses["on-success"],
        on_error=clauses["on-error"],
        on_complete=clauses["on-complete"],
        on_skip=clauses["on-skip"],
        on_timeout=clauses["on-timeout"],
        join=merged.get("join"),
        with_items=parse_with_items(merged.get("with-items")),
        requires=_requires(name, body, defaults),
        policies=policies,
        keep_result=merged.get("keep-result", True),
        target=merged.get("target"),
        safe_rerun=merged.get("safe-rerun", False),
        description=merged.get("description", ""),
        tags=tuple(merged.get("tags") or ()),
        output_schema=body.get("output-schema"),
    )


def _requires(name: str, body: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[str, ...]:
    """A task's own ``requires`` and those of ``task-defaults`` (added, as Mistral does), never itself."""
    names = dict.fromkeys((*_names(body.get("requires")), *_names(defaults.get("requires"))))
    names.pop(name, None)
    return tuple(names)


def _names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def parse_clause(
    value: Any, own: str = "", is_default: bool = False, task_names: frozenset[str] = frozenset()
) -> Clause:
    """Read an ``on-*`` clause in any of its forms (name, list, guarded dicts, publish/next)."""
    if value is None:
        return Clause()
    publish: Mapping[str, Any] = {}
    if isinstance(value, dict) and ("next" in value or "publish" in value):
        publish = value.get("publish") or {}
        value = value.get("next")
    items = [] if value is None else [value] if isinstance(value, str) else list(value)
    transitions = []
    for item in items:
        transition = parse_transition(item, task_names)
        if is_default and transition.target == own:  # a default never points a task at itself
            continue
        transitions.append(transition)
    return Clause(tuple(transitions), publish)


def parse_transition(item: Any, task_names: frozenset[str] = frozenset()) -> Transition:
    """One clause item: ``t2``, ``{t2: <% guard %>}``, ``fail msg="x"``. Engine commands win over
    tasks of the same name (as in Mistral 23); a task's exact name wins over the inline syntax (a
    task may be called ``a(b)``)."""
    guard: Any = None
    if isinstance(item, dict):
        ((text, guard),) = item.items()
    else:
        text = item
    text = str(text)
    exact = text.strip()
    name, params = (exact, {}) if exact in task_names and exact not in ENGINE_COMMANDS else split_inline(text)
    is_command = name in ENGINE_COMMANDS
    return Transition(target=name, guard=guard, is_command=is_command, params=params)


def parse_with_items(value: Any) -> tuple[tuple[str, str], ...]:
    """``x in <% $.xs %>`` (or a list of such) into (variable, expression) pairs."""
    if not value:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    pairs = []
    for item in items:
        match = _WITH_ITEMS.match(str(item))
        if not match:
            raise ValueError(f"'{item}' is not of the form 'var in <expression or list>'")
        pairs.append((match.group(1), match.group(2)))
    return tuple(pairs)
