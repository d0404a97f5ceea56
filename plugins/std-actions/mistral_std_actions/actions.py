"""The standard actions (Mistral's ``std.*`` without the network ones).

Every action keeps its input in instance attributes only, so that an executor
may rebuild it with ``cls.__new__`` and attribute assignment, as Mistral's
remote executors do.
"""

from __future__ import annotations

import time
from typing import Any

from mistral_core import Action, ActionContext, Result
from mistral_core.approvals.request import parse

FAIL_MESSAGE = "Fail action expected exception."


def _seconds(value: Any, what: str) -> float:
    """``value`` as a non-negative number of seconds.

    Raises:
        ValueError: ``value`` is not a number.
    """
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number of seconds, not {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, not {value!r}") from None
    return max(seconds, 0.0)


class NoopAction(Action):
    """Do nothing and succeed with no result."""

    safe_rerun = True  # no side effect: run again after a crash

    def run(self, context: ActionContext) -> None:
        """Return ``None``."""
        return None


class AsyncNoopAction(Action):
    """Do nothing, asynchronously: the result must be pushed through the API."""

    safe_rerun = True  # no side effect: run again after a crash

    def run(self, context: ActionContext) -> None:
        """Return at once; the action execution stays RUNNING."""
        return None

    def is_sync(self) -> bool:
        """Always ``False``."""
        return False


class EchoAction(Action):
    """Return the given output, after an optional delay.

    Args:
        output: any JSON value; it becomes the result.
        delay: seconds to wait first (a number >= 0; negatives count as 0).

    Raises:
        ValueError: ``delay`` is not a number.
    """

    safe_rerun = True  # no side effect: run again after a crash

    def __init__(self, output: Any, delay: float | str = 0) -> None:
        self.output = output
        self.delay = _seconds(delay, "delay")

    def run(self, context: ActionContext) -> Any:
        """Sleep ``delay`` seconds, then return ``output``."""
        if self.delay:
            time.sleep(self.delay)
        return self.output


class FailAction(Action):
    """Always fail: with ``error_data`` as the error result, else by raising.

    Args:
        error_data: the error the task sees (``task().result`` in
            ``publish-on-error``). Empty or missing: the action raises
            "Fail action expected exception." (Mistral's message).
    """

    safe_rerun = True  # no side effect: run again after a crash

    def __init__(self, error_data: Any = None) -> None:
        self.error_data = error_data

    def run(self, context: ActionContext) -> Result:
        """Return ``Result(error=error_data)``, or raise when there is no data.

        Raises:
            RuntimeError: ``error_data`` is empty (as in Mistral, any falsy value).
        """
        if self.error_data:
            return Result(error=self.error_data)
        raise RuntimeError(FAIL_MESSAGE)


class SleepAction(Action):
    """Sleep for some seconds, then succeed with no result.

    Args:
        seconds: how long (a number >= 0; negatives count as 0).

    Raises:
        ValueError: ``seconds`` is not a number.
    """

    safe_rerun = True  # no side effect: run again after a crash

    def __init__(self, seconds: float | str = 1) -> None:
        self.seconds = _seconds(seconds, "seconds")

    def run(self, context: ActionContext) -> None:
        """Sleep, then return ``None``."""
        time.sleep(self.seconds)


class TestDictAction(Action):
    """Build a dictionary of ``size`` keys (for load tests): ``{prefix0: val, prefix1: val, ...}``.

    Args:
        size: the number of keys (>= 0).
        key_prefix: put before each key's index.
        val: the value of every key.

    Raises:
        ValueError: ``size`` is not a non-negative integer.
    """

    safe_rerun = True  # no side effect: run again after a crash

    __test__ = False  # not a pytest test class, despite Mistral's name for it

    def __init__(self, size: int | str = 0, key_prefix: str = "", val: Any = "") -> None:
        if isinstance(size, bool) or not isinstance(size, int | str) or not str(size).isdigit():
            raise ValueError(f"size must be a non-negative integer, not {size!r}")
        self.size = int(size)
        self.key_prefix = key_prefix
        self.val = val

    def run(self, context: ActionContext) -> dict[str, Any]:
        """Return the dictionary."""
        return {f"{self.key_prefix}{i}": self.val for i in range(self.size)}


class ApprovalAction(Action):
    """Ask people to decide: a page with a title, a description, a form and one button per option.

    Asynchronous: the action execution waits (as long as the task's ``timeout`` allows) until the
    answers decide it, then succeeds with ``{"decision", "values", "responders"}``. Answered on
    the page of the wait (``links.respond`` of ``GET /v2/action_executions/<id>``, or the inbox at
    ``/ui/``); docs/approvals.md tells the whole story.

    Args:
        title: one line.
        description: Markdown (raw HTML is shown as text, not interpreted).
        form: a JSON Schema of an object: the page shows one field per property, and the answer's
            values are checked against it.
        options: the buttons (default ``["approve", "reject"]``); ``approve`` (else the first
            option) needs ``required_approvals`` answers, any other decides at once.
        assignees: who may answer: key names, roles, OIDC subjects or groups (empty: any operator).
        required_approvals: how many distinct people must approve.

    Raises:
        InputError: an input that is not valid (the task fails with its one-line message).
    """

    safe_rerun = True  # run() only hands the wait to people: nothing happens twice
    human_wait = True  # answered on its page (mistral_core.approvals)

    def __init__(
        self,
        title: str,
        description: str = "",
        form: dict[str, Any] | None = None,
        options: list[str] | None = None,
        assignees: list[str] | None = None,
        required_approvals: int = 1,
    ) -> None:
        self.request = parse(
            {
                "title": title,
                "description": description,
                "form": form,
                "options": options,
                "assignees": assignees,
                "required_approvals": required_approvals,
            }
        )

    def run(self, context: ActionContext) -> None:
        """Return at once: the answers come through the page."""
        return None

    def is_sync(self) -> bool:
        """Always ``False``."""
        return False
