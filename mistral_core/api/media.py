"""Request bodies in, JSON documents out — without falcon's media handlers.

Bodies are read once, bounded by the app's ``max_body_bytes`` (413 past it), and
parsed with the stdlib ``json`` module; responses are encoded compactly by one
encoder built at import time. Every problem with a body is an
:class:`~mistral_core.errors.InputError` (400) whose message names the field.

JSON is parsed strictly, so that whatever is accepted can be stored and served
again as JSON on every backend: the text must be UTF-8; ``NaN``, ``Infinity``,
``-Infinity`` and numbers too large for a float are refused (Python's ``json``
takes them, no other JSON reader does); so are strings holding a NUL (PostgreSQL
cannot store it in text) or a lone surrogate (no UTF-8 encoding exists for it),
wherever they are, keys included.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import falcon

from mistral_core.errors import InputError

NOT_JSON = "Request is not in valid JSON format"

#: The largest integer a count field takes: what an integer column holds on every backend.
MAX_INTEGER = 2**31 - 1
#: Characters no string we store may hold: NUL and the UTF-16 surrogates (lone ones: a decoded
#: string holds a pair as one character).
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")

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
    """``json.loads(text)``, strictly (see the module's docstring).

    Raises:
        InputError: ``error`` for anything that is not JSON; a message naming the problem
            for text that is not UTF-8, a number JSON has not, or a string that cannot be stored.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")  # strict: json.loads would let encoded surrogates through
        except UnicodeDecodeError:
            raise InputError(f"{error}: the text is not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise InputError(error) from None
    if "\\u" in text:  # only an escape makes a NUL or a surrogate: raw ones are refused above
        _check_strings(value)
    return value


def unstorable(text: str) -> str | None:
    """What makes ``text`` unstorable (``"a NUL character"``, ``"a lone surrogate"``), or ``None``."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    return "a NUL character" if found.group() == "\x00" else "a lone surrogate (not a character)"


def _refuse_constant(name: str) -> Any:
    raise InputError(f"Invalid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"Invalid JSON: the number {text[:40]} is too large")
    return value


def _check_strings(value: Any) -> None:
    """Refuse a string (value or key) anywhere in ``value`` that holds what no store takes."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:  # a loop rather than recursion: nesting depth is the sender's
        where, item = stack.pop()
        if isinstance(item, str):
            _check_string(where, item)
        elif isinstance(item, dict):
            for key, child in item.items():
                inner = f"{where}.{key}" if where else key
                _check_string(inner, key)
                stack.append((inner, child))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))


def _check_string(where: str, text: str) -> None:
    problem = unstorable(text)
    if problem is not None:
        place = f"field '{_printable(where)}'" if where else "the body"
        raise InputError(f"Invalid input for {place}: a string holds {problem}")


def _printable(text: str, limit: int = 80) -> str:
    """``text`` made safe for a one-line message: unstorable characters escaped, cut at ``limit``."""
    shown = UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


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


#: The longest name, namespace or id a request may give (Mistral's ``String(255)`` columns; here
#: they are indexed, and PostgreSQL refuses an index row over about 2.7 KB).
MAX_NAME = 255


def bounded_name(value: str, what: str) -> str:
    """``value`` if it has at most :data:`MAX_NAME` characters.

    Raises:
        InputError: a longer one, naming ``what`` (``field 'name'``, ``parameter namespace``).
    """
    if len(value) > MAX_NAME:
        raise InputError(f"Invalid value for {what}: at most {MAX_NAME} characters, not {len(value)}")
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
        InputError: present but not an integer (booleans and fractions are refused), or beyond
            :data:`MAX_INTEGER` either way.
    """
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"Invalid input for field '{name}': expected an integer, got {json_type(value)}")
    if abs(value) > MAX_INTEGER:
        raise InputError(f"Invalid input for field '{name}': {value} is too large (at most {MAX_INTEGER})")
    return value


def optional_object(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """Like :func:`object_field`, but ``None`` when the field is absent or null (\"leave it as it is\").

    Raises:
        InputError: present but not a JSON object nor a string holding one.
    """
    return None if body.get(name) is None else object_field(body, name)
