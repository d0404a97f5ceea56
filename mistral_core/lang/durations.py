"""Durations of task policies (``timeout``, ``wait-before``, ``wait-after``, ``retry.delay``).

A duration is a number of seconds: finite, not negative, at most :data:`MAX_SECONDS` (ten
years: a timer further away is a mistake, and a date past year 9999 cannot be stored).
:func:`check_seconds` is the one check, used at upload for literal values (a 400 naming line
and path) and by the engine's policies for values computed by expressions (the task fails with
a message naming the policy).
"""

from __future__ import annotations

import math
from typing import Any

from mistral_core.errors import LanguageError

#: The longest duration a policy may have: ten years, in seconds.
MAX_SECONDS = 10 * 365 * 24 * 3600
#: The policies whose value is a duration, by their name in the language.
DURATION_POLICIES = ("timeout", "heartbeat-timeout", "wait-before", "wait-after")


class DurationError(LanguageError):
    """A duration that is not a number of seconds between 0 and :data:`MAX_SECONDS`."""


def check_seconds(name: str, value: Any) -> float:
    """The seconds of a duration policy's (evaluated) value.

    Args:
        name: the policy, as the message names it (``timeout``, ``retry.delay``).
        value: a number, or text holding one (``"30"``).

    Raises:
        DurationError: not a number, NaN or infinite, negative, or more than ten years.
    """
    if isinstance(value, bool):
        raise DurationError(f"'{name}' must be a number of seconds, got {_shown(value)}")
    if not isinstance(value, int | float):
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):
            raise DurationError(f"'{name}' must be a number of seconds, got {_shown(value)}") from None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        seconds = math.inf
    if math.isnan(seconds):
        raise DurationError(f"'{name}' must be a number of seconds, got NaN")
    if seconds < 0:
        raise DurationError(f"'{name}' must not be negative, got {_shown(value)}")
    if seconds > MAX_SECONDS:
        raise DurationError(f"'{name}' must be at most {MAX_SECONDS} seconds (10 years), got {_shown(value)}")
    return seconds


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else "a huge number"
    return text if len(text) <= 60 else text[:57] + "..."
