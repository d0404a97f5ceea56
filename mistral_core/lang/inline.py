"""The one-line syntax: ``std.http url="http://x" method=POST timeout=<% $.t %>``.

A name followed by ``key=value`` pairs. A value is an expression (``<% %>``,
``{{ }}``, which may contain spaces), a quoted string, a bracketed list or object,
or a bare word read as a YAML scalar (``3``, ``true``, ``null``, ``abc``).
"""

from __future__ import annotations

import re
from typing import Any

from mistral_core.errors import LanguageError
from mistral_core.lang import loader

_KEY = re.compile(r"([A-Za-z_][\w\-]*)=")
_CLOSERS = {"<%": "%>", "{{": "}}", "{%": "%}"}


def split_inline(text: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name k=v k2=v2"`` into the name and its parameters.

    Raises:
        LanguageError: the parameters are not ``key=value`` pairs.
    """
    text = text.strip()
    head, _, rest = text.partition(" ")
    if head.startswith(("<%", "{{")):  # the whole name is an expression
        return text, {}
    params: dict[str, Any] = {}
    pos, rest = 0, rest.strip()
    while pos < len(rest):
        match = _KEY.match(rest, pos)
        if not match:
            raise LanguageError(f"cannot read parameters {rest[pos:]!r} of '{head}': expected key=value")
        key, pos = match.group(1), match.end()
        value_text, pos = _read_value(rest, pos)
        params[key] = _convert(value_text)
        while pos < len(rest) and rest[pos].isspace():
            pos += 1
    return head, params


def _read_value(text: str, pos: int) -> tuple[str, int]:
    for opener, closer in _CLOSERS.items():
        if text.startswith(opener, pos):
            end = text.find(closer, pos + 2)
            if end < 0:
                raise LanguageError(f"unclosed expression in {text!r}")
            return text[pos : end + 2], end + 2
    if pos < len(text) and text[pos] in "\"'":
        return _read_quoted(text, pos)
    if pos < len(text) and text[pos] in "[{":
        return _read_bracketed(text, pos)
    end = pos
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[pos:end], end


def _read_quoted(text: str, pos: int) -> tuple[str, int]:
    quote, end = text[pos], pos + 1
    while end < len(text):
        if text[end] == "\\":
            end += 2
            continue
        if text[end] == quote:
            return text[pos : end + 1], end + 1
        end += 1
    raise LanguageError(f"unclosed quote in {text!r}")


def _read_bracketed(text: str, pos: int) -> tuple[str, int]:
    depth, end, quote = 0, pos, ""
    while end < len(text):
        char = text[end]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return text[pos : end + 1], end + 1
        end += 1
    raise LanguageError(f"unclosed bracket in {text!r}")


def _convert(value_text: str) -> Any:
    if value_text.startswith(tuple(_CLOSERS)):
        return value_text
    return loader.load_value(value_text)
