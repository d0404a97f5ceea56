"""The one-line syntax: ``std.http url="http://x" method=POST timeout=<% $.t %>``, ``fail(msg='no')``.

A name, then ``key=value`` pairs separated by spaces (or, in the function form ``name(k=v, k2=v2)``,
by commas). The name ends at the first space or ``(``; it may itself be an expression
(``<% $.action %> output=1``). A value is, as Mistral 23 reads it:

- an expression, ``<% ... %>``, ``{{ ... }}`` or ``{% ... %}`` (up to its first closer; it may
  contain spaces): kept as text, evaluated when the task runs;
- a quoted string, ``"..."`` or ``'...'`` (up to the next quote of the same kind, no escapes):
  the text between the quotes, never read as JSON (``"3"`` is the string ``"3"``);
- a bracketed value, ``[...]`` or ``{...}``, or a bare word: its JSON value when it is JSON
  (``[1, "a"]``, ``42``, ``1.5``, ``true``, ``null``), else the text as written (``[a, b]`` is the
  string ``"[a, b]"``, ``hello`` is ``"hello"``).

Mistral 23 drops a bare word that is not ``true``, ``false``, ``null`` or digits, and reads only the
leading digits of a number (``1.5`` is 1): mistral-core keeps what is written (docs/api.md, the
table of differences).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from mistral_core.errors import LanguageError
from mistral_core.lang.budget import SizeExceeded
from mistral_core.lang.storable import NotStorable, to_storable

_KEY = re.compile(r"([\w\-]+)=")
_CLOSERS = {"<%": "%>", "{{": "}}", "{%": "%}"}
_NAME_END = re.compile(r"[\s(]")


def split_inline(text: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name k=v k2=v2"`` (or ``"name(k=v, k2=v2)"``) into the name and its parameters.

    Raises:
        LanguageError: the parameters are not ``key=value`` pairs.
    """
    text = text.strip()
    head, rest = _split_name(text)
    if rest.startswith("(") and rest.endswith(")"):  # the function form
        rest = rest[1:-1]
    params: dict[str, Any] = {}
    pos = _skip_separators(rest, 0)
    while pos < len(rest):
        match = _KEY.match(rest, pos)
        if not match:
            raise LanguageError(f"cannot read parameters {rest[pos:]!r} of '{head}': expected key=value")
        key, pos = match.group(1), match.end()
        params[key], pos = _read_value(rest, pos)
        pos = _skip_separators(rest, pos)
    return head, params


def _split_name(text: str) -> tuple[str, str]:
    """The name (an expression, or up to a space or ``(``) and what follows it."""
    for opener, closer in _CLOSERS.items():
        if text.startswith(opener):
            end = text.find(closer, len(opener))
            if end < 0:
                return text, ""
            return text[: end + len(closer)], text[end + len(closer) :].strip()
    found = _NAME_END.search(text)
    if not found:
        return text, ""
    return text[: found.start()], text[found.start() :].strip()


def _skip_separators(text: str, pos: int) -> int:
    while pos < len(text) and (text[pos].isspace() or text[pos] == ","):
        pos += 1
    return pos


def _read_value(text: str, pos: int) -> tuple[Any, int]:
    for opener, closer in _CLOSERS.items():
        if text.startswith(opener, pos):
            end = text.find(closer, pos + len(opener))
            if end < 0:
                raise LanguageError(f"unclosed expression in {text!r}")
            return text[pos : end + len(closer)], end + len(closer)
    if pos < len(text) and text[pos] in "\"'":
        end = text.find(text[pos], pos + 1)
        if end < 0:
            raise LanguageError(f"unclosed quote in {text!r}")
        return text[pos + 1 : end], end + 1
    if pos < len(text) and text[pos] in "[{":
        end = _bracket_end(text, pos)
    else:
        end = pos
        while end < len(text) and not text[end].isspace():
            end += 1
    return json_or_text(text[pos:end]), end


def _bracket_end(text: str, pos: int) -> int:
    """Where the bracketed value starting at ``pos`` ends (quotes inside are skipped)."""
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
                return end + 1
        end += 1
    raise LanguageError(f"unclosed bracket in {text!r}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large")
    return value


def json_or_text(text: str) -> Any:
    """The JSON value of ``text`` if it is JSON that can be stored, else ``text`` itself."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        return to_storable(value, 2 * len(text) + 64)[0]
    except (ValueError, RecursionError, NotStorable, SizeExceeded):
        return text
