"""JSON Schemas that workflow authors write (``output-schema``, approval forms), checked in linear time.

jsonschema checks ``pattern``, ``patternProperties`` and (through them) ``additionalProperties``
with Python's :mod:`re`, which backtracks: ``^(a+)+$`` against forty ``a`` and a ``!`` runs for
hours inside one C call, where no budget can interrupt it — one pushed result or one answer to a
form would stop the whole server. Here those keywords match with RE2 (google-re2), whose time is
linear in the text; a pattern RE2 cannot run (backreferences, lookaround) is refused when the
schema is given (:func:`schema_problem`), with a one-line message.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is our message, not a line on stderr
#: Patterns kept compiled (schemas are few: one per task or form that declares one).
_CACHE_SIZE = 1024
_SHOWN = 80


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def _patterns(schema: Any) -> Iterator[str]:
    """Every regular expression of a schema: ``pattern`` values and ``patternProperties`` keys."""
    if isinstance(schema, Mapping):
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            yield pattern
        by_pattern = schema.get("patternProperties")
        if isinstance(by_pattern, Mapping):
            yield from (key for key in by_pattern if isinstance(key, str))
        for value in schema.values():
            yield from _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _patterns(value)


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` cannot be used (one line), or None: not a JSON Schema, or a pattern that
    RE2 cannot run."""
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "the schema"
        return f"not a JSON Schema: {where}: {exc.message}"
    for pattern in _patterns(schema):
        try:
            _compiled(pattern)
        except re2.error:
            return (
                f"pattern {pattern[:_SHOWN]!r} is not supported: patterns are RE2 regular expressions "
                "(no backreferences or lookaround), which match in linear time"
            )
    return None


def validator(schema: Mapping[str, Any]) -> Any:
    """A validator of ``schema`` whose patterns match with RE2 (the schema passed
    :func:`schema_problem`)."""
    return _validator(json.dumps(schema, sort_keys=True))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _validator(schema_text: str) -> Any:
    schema = json.loads(schema_text)
    return _linear(jsonschema.validators.validator_for(schema))(schema)


@functools.cache
def _linear(cls: Any) -> Any:
    return jsonschema.validators.extend(
        cls,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
    )


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield jsonschema.exceptions.ValidationError(
            f"{instance[:_SHOWN]!r} does not match {pattern[:_SHOWN]!r}"
        )


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = _compiled(pattern)
        for name, value in instance.items():
            if regex.search(name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    named = schema.get("properties", {})
    patterns = [_compiled(pattern) for pattern in schema.get("patternProperties", {})]
    others = [
        name for name in instance if name not in named and not any(regex.search(name) for regex in patterns)
    ]
    if validator.is_type(extra, "object"):
        for name in others:
            yield from validator.descend(instance[name], extra, path=name)
    elif not extra and others:
        shown = ", ".join(repr(name[:_SHOWN]) for name in others[:5])
        yield jsonschema.exceptions.ValidationError(
            f"Additional properties are not allowed ({shown} unexpected)"
        )
