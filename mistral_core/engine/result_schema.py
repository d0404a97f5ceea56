"""Results checked before they count: a task's ``output-schema`` (or its action class's).

A task may declare ``output-schema:`` (a JSON Schema, checked at upload); an action class may
declare ``output_schema`` (a class attribute). A SUCCESS result that does not match does not
count: pushed over the API, it is refused (422, the action keeps waiting for a good one);
reported by an executor, the action fails with the same message. The message names the first
failing path (``$.items[2].price``) and what is wrong there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema.exceptions

from mistral_core.lang import schemas

#: Validators kept, by the schema's JSON text (schemas are few: one per task that declares one).
_CACHE_SIZE = 256


def mismatch(schema: Mapping[str, Any] | None, result: Any, owner: str) -> str | None:
    """Why ``result`` does not match ``schema`` (one line), or None if it does (or there is none).

    Args:
        schema: the JSON Schema (None: nothing to check).
        result: the result.
        owner: whose schema it is, for the message (``task 'ask'``).
    """
    if not schema:
        return None
    error = jsonschema.exceptions.best_match(schemas.validator(schema).iter_errors(result))
    if error is None:
        return None
    return (
        f"The result does not match the output-schema of {owner}: at {_path(error)}: {_short(error.message)}"
    )


def _path(error: jsonschema.exceptions.ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _short(message: str, limit: int = 200) -> str:
    """One line, bounded (a message quotes the offending value, which may be large)."""
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
