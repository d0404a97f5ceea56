"""Ad-hoc action and workbook documents: parsing and validation.

An ad-hoc action wraps another action (``base``, with inline params), computes
the base's input from its own (``base-input``), declares its input (``input``)
and may transform the result (``output``)::

    version: '2.0'
    greet:
      base: std.echo
      base-input: {output: "Hello, <% $.name %>!"}
      input: [name]
      output: <% $ %>

A workbook bundles workflows and actions under a name; they are stored as
``<workbook>.<item>``, and short names inside it find the workbook's own items
first.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from mistral_core.errors import LanguageError
from mistral_core.lang.expressions import Evaluator
from mistral_core.lang.inline import split_inline
from mistral_core.lang.loader import Document, Path, load_document
from mistral_core.lang.spec import InputParam
from mistral_core.lang.validation import ParsedWorkflow, check_name_length, check_value, parse_workflow_bodies

_NAME = re.compile(r"^[\w.\-]+$")
_ANY = {"type": ["string", "number", "integer", "boolean", "object", "array", "null"]}
_INPUT_ITEM = {
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "object", "minProperties": 1, "maxProperties": 1}]
}
ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "base": {"type": "string", "minLength": 1},
        "base-input": {"type": "object"},
        "input": {"type": "array", "items": _INPUT_ITEM},
        "output": _ANY,
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["base"],
    "additionalProperties": False,
}
WORKBOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "version": {"anyOf": [{"type": "string"}, {"type": "number"}]},
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "workflows": {"type": "object"},
        "actions": {"type": "object"},
    },
    "required": ["version", "name"],
    "additionalProperties": False,
}
_ACTION_VALIDATOR = jsonschema.Draft7Validator(ACTION_SCHEMA)
_WORKBOOK_VALIDATOR = jsonschema.Draft7Validator(WORKBOOK_SCHEMA)


@dataclasses.dataclass(frozen=True, slots=True)
class AdhocSpec:
    """One ad-hoc action."""

    name: str
    base: str
    base_params: Mapping[str, Any]
    base_input: Mapping[str, Any]
    input: tuple[InputParam, ...]
    output: Any
    has_output: bool
    description: str
    tags: tuple[str, ...]

    @classmethod
    def build(cls, name: str, body: Mapping[str, Any]) -> AdhocSpec:
        """The spec of a validated ad-hoc action body."""
        base, params = split_inline(str(body["base"]))
        inputs = []
        for item in body.get("input") or ():
            if isinstance(item, str):
                inputs.append(InputParam(item))
            else:
                ((key, default),) = item.items()
                inputs.append(InputParam(str(key), default))
        return cls(
            name=name,
            base=base,
            base_params=params,
            base_input=body.get("base-input") or {},
            input=tuple(inputs),
            output=body.get("output"),
            has_output="output" in body,
            description=body.get("description", ""),
            tags=tuple(body.get("tags") or ()),
        )

    def input_text(self) -> str:
        """Mistral's ``input`` string of the action: ``name, greeting="Hi"``."""
        return ", ".join(p.name if p.required else f'{p.name}="{p.default}"' for p in self.input)


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedAction:
    """One ad-hoc action of a document: name, body, spec."""

    name: str
    body: dict[str, Any]
    spec: AdhocSpec


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedWorkbook:
    """A workbook: its name, attributes, workflows and actions (names already prefixed)."""

    name: str
    description: str
    tags: tuple[str, ...]
    workflows: list[ParsedWorkflow]
    actions: list[ParsedAction]


def parse_actions(text: str, evaluator: Evaluator) -> list[ParsedAction]:
    """Parse and validate a document of ad-hoc actions (``version`` + name -> body)."""
    doc = load_document(text)
    if not isinstance(doc.data, dict):
        raise LanguageError("an actions document must be a mapping with 'version' and actions", line=1)
    _check_version(doc, ())
    names = [str(k) for k in doc.data if k != "version"]
    if not names:
        raise LanguageError("the document defines no action", line=1)
    return [_parse_action(name, doc.data[name], (name,), doc, evaluator) for name in names]


def parse_workbook(text: str, evaluator: Evaluator) -> ParsedWorkbook:
    """Parse and validate a workbook document."""
    doc = load_document(text)
    if not isinstance(doc.data, dict):
        raise LanguageError("a workbook must be a mapping with 'version' and 'name'", line=1)
    _check_schema(_WORKBOOK_VALIDATOR, doc.data, (), doc)
    _check_version(doc, ())
    name = str(doc.data["name"])
    check_name_length(name, "workbook", doc.line_of(("name",)))
    if not _NAME.match(name):
        raise LanguageError(f"invalid workbook name '{name}'", path="name", line=doc.line_of(("name",)))
    bodies: dict[str, tuple[Any, Path]] = {
        f"{name}.{wf}": (body, ("workflows", str(wf)))
        for wf, body in (doc.data.get("workflows") or {}).items()
    }
    workflows = parse_workflow_bodies(bodies, doc, evaluator)
    actions = [
        _parse_action(f"{name}.{a}", body, ("actions", a), doc, evaluator)
        for a, body in (doc.data.get("actions") or {}).items()
    ]
    return ParsedWorkbook(
        name, doc.data.get("description", ""), tuple(doc.data.get("tags") or ()), workflows, actions
    )


def _parse_action(name: str, body: Any, where: Path, doc: Document, evaluator: Evaluator) -> ParsedAction:
    check_name_length(name, "action", doc.line_of(where))
    if not _NAME.match(name):
        raise LanguageError(f"invalid action name '{name}'", path=_dotted(where), line=doc.line_of(where))
    if not isinstance(body, dict):
        raise LanguageError(
            "an action must be a mapping with 'base'", path=_dotted(where), line=doc.line_of(where)
        )
    _check_schema(_ACTION_VALIDATOR, body, where, doc)
    for key in ("base", "base-input", "input", "output"):
        check_value(evaluator, body.get(key), (*where, key), doc)
    try:
        spec = AdhocSpec.build(name, body)
    except LanguageError as exc:
        raise LanguageError(
            exc.detail, path=_dotted((*where, "base")), line=doc.line_of((*where, "base"))
        ) from None
    return ParsedAction(name, body, spec)


def _check_version(doc: Document, where: Path) -> None:
    version = doc.data.get("version")
    if version is None or str(version) not in ("2.0", "2"):
        raise LanguageError(
            f"'version' must be '2.0', not {version!r}", path="version", line=doc.line_of(("version",)) or 1
        )


def _check_schema(validator: jsonschema.Draft7Validator, body: Any, where: Path, doc: Document) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is None:
        return
    path: Path = (*where, *error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(str(k) for k in error.instance if k not in error.schema.get("properties", {}))
        if extra:
            path = (*path, extra[0])
            raise LanguageError(f"unknown property '{extra[0]}'", path=_dotted(path), line=doc.line_of(path))
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        raise LanguageError(
            f"missing required property '{missing[0]}'", path=_dotted(path), line=doc.line_of(path)
        )
    raise LanguageError(error.message.split("\n")[0], path=_dotted(path), line=doc.line_of(path))


def _dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)
