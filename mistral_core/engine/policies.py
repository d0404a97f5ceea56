"""Task policies, evaluated for one task execution: values checked, errors named.

``timeout``, ``retry`` (``count``, ``delay``, ``break-on``, ``continue-on``),
``wait-before``, ``wait-after``, ``pause-before``, ``concurrency`` and ``fail-on``
may all be expressions; they are evaluated when the task starts (``break-on``,
``continue-on`` and ``fail-on`` after each attempt). A value of the wrong kind
fails the task with a message naming the policy and the value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from mistral_core.errors import LanguageError
from mistral_core.lang.durations import DurationError, check_seconds
from mistral_core.lang.inline import split_inline

Evaluate = Callable[[Any], Any]


class PolicyError(LanguageError):
    """A policy value is not of the kind it must be."""


@dataclasses.dataclass(frozen=True, slots=True)
class Retry:
    """The ``retry`` policy: up to ``count`` more attempts, ``delay`` seconds apart."""

    count: int
    delay: float
    break_on: Any = None
    continue_on: Any = None


@dataclasses.dataclass(frozen=True, slots=True)
class Policies:
    """The evaluated policies of one task execution."""

    timeout: float = 0.0
    heartbeat_timeout: float = 0.0
    wait_before: float = 0.0
    wait_after: float = 0.0
    pause_before: bool = False
    concurrency: int = 0
    retry: Retry | None = None
    fail_on: Any = None


def evaluate_policies(raw: Mapping[str, Any], evaluate: Evaluate) -> Policies:
    """Evaluate and check the policies of a task spec.

    Raises:
        PolicyError: a value is of the wrong kind (negative, not a number...).
    """
    if not raw:
        return Policies()
    return Policies(
        timeout=_seconds("timeout", raw.get("timeout"), evaluate),
        heartbeat_timeout=_seconds("heartbeat-timeout", raw.get("heartbeat-timeout"), evaluate),
        wait_before=_seconds("wait-before", raw.get("wait-before"), evaluate),
        wait_after=_seconds("wait-after", raw.get("wait-after"), evaluate),
        pause_before=bool(evaluate(raw.get("pause-before", False))),
        concurrency=int(_count("concurrency", raw.get("concurrency"), evaluate)),
        retry=_retry(raw.get("retry"), evaluate),
        fail_on=raw.get("fail-on"),
    )


def _seconds(name: str, value: Any, evaluate: Evaluate) -> float:
    if value is None:
        return 0.0
    try:
        return check_seconds(name, evaluate(value))
    except DurationError as exc:
        raise PolicyError(exc.detail) from None


def _count(name: str, value: Any, evaluate: Evaluate) -> int:
    if value is None:
        return 0
    value = evaluate(value)
    if isinstance(value, bool | str):  # "2" is text, as Mistral 23's schema says
        raise PolicyError(f"'{name}' must be a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PolicyError(f"'{name}' must be a whole number, got {value!r}") from None
    if number < 0 or number != float(value):
        raise PolicyError(f"'{name}' must be a whole number not below 0, got {value!r}")
    return number


def _retry(value: Any, evaluate: Evaluate) -> Retry | None:
    if value is None:
        return None
    if isinstance(value, str):
        _, params = split_inline("retry " + value)
        value = params
    if not isinstance(value, dict) or "count" not in value:
        raise PolicyError(f"'retry' needs at least 'count', got {value!r}")
    return Retry(
        count=_count("retry.count", value.get("count"), evaluate),
        delay=_seconds("retry.delay", value.get("delay", 0), evaluate),
        break_on=value.get("break-on"),
        continue_on=value.get("continue-on"),
    )
