"""The YAML loader's bounds (nesting, aliases, JSON-only values) and the duration check."""

from __future__ import annotations

import time

import pytest

from mistral_core.errors import LanguageError
from mistral_core.lang.durations import MAX_SECONDS, DurationError, check_seconds
from mistral_core.lang.loader import load_document, load_value, parse_yaml

BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def refusal(text: str) -> LanguageError:
    with pytest.raises(LanguageError) as info:
        load_document(text)
    return info.value


def test_an_alias_bomb_is_refused_in_milliseconds_naming_its_line() -> None:
    started = time.monotonic()
    error = refusal(BOMB)
    assert time.monotonic() - started < 2.0  # expanded it would take minutes and gigabytes
    assert error.line == 5
    assert "aliases stand for more than 10000 nodes" in str(error)


def test_aliases_within_the_bound_work_and_the_line_walk_enters_each_node_once() -> None:
    text = "defaults: &d {retry: {count: 3}, timeout: 10}\n" + "".join(f"t{i}: *d\n" for i in range(100))
    doc = load_document(text)
    assert doc.data["t99"] == {"retry": {"count": 3}, "timeout": 10}
    assert doc.line_of(("t99",)) == 101
    # the aliased node is entered once (under one of its paths): the others end at their alias
    assert [doc.line_of((f"t{i}", "retry", "count")) for i in range(100)].count(1) == 1
    assert len(doc.lines) < 110


def test_an_alias_to_its_own_container_is_refused() -> None:
    assert "refer to a node that contains it" in str(refusal("a: &a [1, *a]"))


@pytest.mark.parametrize(
    "text", ["[" * 10_000 + "]" * 10_000, "".join("  " * i + f"k{i}:\n" for i in range(10_000)) + "  x"]
)
def test_deep_nesting_is_refused_not_a_recursion_error(text: str) -> None:
    error = refusal(text)
    assert "nests deeper than 100 levels" in str(error)
    assert len(str(error)) < 200


@pytest.mark.parametrize(
    ("text", "line", "path", "problem"),
    [
        ("a:\n  200: ok\n", 2, "a.200", "a key must be a string: quote it ('200')"),
        ("a:\n  yes: 1\n", 2, "a.yes", "quote it ('yes')"),
        ("a: {~: 1}\n", 1, "a.~", "quote it ('~')"),
        ("a:\n  ? [1, 2]\n  : x\n", 2, "a", "a key must be a string, not a list or mapping"),
        ("a: !!timestamp 2024-01-31\n", 1, "a", "a !!timestamp is not a JSON value"),
        ("a:\n  b: !!set {x, y}\n", 2, "a.b", "a !!set is not a JSON value"),
        ("a: [1, !!binary aGk=]\n", 1, "a.1", "!!binary data is not a JSON value"),
        ("a:\n  - .nan\n", 2, "a.0", ".nan is not a JSON number"),
        ("a: -.inf\n", 1, "a", "-.inf is not a JSON number"),
        ("a: 1.0e+999\n", 1, "a", "1.0e+999 is not a JSON number"),
        ("a: " + "9" * 5000 + "\n", 1, "a", "an integer may have at most 4000 digits"),
    ],
)
def test_what_json_cannot_hold_is_refused_naming_line_and_path(
    text: str, line: int, path: str, problem: str
) -> None:
    error = refusal(text)
    assert (error.line, error.path) == (line, path)
    assert problem in error.detail


def test_an_unquoted_date_stays_text_and_merge_keys_work() -> None:
    doc = load_document("d: 2024-01-31\nbase: &b {x: 1}\ne:\n  <<: *b\n  y: 2\n")
    assert doc.data == {"d": "2024-01-31", "base": {"x": 1}, "e": {"x": 1, "y": 2}}


def test_inline_values_and_yaml_parse_use_the_same_bounds() -> None:
    assert load_value("2024-01-31") == "2024-01-31"
    assert load_value(".inf") == ".inf"  # not a number: stays text, as text that fails does
    with pytest.raises(LanguageError, match="aliases stand for more than"):
        parse_yaml(BOMB)


@pytest.mark.parametrize(
    ("value", "seconds"), [(0, 0.0), (1.5, 1.5), ("30", 30.0), (MAX_SECONDS, MAX_SECONDS)]
)
def test_a_duration_is_a_number_of_seconds(value: object, seconds: float) -> None:
    assert check_seconds("timeout", value) == seconds


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (float("inf"), "must be at most 315360000 seconds (10 years)"),
        (10**20, "must be at most 315360000 seconds (10 years)"),
        (10**400, "got a huge number"),
        (float("nan"), "must be a number of seconds, got NaN"),
        ("nan", "must be a number of seconds, got NaN"),
        (-1, "must not be negative"),
        ("soon", "must be a number of seconds, got 'soon'"),
        (True, "must be a number of seconds"),
        (None, "must be a number of seconds"),
    ],
)
def test_a_duration_out_of_bounds_is_refused_naming_the_policy(value: object, problem: str) -> None:
    with pytest.raises(DurationError) as info:
        check_seconds("retry.delay", value)
    assert str(info.value).startswith("'retry.delay' ")
    assert problem in str(info.value)
