"""The standard actions, called the way an executor calls them."""

from __future__ import annotations

import time
from importlib.metadata import entry_points
from typing import Any

import pytest
from mistral_std_actions import (
    AsyncNoopAction,
    EchoAction,
    FailAction,
    NoopAction,
    SleepAction,
    TestDictAction,
)

from mistral_core import Action, ActionContext, Result

CTX = ActionContext()


def run(action: Action) -> Any:
    """Run ``action`` as an executor does (through the contract's ``Any`` result)."""
    return action.run(CTX)


def test_noop_returns_none_and_is_sync() -> None:
    action = NoopAction()
    assert run(action) is None
    assert action.is_sync()


def test_async_noop_is_async() -> None:
    action = AsyncNoopAction()
    assert run(action) is None
    assert action.is_sync() is False


@pytest.mark.parametrize("output", ["hello", 3, None, [1, 2], {"a": {"b": True}}])
def test_echo_returns_its_output(output: Any) -> None:
    assert EchoAction(output=output).run(CTX) == output


def test_echo_waits_for_its_delay() -> None:
    started = time.monotonic()
    assert EchoAction(output="late", delay=0.05).run(CTX) == "late"
    assert time.monotonic() - started >= 0.05


@pytest.mark.parametrize("delay", ["soon", [1], True])
def test_echo_rejects_a_delay_that_is_not_a_number(delay: Any) -> None:
    with pytest.raises(ValueError, match="delay must be a number"):
        EchoAction(output=1, delay=delay)


def test_echo_accepts_a_numeric_string_delay() -> None:
    assert EchoAction(output=1, delay="0").delay == 0.0


def test_fail_with_data_returns_an_error_result() -> None:
    result = FailAction(error_data={"code": 42}).run(CTX)
    assert result == Result(error={"code": 42})
    assert result.is_error()


@pytest.mark.parametrize("error_data", [None, "", {}])
def test_fail_without_data_raises_mistrals_message(error_data: Any) -> None:
    with pytest.raises(RuntimeError, match=r"^Fail action expected exception\.$"):
        FailAction(error_data=error_data).run(CTX)


def test_sleep_sleeps_and_returns_none() -> None:
    started = time.monotonic()
    assert run(SleepAction(seconds=0.05)) is None
    assert time.monotonic() - started >= 0.05


def test_sleep_clamps_negative_seconds() -> None:
    assert SleepAction(seconds=-3).seconds == 0.0


def test_test_dict_builds_size_keys() -> None:
    assert TestDictAction(size=3, key_prefix="k", val="v").run(CTX) == {"k0": "v", "k1": "v", "k2": "v"}
    assert TestDictAction().run(CTX) == {}
    assert TestDictAction(size="2").run(CTX) == {"0": "", "1": ""}


@pytest.mark.parametrize("size", [-1, "x", 1.5, True])
def test_test_dict_rejects_a_bad_size(size: Any) -> None:
    with pytest.raises(ValueError, match="size must be a non-negative integer"):
        TestDictAction(size=size)


def test_actions_survive_a_rebuild_without_init() -> None:
    """Remote executors rebuild actions with __new__ + attributes; state lives in attributes."""
    original = EchoAction(output="x", delay=0)
    rebuilt = EchoAction.__new__(EchoAction)
    rebuilt.__dict__.update(vars(original))
    assert rebuilt.run(CTX) == "x"


def test_every_action_is_published_in_the_mistral_actions_group() -> None:
    published = {ep.name: ep.value for ep in entry_points(group="mistral.actions")}
    assert {
        "std.noop": "mistral_std_actions:NoopAction",
        "std.async_noop": "mistral_std_actions:AsyncNoopAction",
        "std.echo": "mistral_std_actions:EchoAction",
        "std.fail": "mistral_std_actions:FailAction",
        "std.sleep": "mistral_std_actions:SleepAction",
        "std.test_dict": "mistral_std_actions:TestDictAction",
    }.items() <= published.items()
