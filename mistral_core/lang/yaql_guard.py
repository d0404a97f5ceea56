"""YAQL with a size budget: its engine options, and the functions that could build too much.

YAQL measures the result of every function call against ``yaql.memoryQuota`` (bytes, shallow)
and stops every iteration of a collection at ``yaql.limitIterators`` items; both are set from
the size budget, and ``'a' * n`` is estimated by YAQL itself before it runs. Some functions can
still build far more than their inputs in one step, before YAQL measures it: ``str`` (of a list
that holds one big string many times), ``join``, ``replace`` (both forms), ``*`` and ``pow`` of
big integers, and Mistral's ``json_dump`` and ``yaml_dump``; and what the text operations build
is counted on the evaluation's meter (:func:`~mistral_core.lang.budget.spend`). Here they are
registered again, in a context layer above YAQL's own, so that YAQL finds these first: same
names, same parameters, same results, estimated before they run.
"""

from __future__ import annotations

import collections.abc  # noqa: F401  (yaql 3.2 uses collections.abc without importing it)
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from yaql.language import specs, yaqltypes

from mistral_core.lang import functions
from mistral_core.lang.budget import check_power, check_repeat, check_size, spend, text_size

T = TypeVar("T")


def engine_options(max_size: int) -> dict[str, Any]:
    """YAQL's options for the size budget ``max_size`` (Mistral's conversions otherwise)."""
    return {
        "yaql.limitIterators": max_size,
        "yaql.memoryQuota": max_size,
        "yaql.convertTuplesToLists": True,
        "yaql.convertSetsToLists": True,
        "yaql.iterableDicts": False,
    }


def _quota(engine: Any) -> int:
    return int(engine.options.get("yaql.memoryQuota", -1))


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def str_(value: Any, engine: Any) -> str:
    """YAQL's ``str(value)``, the text of the value estimated first."""
    if not isinstance(value, str):
        _check_text(value, engine)
    return _built(_text(value))


def _joined(sequence: Any, separator: str, engine: Any) -> str:
    limit = _quota(engine)
    items = list(sequence)  # YAQL's Iterable already stops at limitIterators items
    if limit > 0:
        check_size(text_size([separator * max(len(items) - 1, 0), *items], limit), limit)
    return _built(separator.join(_text(item) for item in items))


def join(sequence: Any, separator: str, engine: Any) -> str:
    """``sequence.join(separator)``."""
    return _joined(sequence, separator, engine)


def join_(separator: str, sequence: Any, engine: Any) -> str:
    """``separator.join(sequence)``."""
    return _joined(sequence, separator, engine)


def _replaced(string: str, old: str, new: str, count: int, engine: Any) -> str:
    limit = _quota(engine)
    if limit > 0:
        found = string.count(old) if old else len(string) + 1
        found = min(found, count) if count >= 0 else found
        check_size(len(string) + found * max(len(new) - len(old), 0), limit)
    return _built(string.replace(old, new, count))


def replace(string: str, old: str, new: str, engine: Any, count: int = -1) -> str:
    """``string.replace(old, new, count)``."""
    return _replaced(string, old, new, count, engine)


def replace_with_dict(string: str, replacements: Mapping[Any, Any], engine: Any, count: int = -1) -> str:
    """``string.replace({old => new, ...}, count)``: each replacement estimated in turn."""
    for key, value in replacements.items():
        string = _replaced(string, _text(key), _text(value), count, engine)
    return string


def _check_text(value: Any, engine: Any) -> None:
    limit = _quota(engine)
    if limit > 0:
        check_size(text_size(value, limit), limit)


def json_dump(data: Any, engine: Any) -> str:
    """Mistral's ``json_dump(data)``, its text estimated first."""
    _check_text(data, engine)
    return _built(functions.json_dump(data))


def yaml_dump(data: Any, engine: Any) -> str:
    """Mistral's ``yaml_dump(data)``, its text estimated first."""
    _check_text(data, engine)
    return _built(functions.yaml_dump(data))


def _built(value: T) -> T:
    spend(value)  # on the evaluation's meter: many values within the budget cannot add up past it
    return value


def _repeat(left: Any, right: Any, engine: Any) -> Any:
    limit = _quota(engine)
    check_repeat(left, right, limit if limit > 0 else 1 << 62)
    return _built(left * right)


def repeat_text(left: str, right: int, engine: Any) -> str:
    """``text * count``, its size estimated first."""
    return str(_repeat(left, right, engine))


def repeat_count(left: int, right: str, engine: Any) -> str:
    """``count * text``, its size estimated first."""
    return str(_repeat(left, right, engine))


def multiply(left: int, right: int, engine: Any) -> int:
    """``integer * integer``, its digits estimated first."""
    return int(_repeat(left, right, engine))


def power(a: Any, b: Any, c: Any = None) -> Any:
    """YAQL's ``pow(a, b, c)``: the digits of ``a ** b`` estimated first (unless modulo ``c``)."""
    if c is None:
        check_power(a, b)
    return pow(a, b, c)


def _declare(func: Callable[..., Any], *decorators: Any) -> Any:
    """``func`` with YAQL's declarations applied (as decorators would, outermost first)."""
    declared: Any = func
    for decorate in reversed(decorators):
        declared = decorate(declared)
    return declared


def _string(name: str) -> Any:
    return specs.parameter(name, yaqltypes.String())


#: The functions to register above YAQL's own, declared as YAQL declares its originals.
FUNCTIONS = (
    _declare(str_, specs.parameter("value", nullable=True), specs.name("str")),
    _declare(
        join,
        specs.parameter("sequence", yaqltypes.Iterable()),
        _string("separator"),
        specs.method,
        specs.name("join"),
    ),
    _declare(
        join_,
        specs.parameter("sequence", yaqltypes.Iterable()),
        _string("separator"),
        specs.method,
        specs.name("join"),
    ),
    _declare(
        replace,
        _string("string"),
        _string("old"),
        _string("new"),
        specs.parameter("count", int),
        specs.method,
        specs.name("replace"),
    ),
    _declare(
        replace_with_dict,
        _string("string"),
        specs.parameter("replacements", Mapping),
        specs.parameter("count", int),
        specs.method,
        specs.name("replace"),
    ),
    _declare(json_dump, specs.parameter("data", nullable=True), specs.name("json_dump")),
    _declare(repeat_text, _string("left"), specs.parameter("right", int), specs.name("#operator_*")),
    _declare(repeat_count, specs.parameter("left", int), _string("right"), specs.name("#operator_*")),
    _declare(
        multiply, specs.parameter("left", int), specs.parameter("right", int), specs.name("#operator_*")
    ),
    _declare(
        power,
        specs.parameter("a", yaqltypes.Number()),
        specs.parameter("b", yaqltypes.Number()),
        specs.parameter("c", yaqltypes.Number(nullable=True)),
        specs.name("pow"),
    ),
    _declare(yaml_dump, specs.parameter("data", nullable=True), specs.name("yaml_dump")),
)
