"""The action registry: resolution, signatures, input checks, building, entry points."""

from __future__ import annotations

import logging
import sys
import uuid
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from mistral_core import Action, ActionContext, ActionError
from mistral_core.actions.registry import ActionDescriptor, ActionRegistry, ParamSpec
from mistral_core.engine.ports import PreparedAction


class Echo(Action):
    """Return the output.

    More text that is not the description.
    """

    def __init__(self, output: Any, delay: float = 0) -> None:
        self.output = output
        self.delay = delay

    def run(self, context: ActionContext) -> Any:
        return self.output


class Noop(Action):
    def run(self, context: ActionContext) -> None:
        return None


class Hook(Action):
    """Call a web service that answers later."""

    def __init__(self, url: str) -> None:
        self.url = url

    def run(self, context: ActionContext) -> None:
        return None

    def is_sync(self) -> bool:
        return False


class DependsOnInput(Action):
    """is_sync() reads an attribute set in __init__."""

    def __init__(self, wait: bool = False) -> None:
        self.wait = wait

    def is_sync(self) -> bool:
        return not self.wait


class Broken(Action):
    """__init__ always fails."""

    def __init__(self, x: int = 0) -> None:
        raise ValueError("x is unlucky\nsecond line")


class Flexible(Action):
    """Takes anything."""

    def __init__(self, needed: str, *args: Any, action_context: Any = None, **kwargs: Any) -> None:
        self.needed = needed
        self.kwargs = kwargs
        self.action_context = action_context


class DuckTyped:
    """Not an Action subclass and no is_sync(): still an action (duck typing)."""

    def __init__(self, a: int, b: int) -> None:
        self.a, self.b = a, b

    def run(self, context: Any) -> int:
        return self.a + self.b


@pytest.fixture
def registry() -> ActionRegistry:
    return ActionRegistry.from_classes(
        {
            "std.echo": Echo,
            "std.noop": Noop,
            "std.mistral_http": Hook,
            "std.depends": DependsOnInput,
            "broken": Broken,
            "flexible": Flexible,
            "my.sum": DuckTyped,
        }
    )


# -- descriptors ---------------------------------------------------------------------
def test_descriptor_reads_the_signature_and_docstring(registry: ActionRegistry) -> None:
    desc = registry.descriptor("std.echo")
    assert desc == ActionDescriptor(
        name="std.echo",
        cls=Echo,
        params=(ParamSpec("output", required=True), ParamSpec("delay", required=False, default=0)),
        description="Return the output.",
        is_sync=True,
    )
    assert desc.input_spec == "output, delay=0"


def test_a_class_without_init_or_docstring_has_no_params(registry: ActionRegistry) -> None:
    desc = registry.descriptor("std.noop")
    assert desc.params == ()
    assert desc.description == ""
    assert desc.accepts_extra is False


def test_is_sync_is_read_from_an_instance_built_without_init(registry: ActionRegistry) -> None:
    assert registry.descriptor("std.mistral_http").is_sync is False
    assert registry.descriptor("my.sum").is_sync is True  # no is_sync() at all


def test_is_sync_falls_back_to_true_when_it_needs_the_inputs(registry: ActionRegistry) -> None:
    assert registry.descriptor("std.depends").is_sync is True
    assert registry.build("std.depends", {"wait": True}).is_sync() is False


def test_self_varargs_kwargs_and_action_context_are_not_inputs(registry: ActionRegistry) -> None:
    desc = registry.descriptor("flexible")
    assert desc.params == (ParamSpec("needed", required=True),)
    assert desc.accepts_extra is True


def test_frozen_descriptor() -> None:
    desc = ActionRegistry.from_classes({"n": Noop}).descriptor("n")
    with pytest.raises(AttributeError):
        desc.name = "other"  # type: ignore[misc]


# -- name resolution -----------------------------------------------------------------
def test_exact_name_is_found(registry: ActionRegistry) -> None:
    assert registry.descriptor("std.mistral_http").cls is Hook


def test_a_name_without_exact_match_resolves_to_std(registry: ActionRegistry) -> None:
    assert registry.descriptor("mistral_http").name == "std.mistral_http"
    assert "echo" in registry


def test_exact_name_wins_over_std() -> None:
    registry = ActionRegistry.from_classes({"echo": Noop, "std.echo": Echo})
    assert registry.descriptor("echo").cls is Noop


@pytest.mark.parametrize("name", ["nope", "std.nope", "", "std.std.echo"])
def test_unknown_action_is_one_human_line(registry: ActionRegistry, name: str) -> None:
    with pytest.raises(ActionError) as info:
        registry.descriptor(name)
    assert str(info.value) == f"Failed to find action '{name}'"
    assert name not in registry


def test_list_is_sorted_by_name(registry: ActionRegistry) -> None:
    names = [d.name for d in registry.list()]
    assert names == sorted(names)
    assert len(names) == 7
    assert ActionRegistry.from_classes({})  # an empty registry is still a registry (truthy)


# -- input checks --------------------------------------------------------------------
def test_check_input_accepts_required_and_optional(registry: ActionRegistry) -> None:
    assert registry.check_input("std.echo", {"output": 1, "delay": 2}).name == "std.echo"
    assert registry.check_input("echo", {"output": 1}).name == "std.echo"


def test_missing_required_parameter(registry: ActionRegistry) -> None:
    with pytest.raises(
        ActionError,
        match=r"^Invalid input for action std\.echo: "
        r"missing required parameter 'output'$",
    ):
        registry.check_input("echo", {})


def test_unexpected_parameter(registry: ActionRegistry) -> None:
    with pytest.raises(
        ActionError, match=r"^Invalid input for action std\.echo: unexpected parameter 'foo'$"
    ):
        registry.check_input("std.echo", {"output": 1, "foo": 2})


def test_every_problem_is_named_at_once(registry: ActionRegistry) -> None:
    with pytest.raises(ActionError) as info:
        registry.check_input("my.sum", {"c": 1, "d": 2})
    assert str(info.value) == (
        "Invalid input for action my.sum: missing required parameters 'a', 'b'; "
        "unexpected parameters 'c', 'd'"
    )


def test_kwargs_catch_all_accepts_extras(registry: ActionRegistry) -> None:
    registry.check_input("flexible", {"needed": "x", "anything": 1})
    with pytest.raises(ActionError, match="missing required parameter 'needed'"):
        registry.check_input("flexible", {"anything": 1})


def test_action_context_is_not_accepted_as_input(registry: ActionRegistry) -> None:
    with pytest.raises(ActionError, match="unexpected parameter 'action_context'"):
        registry.check_input("std.echo", {"output": 1, "action_context": None})


# -- the ActionCatalog port -------------------------------------------------------------
def test_prepare_resolves_and_tells_sync(registry: ActionRegistry) -> None:
    assert registry.prepare("mistral_http", {"url": "http://x"}) == PreparedAction(
        name="std.mistral_http", is_sync=False
    )
    assert registry.prepare("std.echo", {"output": "hi"}) == PreparedAction(name="std.echo", is_sync=True)


def test_prepare_rejects_bad_input(registry: ActionRegistry) -> None:
    with pytest.raises(ActionError, match=r"Invalid input for action std\.mistral_http"):
        registry.prepare("mistral_http", {})


# -- build ---------------------------------------------------------------------------------
def test_build_returns_an_instance_with_the_input(registry: ActionRegistry) -> None:
    action = registry.build("echo", {"output": "hi"})
    assert isinstance(action, Echo)
    assert action.run(ActionContext()) == "hi"
    assert registry.build("my.sum", {"a": 1, "b": 2}).run(ActionContext()) == 3


def test_build_checks_the_input_first(registry: ActionRegistry) -> None:
    with pytest.raises(ActionError, match="missing required parameter 'output'"):
        registry.build("echo", {})


def test_an_exception_in_init_becomes_an_action_error(registry: ActionRegistry) -> None:
    with pytest.raises(ActionError) as info:
        registry.build("broken", {})
    assert str(info.value) == "Failed to create action broken: x is unlucky"
    assert isinstance(info.value.__cause__, ValueError)


def test_build_passes_the_context_to_a_legacy_action_context_param(registry: ActionRegistry) -> None:
    ctx = ActionContext()
    action = registry.build("flexible", {"needed": "n", "extra": 1}, context=ctx)
    assert action.action_context is ctx
    assert action.kwargs == {"extra": 1}


# -- entry points -------------------------------------------------------------------------
def test_the_installed_std_actions_are_found_through_entry_points() -> None:
    registry = ActionRegistry.from_entry_points()
    names = {d.name for d in registry.list()}
    assert {"std.noop", "std.async_noop", "std.echo", "std.fail", "std.sleep", "std.test_dict"} <= names
    assert registry.prepare("echo", {"output": 1}) == PreparedAction(
        "std.echo", is_sync=True, safe_rerun=True
    )
    assert registry.descriptor("std.async_noop").is_sync is False
    assert registry.build("std.echo", {"output": [1]}).run(ActionContext()) == [1]


class _FakeEntryPoint:
    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value


def test_a_plugin_that_fails_to_import_is_logged_and_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mistral_core.actions import registry as module

    def load(group: str) -> list[tuple[str, Any]]:
        module._log_load_failure(
            None, _FakeEntryPoint("bad.one", "nowhere:X"), ImportError("No module 'nowhere'")
        )
        return [("good.one", Noop)]

    monkeypatch.setattr(module, "_load_entry_points", load)
    with caplog.at_level(logging.ERROR, logger=module.__name__):
        registry = ActionRegistry.from_entry_points()
    assert [d.name for d in registry.list()] == ["good.one"]
    assert caplog.messages == ["Could not load action bad.one (nowhere:X): ImportError: No module 'nowhere'"]


def test_duplicate_names_first_wins_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mistral_core.actions import registry as module

    monkeypatch.setattr(module, "_load_entry_points", lambda group: [("dup", Echo), ("dup", Noop)])
    with caplog.at_level(logging.WARNING, logger=module.__name__):
        registry = ActionRegistry.from_entry_points()
    assert registry.descriptor("dup").cls is Echo
    assert len(caplog.records) == 1
    assert "Action dup is provided twice" in caplog.messages[0]
    assert "Echo, ignoring " in caplog.messages[0]
    assert caplog.messages[0].endswith("Noop")


def test_an_entry_point_that_is_not_a_class_is_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mistral_core.actions import registry as module

    def not_a_class() -> None:
        return None

    monkeypatch.setattr(module, "_load_entry_points", lambda group: [("fn", not_a_class), ("ok", Noop)])
    with caplog.at_level(logging.ERROR, logger=module.__name__):
        registry = ActionRegistry.from_entry_points()
    assert [d.name for d in registry.list()] == ["ok"]
    assert "is not a class" in caplog.messages[0]


def _fake_distribution(root: Path, dist: str, entry_points: str) -> None:
    """An installed distribution (a .dist-info folder) publishing ``entry_points``."""
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_real_entry_points_through_stevedore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Real distributions on sys.path: a missing module, a duplicate, a good action."""
    group = f"mistral_core.tests.{uuid.uuid4().hex}"
    module_name = f"fake_actions_{uuid.uuid4().hex}"
    (tmp_path / f"{module_name}.py").write_text(
        "class Hello:\n"
        '    """Say hello."""\n'
        "    def __init__(self, name):\n"
        "        self.name = name\n"
        "    def run(self, context):\n"
        "        return 'hello ' + self.name\n"
        "class Other(Hello):\n"
        '    """The duplicate."""\n'
    )
    _fake_distribution(
        tmp_path, "fake_one", f"[{group}]\nghost = no_such_module_xyz:Ghost\nhello = {module_name}:Hello\n"
    )
    _fake_distribution(tmp_path, "fake_two", f"[{group}]\nhello = {module_name}:Other\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    first = next(ep.value for ep in entry_points(group=group) if ep.name == "hello")

    with caplog.at_level(logging.WARNING, logger="mistral_core.actions.registry"):
        registry = ActionRegistry.from_entry_points(group)

    assert [d.name for d in registry.list()] == ["hello"]
    assert f"{module_name}:{registry.descriptor('hello').cls.__qualname__}" == first
    assert registry.build("hello", {"name": "you"}).run(ActionContext()) == "hello you"
    assert len(caplog.messages) == 2
    assert caplog.messages[0] == (
        "Could not load action ghost (no_such_module_xyz:Ghost): "
        "ModuleNotFoundError: No module named 'no_such_module_xyz'"
    )
    assert caplog.messages[1].startswith("Action hello is provided twice: keeping ")
