"""The budget of one evaluation (time, size), JSON-storable results, and checks that never run code.

Each evaluation here gets a small time budget (1 s) so that the runaway ones end fast.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from mistral_core.errors import ExpressionError
from mistral_core.lang.budget import WALL_FACTOR, ExpressionLimits, Watchdog
from mistral_core.lang.expressions import Evaluator

FAST = ExpressionLimits(timeout=1.0, max_size=100_000)
TIME = "time budget of 1 s (setting expression_timeout)"
SIZE = "size budget of 100000 characters (setting expression_max_size)"


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(FAST)


def refused(evaluator: Evaluator, value: Any, data: Any = None) -> tuple[str, float]:
    """The message an evaluation fails with, and how long it took."""
    started = time.monotonic()
    with pytest.raises(ExpressionError) as info:
        evaluator.evaluate(value, data if data is not None else {})
    return str(info.value), time.monotonic() - started


@pytest.mark.parametrize(
    "expression",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{{ range(100000) | map('string') | map('length') | sum + range(100000) | list | length }}"
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}",
        "<% range(100000000).where(false) %>",
        "<% range(1000000).select(range(1000000).where(false)) %>",
        "{% macro f(n) %}{{ f(n) if n else '' }}{% endmacro %}{% for i in range(100000) %}"
        "{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
    ],
)
def test_a_runaway_loop_stops_at_the_time_budget(evaluator: Evaluator, expression: str) -> None:
    message, took = refused(evaluator, {"published": expression})
    assert TIME in message or SIZE in message, message
    assert took < FAST.timeout + 2.0  # bounded by the budget (generous: a loaded machine)
    assert "\n" not in message


@pytest.mark.parametrize(
    "expression",
    [
        "<% 'a' * 300000000 %>",
        "{{ 'a' * 300000000 }}",
        "{{ 'a' | center(300000000) }}",
        "{{ 'a'.ljust(300000000) }}",
        "{{ '{:>300000000}'.format(1) }}",
        "{{ '%300000000d' % 1 }}",
        "{{ ('a' * 50000).replace('a', 'a' * 50000) }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set l = ['x' * 90000] %}{% for i in range(40) %}{% set _ = l.extend(l) %}{% endfor %}",
        "{% set s = 'x' * 90000 %}{% for i in range(100) %}{{ s }}{% endfor %}",
        "{% macro m() %}{% for i in range(100) %}{{ 'x' * 90000 }}{% endfor %}{% endmacro %}"
        "{{ m() | length }}",
        "{{ (['x' * 90000] * 1000) | join }}",
        "{{ (['x' * 90000] * 1000) | string }}",
        "{{ json_dump(['x' * 90000] * 1000) }}",
        "<% range(1000).select('x' * 90000).join('') %>",
        "<% str(range(1000).select('x' * 90000).toList()) %>",
        "<% json_dump(range(1000).select('x' * 90000).toList()) %>",
        "<% ('a' * 1000).replace('a', 'b' * 1000) %>",
        "<% 'ab'.replace({a => 'aa' * 300, b => 'bb' * 300}) * 1000 %>",
        "<% range(10000000).toList() %>",
        "<% range(1000).select('x' * 90000).toList().len() %>",
        "{% set l = [] %}{% for i in range(1000) %}{% set _ = l.append(i | string | center(90000)) %}"
        "{% endfor %}{{ l | length }}",
    ],
)
def test_what_would_build_too_much_is_refused_at_once(evaluator: Evaluator, expression: str) -> None:
    message, _ = refused(evaluator, expression)
    assert SIZE in message or "Collection length" in message, message  # the size check, not the clock


@pytest.mark.parametrize(
    "expression",
    [
        "{{ 10 ** (10 ** 7) }}",
        "{{ 7 ** 100000 }}",
        "{{ (10 ** 4000) * (10 ** 4000) }}",
        "<% range(100).aggregate($1 * $1, 3) %>",
        "<% pow(10, 10000000) %>",
    ],
)
def test_integers_json_cannot_hold_are_refused_before_computing(
    evaluator: Evaluator, expression: str
) -> None:
    message, _ = refused(evaluator, expression)
    assert "an integer may have at most 4300 digits" in message  # refused before computing


def test_many_references_to_one_big_value_count_their_whole_size(evaluator: Evaluator) -> None:
    big = "x" * 60_000
    message, _ = refused(evaluator, {"a": "<% $.big %>", "b": "<% $.big %>"}, {"big": big})
    assert SIZE in message
    assert evaluator.evaluate({"a": "<% $.big %>"}, {"big": big}) == {"a": big}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("<% set(3, 1, 2) %>", [1, 2, 3]),
        ("{{ (1, 2) }}", [1, 2]),
        ("{{ ['a', 'b'] | map('upper') }}", ["A", "B"]),
        ("{{ {1: 'one', none: 'n', 2.5: 'h'} }}", {"1": "one", "null": "n", "2.5": "h"}),
        ("<% datetime(2024, 1, 31, 12, 30) %>", "2024-01-31T12:30:00.000000"),
        ("{{ {'a': 1}.keys() }}", ["a"]),
        ("{{ _.missing is defined }}", False),
    ],
)
def test_results_are_made_json_as_mistral_stores_them(
    evaluator: Evaluator, expression: str, expected: Any
) -> None:
    assert evaluator.evaluate(expression, {}) == expected


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("{{ _.x | float }}", "nan is not a JSON number"),
        ("<% float('inf') %>", "inf is not a JSON number"),
        ("{{ '\\ud800' }}", "lone surrogate"),
        ("{{ 'x'.encode() }}", "bytes are not JSON"),
        ("{{ {(1, 2): 'pair'} }}", "a key of type 'tuple' is not JSON"),
        ("{{ cycler(1, 2) }}", "a value of type 'Cycler' is not JSON"),
    ],
)
def test_values_json_cannot_hold_are_refused_naming_the_problem(
    evaluator: Evaluator, expression: str, reason: str
) -> None:
    message, _ = refused(evaluator, {"p": expression}, {"x": "nan"})
    assert reason in message, message


@pytest.mark.parametrize(
    "expression",
    [
        "{{ 10 ** (10 ** 7) }}",
        "{{ 'a' | center(300000000) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "<% 'a' * 300000000 %>",
    ],
)
def test_checking_an_expression_only_parses_it(evaluator: Evaluator, expression: str) -> None:
    started = time.monotonic()
    evaluator.check(expression)
    assert time.monotonic() - started < 2.0  # parsed, not run: running would take minutes


def test_checking_names_an_unknown_jinja_filter(evaluator: Evaluator) -> None:
    with pytest.raises(ExpressionError, match="No filter named 'nope'"):
        evaluator.check("{{ _.x | nope }}")


def test_real_expressions_are_untouched_by_the_default_budget() -> None:
    evaluator = Evaluator()  # the defaults (2 s, 4 MiB): what real workflows run with
    data = {"xs": list(range(1000)), "name": "ann", "n": {"a": [1, 2]}}
    value = {
        "sum": "<% $.xs.sum() %>",
        "big": "<% $.xs.where($ > 10).select($ * 2).len() %>",
        "text": "Hi {{ _.name }}: {{ _.xs | length }} {% for i in range(3) %}{{ i }}{% endfor %}",
        "json": "<% json_parse(json_dump($.n)) %>",
        "dump": "{{ json_dump(_.n) }}",
        "power": "{{ 2 ** 64 }}",
        "repeat": "{{ '-' * 80 }}",
        "joined": "<% $.xs.take(3).join(',') %>",
    }
    assert evaluator.evaluate(value, data) == {
        "sum": 499500,
        "big": 989,
        "text": "Hi ann: 1000 012",
        "json": {"a": [1, 2]},
        "dump": '{\n    "a": [\n        1,\n        2\n    ]\n}',
        "power": 2**64,
        "repeat": "-" * 80,
        "joined": "0,1,2",
    }


def test_a_timed_out_evaluation_leaves_the_thread_usable(evaluator: Evaluator) -> None:
    refused(evaluator, "<% range(100000000).where(false) %>")
    for _ in range(200):  # no interruption left pending for later code
        assert evaluator.evaluate("<% $.a %>", {"a": 1}) == 1
        assert evaluator.evaluate("{{ _.a + 1 }}", {"a": 1}) == 2
    time.sleep(0.2)


def test_the_watchdog_interrupts_only_the_thread_past_its_deadline() -> None:
    watchdog = Watchdog(interval=0.01)
    outcome: dict[str, str] = {}

    def spin(name: str, seconds: float, budget: float) -> None:
        deadline = watchdog.arm(budget)
        try:
            try:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    pass
                outcome[name] = "finished"
            finally:
                watchdog.disarm(deadline)
        except BaseException as exc:  # the Interrupted the watchdog raises
            outcome[name] = type(exc).__name__

    threads = [
        threading.Thread(target=spin, args=("slow", 5.0, 0.1)),
        threading.Thread(target=spin, args=("quick", 0.2, 2.0)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcome == {"slow": "Interrupted", "quick": "finished"}


def test_the_budget_is_cpu_time_so_a_busy_machine_does_not_fail_real_expressions() -> None:
    # A thread that waits (as one starved by a busy machine does) spends no CPU: it is not
    # interrupted at its budget by the clock, only at WALL_FACTOR times it.
    watchdog = Watchdog(interval=0.01)
    outcome: list[str] = []

    def wait(seconds: float, budget: float) -> None:
        deadline = watchdog.arm(budget)
        try:
            try:
                time.sleep(seconds)
                outcome.append("finished")
            finally:
                watchdog.disarm(deadline)
        except BaseException as exc:  # the Interrupted the watchdog raises
            outcome.append(type(exc).__name__)

    for seconds, budget in ((0.7, 0.5), (0.2 * WALL_FACTOR + 1.0, 0.2)):
        thread = threading.Thread(target=wait, args=(seconds, budget))
        thread.start()
        thread.join(10)
    assert outcome == ["finished", "Interrupted"]


def test_a_yaql_query_within_the_size_budget_stops_at_the_time_budget() -> None:
    evaluator = Evaluator(ExpressionLimits(timeout=1.0, max_size=100_000_000))  # iterations allowed
    message, took = refused(evaluator, "<% range(100000000).where(false) %>")
    assert TIME in message, message
    assert took < 1.0 + 2.0
