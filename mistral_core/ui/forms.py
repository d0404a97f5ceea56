"""An approval's form: fields built from its JSON Schema, values read back from a posted form.

Each property of the schema (an object) is one field, labelled by its ``title`` (else its name),
described by its ``description``: ``enum`` a choice (a ``<select>``), ``boolean`` a checkbox,
``integer``/``number`` a number input, a string a text input (``format: textarea`` or a
``maxLength`` over 200: a text area), anything else a text area of JSON. Browsers are given
``required``, ``min``/``max`` and ``maxlength`` as hints only: the server checks the values with
the same schema, and shows each error next to its field.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from mistral_core.errors import InputError

#: The prefix of the form's field names (``v.amount``): apart from ``decision``, ``csrf``, ``name``.
PREFIX = "v."
#: The most fields a posted form may have (a form of thousands is refused at once).
MAX_FIELDS = 200


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    """One field of the form."""

    name: str
    html_id: str
    label: str
    kind: str  # text, textarea, integer, number, checkbox, select, json
    required: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()
    minimum: Any = None
    maximum: Any = None
    max_length: int | None = None

    @property
    def input_name(self) -> str:
        """The name of its input in the HTML form."""
        return PREFIX + self.name


def fields_of(schema: Mapping[str, Any] | None) -> list[Field]:
    """The fields of an approval's form (none without a form)."""
    if not schema:
        return []
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    return [
        _field(name, spec if isinstance(spec, Mapping) else {}, name in required, position)
        for position, (name, spec) in enumerate(properties.items())
    ]


def _field(name: str, spec: Mapping[str, Any], required: bool, position: int) -> Field:
    base = Field(
        name=name,
        html_id=f"field-{position}",
        label=str(spec.get("title") or name),
        kind="json",
        required=required,
        description=str(spec.get("description") or ""),
    )
    kind = spec.get("type")
    if isinstance(spec.get("enum"), list):
        return dataclasses.replace(base, kind="select", choices=tuple(json.dumps(v) for v in spec["enum"]))
    if kind == "boolean":
        return dataclasses.replace(base, kind="checkbox")
    if kind in ("integer", "number"):
        return dataclasses.replace(base, kind=kind, minimum=spec.get("minimum"), maximum=spec.get("maximum"))
    if kind == "string":
        max_length = spec.get("maxLength") if isinstance(spec.get("maxLength"), int) else None
        long = spec.get("format") == "textarea" or (max_length or 0) > 200
        return dataclasses.replace(base, kind="textarea" if long else "text", max_length=max_length)
    return base


def choice_label(choice: str) -> str:
    """What a ``<select>`` shows of a choice (its value, without JSON's quotes for a string)."""
    value = json.loads(choice)
    return value if isinstance(value, str) else choice


def read_form(raw: bytes) -> dict[str, str]:
    """The fields of a posted form (``application/x-www-form-urlencoded``), the first value of each.

    Raises:
        InputError: not UTF-8 text, or too many fields.
    """
    try:
        parsed = parse_qs(
            raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"A form is UTF-8 text of at most {MAX_FIELDS} fields") from None
    return {name: values[0] for name, values in parsed.items()}


def values_of(fields: list[Field], posted: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The values of the form's fields, typed as the schema says, and the fields that could not be
    read as their type (``{name: why}``). An empty field is left out (``required`` then says so)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        text = posted.get(field.input_name)
        if field.kind == "checkbox":
            values[field.name] = text is not None
            continue
        if text is None or text.strip() == "":
            continue
        try:
            values[field.name] = _typed(field, text)
        except ValueError as exc:
            errors[field.name] = str(exc)
    return values, errors


def _typed(field: Field, text: str) -> Any:
    if field.kind == "integer":
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"{text.strip()[:40]!r} is not a whole number") from None
    if field.kind == "number":
        try:
            number = float(text.strip())
        except ValueError:
            raise ValueError(f"{text.strip()[:40]!r} is not a number") from None
        return int(number) if number.is_integer() and "." not in text else number
    if field.kind in ("select", "json"):
        try:  # strict: no NaN, Infinity or overflowing numbers; nesting past Python's stack is refused
            return json.loads(text, parse_constant=_not_json, parse_float=_finite)
        except (ValueError, RecursionError):
            raise ValueError("not valid JSON") from None
    return text


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:40]} is too large")
    return number


def posted_texts(fields: list[Field], posted: Mapping[str, str]) -> dict[str, str]:
    """What each input showed when the form was posted (a form sent back with errors keeps it)."""
    return {field.name: posted[field.input_name] for field in fields if field.input_name in posted}
