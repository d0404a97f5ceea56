"""Reading and validating a workflow document: structure, then meaning, then expressions.

Every problem is reported as one :class:`LanguageError` naming the path and the
line (``line 7: wf.tasks.t1.on-success: unknown task 't9'``), never a schema dump.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

from mistral_core.errors import ExpressionError, LanguageError
from mistral_core.lang import schema
from mistral_core.lang.durations import DURATION_POLICIES, DurationError, check_seconds
from mistral_core.lang.expressions import Evaluator, has_expression
from mistral_core.lang.inline import split_inline
from mistral_core.lang.loader import Document, Path, load_document
from mistral_core.lang.parts import own_parts
from mistral_core.lang.schemas import schema_problem
from mistral_core.lang.spec import WorkflowSpec, parse_with_items

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_NAME = re.compile(r"^[\w.\-]+$")
#: Mistral's limit; any other name is valid (``fetch-data``, ``step.2``), as in Mistral 23.
MAX_TASK_NAME = 255
#: The longest name of a workflow, workbook or ad-hoc action (Mistral's ``String(255)`` columns;
#: here indexed, and PostgreSQL refuses an index row over about 2.7 KB).
MAX_NAME = 255
#: Tasks of one workflow. Starting and running one costs more than linear time in its tasks, under
#: the write lock (25,000 tasks held every other request for 18 s); real workflows have tens, and a
#: large flow reads better as sub-workflows (or with-items) anyway.
MAX_TASKS = 2000
_WORKFLOW_VALIDATOR = jsonschema.Draft7Validator(schema.WORKFLOW)
_RESERVED = frozenset({"version", "name", "description", "tags", "workflows", "actions"})


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedWorkflow:
    """One workflow of a document: its name, body, checksum of the body and spec."""

    name: str
    body: dict[str, Any]
    spec: WorkflowSpec
    checksum: str
    #: Its own definition when the document defines several (see :mod:`mistral_core.lang.parts`);
    #: None: the document as sent is its definition.
    text: str | None = None


def spec_checksum(name: str, body: Mapping[str, Any]) -> str:
    """A stable digest of a workflow body (key of the spec snapshots executions run with)."""
    text = json.dumps({"name": name, "body": body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_workflows(text: str, evaluator: Evaluator) -> list[ParsedWorkflow]:
    """Parse and validate a document holding one or more workflows.

    Raises:
        LanguageError: the first problem found, with its path and line.
    """
    doc = load_document(text)
    if not isinstance(doc.data, dict):
        raise LanguageError("a workflow document must be a mapping with 'version' and workflows", line=1)
    _check_version(doc)
    names = [k for k in doc.data if k != "version"]
    if not names:
        raise LanguageError("the document defines no workflow", line=doc.line_of(()))
    parsed = [_parse_one(str(name), doc, evaluator) for name in names]
    if len(parsed) == 1:
        return parsed
    parts = own_parts(text, doc, [p.name for p in parsed])
    return [dataclasses.replace(p, text=parts[p.name]) for p in parsed]


def check_name_length(name: str, what: str, line: int | None) -> None:
    """Raise LanguageError if the name of a ``what`` (workflow, workbook, action) is too long."""
    if len(name) > MAX_NAME:
        message = f"invalid {what} name: at most {MAX_NAME} characters, not {len(name)}"
        raise LanguageError(message, path=f"{name[:40]}...", line=line)


def parse_workflow_bodies(
    bodies: dict[str, tuple[Any, Path]], doc: Document, evaluator: Evaluator
) -> list[ParsedWorkflow]:
    """Validate workflows found elsewhere in a document (a workbook's ``workflows``).

    Args:
        bodies: the workflow's stored name -> (its body, its path in ``doc``).
    """
    parsed = []
    for name, (body, root) in bodies.items():
        lines = {
            (name, *path[len(root) :]): line for path, line in doc.lines.items() if path[: len(root)] == root
        }
        parsed.append(_parse_one(name, Document({name: body}, lines), evaluator))
    return parsed


def _check_version(doc: Document) -> None:
    version = doc.data.get("version")
    if version is None:
        raise LanguageError("missing 'version' (must be '2.0')", path="version", line=1)
    if str(version) not in ("2.0", "2"):
        raise LanguageError(
            f"unsupported version '{version}' (must be '2.0')", path="version", line=doc.line_of(("version",))
        )


def _parse_one(name: str, doc: Document, evaluator: Evaluator) -> ParsedWorkflow:
    body = doc.data[name]
    where = (name,)
    check_name_length(name, "workflow", doc.line_of(where))
    if name in _RESERVED or not _NAME.match(name) or _UUID.match(name):
        raise LanguageError(f"invalid workflow name '{name}'", path=name, line=doc.line_of(where))
    if not isinstance(body, dict):
        raise LanguageError("a workflow must be a mapping with 'tasks'", path=name, line=doc.line_of(where))
    tasks = body.get("tasks")
    if isinstance(tasks, dict) and len(tasks) > MAX_TASKS:
        message = f"{len(tasks):,} tasks: a workflow has at most {MAX_TASKS:,} (split it into sub-workflows)"
        raise LanguageError(message, path=f"{name}.tasks", line=doc.line_of((*where, "tasks")))
    _check_structure(name, body, doc)
    try:
        spec = WorkflowSpec.build(name, body)
    except (ValueError, LanguageError) as exc:
        raise LanguageError(str(exc), path=name, line=doc.line_of(where)) from None
    _check_meaning(spec, doc)
    _check_expressions(spec, body, doc, evaluator)
    return ParsedWorkflow(name, body, spec, spec_checksum(name, body))


def _check_structure(name: str, body: dict[str, Any], doc: Document) -> None:
    error = jsonschema.exceptions.best_match(_WORKFLOW_VALIDATOR.iter_errors(body))
    if error is None:
        return
    path: Path = (name, *error.absolute_path)
    message, path = _describe_schema_error(error, path)
    raise LanguageError(message, path=_dotted(path), line=doc.line_of(path))


def _describe_schema_error(error: Any, path: Path) -> tuple[str, Path]:
    instance, validator = error.instance, error.validator
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in instance if k not in allowed)
        if extra:
            return f"unknown property '{extra[0]}'", (*path, extra[0])
    if validator == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return f"missing required property '{missing[0] if missing else '?'}'", path
    if validator == "minProperties":
        return "must not be empty", path
    if validator == "enum":
        return f"must be one of {', '.join(map(str, error.validator_value))}, not {instance!r}", path
    if validator in ("anyOf", "oneOf", "type"):
        return f"invalid value {_short(instance)} ({_expected(error)})", path
    return error.message.split("\n")[0], path


def _expected(error: Any) -> str:
    schemas = error.validator_value if error.validator in ("anyOf", "oneOf") else [error.schema]
    kinds: list[str] = []
    for sub in schemas:
        kind = sub.get("type") if isinstance(sub, dict) else None
        names = kind if isinstance(kind, list) else [kind] if kind else ["enum" if "enum" in sub else "value"]
        kinds.extend(n for n in names if n not in kinds)
    return "expected " + " or ".join(kinds)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


def _check_meaning(spec: WorkflowSpec, doc: Document) -> None:
    for task in spec.tasks.values():
        base: Path = (spec.name, "tasks", task.name)
        if not task.name.strip() or len(task.name) > MAX_TASK_NAME:
            _fail(doc, base, f"invalid task name '{task.name[:60]}' (1 to {MAX_TASK_NAME} characters)")
        body = spec.body["tasks"][task.name] or {}
        if "action" in body and "workflow" in body:
            _fail(doc, base, "a task may have 'action' or 'workflow', not both")
        _check_transitions(spec, task.name, doc)
        if spec.type == "reverse":
            _check_reverse_task(spec, task.name, doc)
        elif "requires" in body:
            _fail(doc, (*base, "requires"), "'requires' is only for reverse workflows")
        if task.join is not None and spec.type != "direct":
            _fail(doc, (*base, "join"), "'join' is only for direct workflows")
        if isinstance(task.join, int) and task.join > len(spec.inbound.get(task.name, ())):
            _fail(
                doc,
                (*base, "join"),
                f"join: {task.join} but only "
                f"{len(spec.inbound.get(task.name, ()))} task(s) lead to '{task.name}'",
            )
    if spec.type == "reverse":
        _check_requires_cycle(spec, doc)
    if spec.type == "direct" and not spec.start_tasks:
        _fail(doc, (spec.name, "tasks"), "no start task: every task is the target of a transition")


def _check_transitions(spec: WorkflowSpec, task_name: str, doc: Document) -> None:
    task = spec.tasks[task_name]
    body = spec.body["tasks"][task_name] or {}
    for key, clause in task.clauses():
        if clause.transitions and spec.type == "reverse":
            _fail(doc, (spec.name, "tasks", task_name, key), f"'{key}' is only for direct workflows")
        for transition in clause.transitions:
            if transition.is_command or transition.target in spec.tasks:
                continue
            if key in body:
                where = _transition_path((spec.name, "tasks", task_name, key), body[key], transition.target)
            else:
                defaults = spec.body.get("task-defaults") or {}
                where = _transition_path(
                    (spec.name, "task-defaults", key), defaults.get(key), transition.target
                )
            _fail(doc, where, f"unknown task '{transition.target}'")


def _transition_path(path: Path, raw: Any, target: str) -> Path:
    """The path of the clause item naming ``target`` (a list item, or inside ``next``)."""
    if isinstance(raw, dict) and "next" in raw:
        return _transition_path((*path, "next"), raw["next"], target)
    if isinstance(raw, list):
        for index, item in enumerate(raw):
            text = next(iter(item)) if isinstance(item, dict) and item else item
            if isinstance(text, str) and text.split()[0].split("(")[0] == target:
                return (*path, index)
    return path


def _check_requires_cycle(spec: WorkflowSpec, doc: Document) -> None:
    """A reverse workflow's ``requires`` must not loop (the target could never start)."""
    done: set[str] = set()
    for start in spec.tasks:
        stack = [(start, iter(spec.tasks[start].requires))]
        on_path = {start}
        while stack:
            name, deps = stack[-1]
            nxt = next(deps, None)
            if nxt is None:
                stack.pop()
                on_path.discard(name)
                done.add(name)
                continue
            if nxt in on_path:
                loop = [n for n, _ in stack] + [nxt]
                loop = loop[loop.index(nxt) :]
                _fail(doc, (spec.name, "tasks", name, "requires"), f"requires loop: {' -> '.join(loop)}")
            if nxt not in done and nxt in spec.tasks:
                stack.append((nxt, iter(spec.tasks[nxt].requires)))
                on_path.add(nxt)


def _check_reverse_task(spec: WorkflowSpec, task_name: str, doc: Document) -> None:
    for required in spec.tasks[task_name].requires:
        if required not in spec.tasks:
            _fail(doc, (spec.name, "tasks", task_name, "requires"), f"unknown task '{required}'")


_NUMERIC_POLICIES = ("timeout", "heartbeat-timeout", "wait-before", "wait-after", "concurrency")


def _check_policy_values(name: str, body: Mapping[str, Any], base: Path, doc: Document) -> None:
    """A numeric policy written as text must be an expression (``timeout: soon`` is a mistake);
    a duration written as a number must be one (:func:`~mistral_core.lang.durations.check_seconds`)."""
    for key in _NUMERIC_POLICIES:
        _check_number(body.get(key), key, (*base, key), doc)
    retry = body.get("retry")
    if isinstance(retry, str) and not has_expression(retry):
        try:
            params = split_inline("retry " + retry)[1]
        except LanguageError as exc:
            params = {}
            _fail(doc, (*base, "retry"), exc.detail)
        for key in ("count", "delay"):
            _check_number(params.get(key), f"retry.{key}", (*base, "retry"), doc)
    elif isinstance(retry, dict):
        for key in ("count", "delay"):
            _check_number(retry.get(key), f"retry.{key}", (*base, "retry", key), doc)


def _check_output_schema(schema: Any, path: Path, doc: Document) -> None:
    """``output-schema`` must be a JSON Schema whose patterns match in linear time."""
    problem = schema_problem(schema)
    if problem is not None:
        _fail(doc, path, problem)


def _check_number(value: Any, name: str, path: Path, doc: Document) -> None:
    if isinstance(value, str) and not has_expression(value):
        _fail(doc, path, f"must be a number or an expression, not {value!r}")
    if name in (*DURATION_POLICIES, "retry.delay") and isinstance(value, int | float):
        try:
            check_seconds(name, value)
        except DurationError as exc:
            _fail(doc, path, exc.detail)


def _check_expressions(
    spec: WorkflowSpec, body: Mapping[str, Any], doc: Document, evaluator: Evaluator
) -> None:
    for key in ("output", "output-on-error", "vars", "input", "task-defaults"):
        check_value(evaluator, body.get(key), (spec.name, key), doc)
    _check_policy_values(spec.name, body.get("task-defaults") or {}, (spec.name, "task-defaults"), doc)
    for task_name, task_body in (body.get("tasks") or {}).items():
        base: Path = (spec.name, "tasks", task_name)
        _check_policy_values(spec.name, task_body or {}, base, doc)
        for key, value in (task_body or {}).items():
            if key == "output-schema":
                _check_output_schema(value, (*base, key), doc)
            else:
                check_value(evaluator, value, (*base, key), doc)
        if task_body and "with-items" in task_body:
            _check_with_items(task_body["with-items"], (*base, "with-items"), doc)


def _check_with_items(value: Any, path: Path, doc: Document) -> None:
    """Each ``var in <collection>``: an expression, or a literal list written as JSON."""
    try:
        pairs = parse_with_items(value)
    except ValueError as exc:
        _fail(doc, path, str(exc))
        return
    for var, collection in pairs:
        if has_expression(collection):
            continue
        try:
            literal = json.loads(collection)
        except ValueError:
            literal = None
        if not isinstance(literal, list):
            _fail(
                doc,
                path,
                f"Invalid array in 'with-items' clause: '{var} in {collection}' (a literal list "
                'must be JSON, e.g. [1, 2] or ["a", "b"]; or use an expression)',
            )


def check_value(evaluator: Evaluator, value: Any, path: Path, doc: Document) -> None:
    """Check every expression in ``value``; an error names the path and line of the bad one itself."""
    for text, where in _expressions_with_paths(value, path):
        try:
            evaluator.check(text)
        except ExpressionError as exc:
            _fail(doc, where, exc.detail)


def _expressions_with_paths(value: Any, path: Path) -> Iterator[tuple[str, Path]]:
    if isinstance(value, str):
        if has_expression(value):
            yield value, path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _expressions_with_paths(key, (*path, str(key)))
            yield from _expressions_with_paths(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _expressions_with_paths(item, (*path, index))


def _fail(doc: Document, path: Path, message: str) -> None:
    raise LanguageError(message, path=_dotted(path), line=doc.line_of(path))
