"""Test actions and helpers for the pure engine tests."""

from __future__ import annotations

import sys
from typing import Any

from mistral_core import Result
from mistral_core.engine.limits import Limits
from mistral_core.persistence.memory import MemoryStore
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


def engine_with(*documents: str, limits: Limits | None = None) -> TestEngine:
    """A test engine with the test actions and these workflow documents uploaded."""
    RUNS.clear()
    Wait.cancelled.clear()
    t = TestEngine(ACTIONS, store=PureEngineGuard(MemoryStore()), limits=limits)  # type: ignore[arg-type]
    for text in documents:
        t.engine.definitions.create_workflows(text)
    return t


class ImpureEngine(AssertionError):
    """The pure engine (the conductor and its parts) reached the store."""


class PureEngineGuard:
    """A store whose every method raises when the pure engine calls it (directly or not).

    The services load and write through it as usual; a call made while a frame of
    ``mistral_core.engine`` (the conductor and its parts; not its ports) is on the stack raises
    :class:`ImpureEngine`. Every unit test runs its workflows through it, so every construct of
    the language shows the conductor decides from what it was given.
    """

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            _refuse_from_pure_engine(name)
            return attr(*args, **kwargs)

        return guarded


def _refuse_from_pure_engine(method: str) -> None:
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("mistral_core.engine.") and module != "mistral_core.engine.ports":
            raise ImpureEngine(f"store.{method}() called from {module} (line {frame.f_lineno})")
        frame = frame.f_back
