"""Request bodies in, JSON documents out — without falcon's media handlers.

Bodies are read once, bounded by the app's ``max_body_bytes`` (413 past it), and
parsed with the stdlib ``json`` module; responses are encoded compactly by one
encoder built at import time. Every problem with a body is an
:class:`~mistral_core.errors.InputError` (400) whose message names the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import falcon

from mistral_core.errors import InputError

NOT_JSON = "Request is not in valid JSON format"

_encode = json.JSONEncoder(separators=(",", ":")).encode


def write_json(resp: falcon.Response, document: Any, status: str = falcon.HTTP_200) -> None:
    """Answer ``document`` as compact JSON with ``status``."""
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = _encode(document)


def read_body(req: falcon.Request, max_bytes: int) -> bytes:
    """The raw request body.

    Raises:
        falcon.HTTPContentTooLarge: the body is longer than ``max_bytes`` (413).
    """
    length = req.content_length
    if length is not None and length > max_bytes:
        raise falcon.HTTPContentTooLarge(
            description=f"Request body too large: {length} bytes, the limit is {max_bytes} bytes"
        )
    if length is not None:
        return req.bounded_stream.read() if length else b""
    if "chunked" not in (req.get_header("Transfer-Encoding") or "").lower():
        return b""
    # A chunked body (no Content-Length): the server de-chunks it; read one byte past the limit
    # to tell a body that is too large.
    body: bytes = req.stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise falcon.HTTPContentTooLarge(
            description=f"Request body too large: more than {max_bytes} bytes, the limit is {max_bytes} bytes"
        )
    return body


def read_text(req: falcon.Request, max_bytes: int) -> str:
    """The request body as UTF-8 text (a workflow definition).

    Raises:
        falcon.HTTPContentTooLarge: the body is too long.
        InputError: the body is not UTF-8.
    """
    try:
        return read_body(req, max_bytes).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("Request body is not valid UTF-8 text") from None


def read_json_object(req: falcon.Request, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        falcon.HTTPContentTooLarge: the body is too long.
        InputError: not JSON (``Request is not in valid JSON format``), or JSON but not an object.
    """
    body = parse_json(read_body(req, max_bytes), NOT_JSON)
    if not isinstance(body, dict):
        raise InputError(f"Request body must be a JSON object, not {json_type(body)}")
    return body


def parse_json(text: str | bytes, error: str) -> Any:
    """``json.loads(text)``, raising ``InputError(error)`` for anything that is not JSON."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise InputError(error) from None


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def string_field(body: Mapping[str, Any], name: str, default: str = "") -> str:
    """``body[name]`` as a string (``default`` when absent or null).

    Raises:
        InputError: present but not a string.
    """
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InputError(f"Invalid input for field '{name}': expected a string, got {json_type(value)}")
    return value


def object_field(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``body[name]`` as a JSON object: an object, or a string holding one; absent/null/"" -> ``{}``.

    Raises:
        InputError: anything else (a number, an array, a string that is not a JSON object).
    """
    value = body.get(name)
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = parse_json(value, f"Invalid input for field '{name}': the string is not valid JSON")
    if not isinstance(value, dict):
        raise InputError(f"Invalid input for field '{name}': expected a JSON object, got {json_type(value)}")
    return value


def optional_string(body: Mapping[str, Any], name: str) -> str | None:
    """``body[name]`` as a string, or ``None`` when absent or null.

    Raises:
        InputError: present but not a string.
    """
    return None if body.get(name) is None else string_field(body, name)


def optional_boolean(body: Mapping[str, Any], name: str) -> bool | None:
    """``body[name]`` as a JSON boolean, or ``None`` when absent or null.

    Raises:
        InputError: present but not ``true``/``false``.
    """
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise InputError(f"Invalid input for field '{name}': expected a boolean, got {json_type(value)}")


def optional_integer(body: Mapping[str, Any], name: str) -> int | None:
    """``body[name]`` as a JSON integer, or ``None`` when absent or null.

    Raises:
        InputError: present but not an integer (booleans and fractions are refused).
    """
    value = body.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InputError(f"Invalid input for field '{name}': expected an integer, got {json_type(value)}")


def optional_object(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """Like :func:`object_field`, but ``None`` when the field is absent or null (\"leave it as it is\").

    Raises:
        InputError: present but not a JSON object nor a string holding one.
    """
    return None if body.get(name) is None else object_field(body, name)
