"""Test actions and helpers for the pure engine tests."""

from __future__ import annotations

from typing import Any

from mistral_core import Result
from mistral_core.testing import TestEngine

RUNS: list[str] = []


class Echo:
    """Returns its output."""

    safe_rerun = True

    def __init__(self, output: Any = None) -> None:
        self.output = output

    def run(self, context: Any) -> Any:
        return self.output


class Fail:
    """Fails (with data when given)."""

    safe_rerun = True

    def __init__(self, error_data: Any = None) -> None:
        self.error_data = error_data

    def run(self, context: Any) -> Any:
        if self.error_data is None:
            raise RuntimeError("Fail action expected exception.")
        return Result(error=self.error_data)


class Wait:
    """An async action: the result is pushed later."""

    safe_rerun = True
    cancelled: list[str] = []

    def run(self, context: Any) -> Any:
        return None

    def is_sync(self) -> bool:
        return False

    def cancel(self, context: Any) -> None:
        Wait.cancelled.append(context.execution.action_execution_id)


class Count:
    """Records each run by name; fails while ``fail_until`` runs have not happened yet."""

    def __init__(self, name: str = "x", fail_until: int = 0) -> None:
        self.name = name
        self.fail_until = fail_until

    def run(self, context: Any) -> Any:
        RUNS.append(self.name)
        if RUNS.count(self.name) <= self.fail_until:
            return Result(error=f"attempt {RUNS.count(self.name)} failed")
        return RUNS.count(self.name)


ACTIONS: dict[str, type] = {
    "std.echo": Echo,
    "std.noop": Echo,
    "std.fail": Fail,
    "std.async_noop": Wait,
    "test.count": Count,
}


def engine_with(*documents: str) -> TestEngine:
    """A test engine with the test actions and these workflow documents uploaded."""
    RUNS.clear()
    Wait.cancelled.clear()
    t = TestEngine(ACTIONS)
    for text in documents:
        t.engine.definitions.create_workflows(text)
    return t
