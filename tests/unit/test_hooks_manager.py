"""The hook manager: implementations may take only the arguments they want; failures are swallowed."""

from __future__ import annotations

from typing import Any

from mistral_core import hookimpl
from mistral_core.hooks import HookManager


class Partial:
    """Takes only one of the arguments of mistral_action_result_rejected."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    @hookimpl
    def mistral_action_result_rejected(self, reason: str) -> None:
        self.reasons.append(reason)


class Broken:
    @hookimpl
    def mistral_action_result_rejected(self, action_ex: Any, state: str, reason: str) -> None:
        raise RuntimeError("observer bug")


def test_an_implementation_gets_just_the_arguments_it_declares_and_failures_stay_contained() -> None:
    manager = HookManager(load_entry_points=False)
    partial = Partial()
    manager.register(Broken())
    manager.register(partial)
    manager.notify("mistral_action_result_rejected", action_ex=object(), state="SUCCESS", reason="late")
    assert partial.reasons == ["late"]
