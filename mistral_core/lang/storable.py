"""What an expression returns becomes JSON-storable, or is refused with a reason.

Every evaluation result is stored (published variables, task input, outputs) as JSON text, in
SQLite or PostgreSQL; a value JSON cannot hold would make that write — and every later write of
the same context — fail. :func:`to_storable` converts the way Mistral does when it stores a value
(``oslo_serialization.jsonutils.to_primitive``):

- tuples, sets, generators and other mappings -> lists and dicts (a set sorted when it can be);
- ``datetime`` -> ``2024-01-31T12:00:00.000000`` (Mistral's format), ``date``/``time`` -> ISO;
- keys that are numbers, booleans or null -> text, as ``json.dumps`` writes them;
- Jinja's undefined -> null.

and refuses, naming the problem: NaN and infinite floats, strings holding a lone surrogate
(no UTF-8 for them), bytes, integers of more than 4300 digits, keys of any other type, values
nested deeper than :data:`MAX_DEPTH`, and every other type. It also counts the size of the
value (characters of its JSON text, about) and stops at the size budget.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jinja2

from mistral_core.lang.budget import MAX_INT_DIGITS, SizeExceeded, int_digits

#: Deepest nesting of an expression's result.
MAX_DEPTH = 200
_ITERABLES = (tuple, set, frozenset, Iterator)


class NotStorable(Exception):
    """A value JSON cannot hold; the message says which and why."""


def to_storable(value: Any, max_size: int) -> tuple[Any, int]:
    """``value`` as JSON-storable data, and about how many characters its JSON text has.

    Raises:
        NotStorable: a part of it cannot be stored (the message names it).
        SizeExceeded: its JSON text would be longer than ``max_size`` characters.
    """
    converter = _Converter(max_size)
    converted = converter.convert(value, 0)
    return converted, max_size - converter.left


class _Converter:
    def __init__(self, max_size: int) -> None:
        self.left = max_size

    def _spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise SizeExceeded()

    def convert(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            return self._string(value)
        if kind is dict or isinstance(value, Mapping):
            return self._mapping(value, depth)
        if kind is list or isinstance(value, _ITERABLES):
            return self._sequence(value, depth)
        if value is None or kind is bool:
            self._spend(5)
            return value
        if kind is int:
            return self._int(value)
        if kind is float:
            return self._float(value)
        return self._other(value, depth)

    def _string(self, text: str) -> str:
        self._spend(len(text) + 2)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = text[exc.start]
                raise NotStorable(
                    f"a string holds a lone surrogate ({bad!a}), which JSON text cannot"
                ) from None
        return text

    def _int(self, value: int) -> int:
        digits = int_digits(value)
        if digits > MAX_INT_DIGITS:
            raise NotStorable(f"an integer may have at most {MAX_INT_DIGITS} digits")
        self._spend(digits)
        return value

    def _float(self, value: float) -> float:
        if not math.isfinite(value):
            raise NotStorable(f"{value} is not a JSON number")
        self._spend(24)
        return value

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        self._deeper(depth)
        self._spend(2)
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = key if type(key) is str else _key_text(key)
            result[self._string(name)] = self.convert(item, depth + 1)
            self._spend(2)
        return result

    def _sequence(self, value: Any, depth: int) -> list[Any]:
        self._deeper(depth)
        self._spend(2)
        if isinstance(value, set | frozenset):
            value = _sorted(value)
        result = []
        for item in value:
            result.append(self.convert(item, depth + 1))
            self._spend(1)
        return result

    @staticmethod
    def _deeper(depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise NotStorable(f"the value nests deeper than {MAX_DEPTH} levels")

    def _other(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):  # a str subclass (Markup)
            return self._string(str(value))
        if isinstance(value, bool | int | float):  # subclasses (an IntEnum...)
            return self.convert(_plain_number(value), 0)
        if isinstance(value, jinja2.Undefined):
            self._spend(4)
            return None
        if isinstance(value, datetime.datetime):
            return self._string(value.strftime("%Y-%m-%dT%H:%M:%S.%f"))
        if isinstance(value, datetime.date | datetime.time):
            return self._string(value.isoformat())
        if isinstance(value, bytes | bytearray):
            raise NotStorable("bytes are not JSON: decode them to a string")
        if isinstance(value, Iterable):  # dict views, ranges, lazy sequences of YAQL
            return self._sequence(iter(value), depth)
        raise NotStorable(f"a value of type '{type(value).__name__}' is not JSON")


def _plain_number(value: bool | int | float) -> bool | int | float:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    return float(value)


def _key_text(key: Any) -> str:
    """A key as ``json.dumps`` writes it, or NotStorable."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        if int_digits(key) > MAX_INT_DIGITS:
            raise NotStorable(f"an integer may have at most {MAX_INT_DIGITS} digits")
        return str(int(key))
    if isinstance(key, float):
        if not math.isfinite(key):
            raise NotStorable(f"{key} is not a JSON number")
        return repr(float(key))
    if isinstance(key, str):
        return str(key)
    raise NotStorable(f"a key of type '{type(key).__name__}' is not JSON (keys are strings)")


def _sorted(items: set[Any] | frozenset[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:  # items of different kinds: keep the set's order
        return list(items)
