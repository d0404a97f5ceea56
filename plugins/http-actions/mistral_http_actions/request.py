"""Turning std.http's Mistral-shaped input into one concrete HTTP request.

Each function validates one input and raises :class:`ValueError` with a message a
workflow author understands; the registry turns that into the action's failure.
"""

from __future__ import annotations

import base64
import dataclasses
import json as jsonlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

DEFAULT_TIMEOUT = 60.0
JSON_TYPE = "application/json"

Timeout = float | tuple[float, float]


@dataclasses.dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request, ready to send.

    Attributes:
        method: upper-case HTTP method.
        url: the absolute URL, query parameters included.
        headers: header name -> value (all strings).
        body: the encoded body, or ``None``.
        timeout: seconds for connecting and for each read; or (connect, read).
        follow_redirects: whether 3xx answers with a Location are followed.
        verify: for https: ``True`` checks certificates, ``False`` does not, a
            string is the path of a CA bundle.
    """

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    timeout: Timeout
    follow_redirects: bool
    verify: bool | str


def with_query(url: str, params: Any) -> str:
    """``url`` with ``params`` (a mapping, a list of pairs or a string) added to its query."""
    if not params:
        return url
    if isinstance(params, str):
        extra = params
    elif isinstance(params, Mapping | list | tuple):
        extra = urlencode(params, doseq=True)
    else:
        raise ValueError(f"params must be a dictionary, not {type(params).__name__}")
    parts = urlsplit(url)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def stringify_headers(headers: Any) -> dict[str, str]:
    """Header values as strings (numbers become text); ``None`` values are dropped."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise ValueError(f"headers must be a dictionary, not {type(headers).__name__}")
    return {str(name): str(value) for name, value in headers.items() if value is not None}


def basic_auth(auth: Any) -> str | None:
    """The ``Authorization`` value for ``"user:password"`` or ``[user, password]``."""
    if auth is None or auth == "":
        return None
    if isinstance(auth, str) and ":" in auth:
        user, password = auth.split(":", 1)
    elif isinstance(auth, list | tuple) and len(auth) == 2:
        user, password = (str(part) for part in auth)
    else:
        raise ValueError("auth must be 'user:password' or [user, password]")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def cookie_header(cookies: Any) -> str | None:
    """The ``Cookie`` value for a dictionary of cookies."""
    if not cookies:
        return None
    if not isinstance(cookies, Mapping):
        raise ValueError(f"cookies must be a dictionary, not {type(cookies).__name__}")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def encode_body(body: Any, json: Any) -> tuple[bytes | None, str | None]:
    """The body bytes and the content type they imply.

    A string body is sent as is (UTF-8), bytes unchanged, anything else as JSON;
    ``json`` is always sent as JSON. Giving both is an error (as in Mistral).
    """
    if body and json:
        raise ValueError("Only one of the parameters 'json' and 'body' can be passed")
    if json is not None:
        return _to_json(json), JSON_TYPE
    if body is None:
        return None, None
    if isinstance(body, bytes):
        return body, None
    if isinstance(body, str):
        return body.encode("utf-8"), None
    return _to_json(body), JSON_TYPE


def _to_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    try:
        return jsonlib.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the body cannot be sent as JSON: {exc}") from None


def timeout_seconds(timeout: Any) -> Timeout:
    """``timeout`` as seconds (default 60), or a (connect, read) pair."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, list | tuple) and len(timeout) == 2:
        return (_positive(timeout[0]), _positive(timeout[1]))
    return _positive(timeout)


def _positive(value: Any) -> float:
    """A number of seconds > 0."""
    if isinstance(value, bool):
        raise ValueError(f"timeout must be a number of seconds, not {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"timeout must be a number of seconds, not {value!r}") from None
    if seconds <= 0:
        raise ValueError(f"timeout must be more than 0 seconds, not {value!r}")
    return seconds


def set_header(headers: dict[str, str], name: str, value: str | None) -> None:
    """Set ``name`` to ``value``, replacing any same-named header (any case); ``None`` removes it."""
    for existing in [key for key in headers if key.lower() == name.lower()]:
        del headers[existing]
    if value is not None:
        headers[name] = value


def has_header(headers: Mapping[str, str], name: str) -> bool:
    """Whether ``headers`` has ``name``, in any case."""
    return any(key.lower() == name.lower() for key in headers)
