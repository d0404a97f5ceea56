"""A third-party plugin, installed as users install one, is found and runs.

Installs ``contrib/example-plugin`` into this environment with pip (a real, non-editable
install through the package's own build), then discovers it through the entry points.
Uninstalled afterwards unless it was installed before.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mistral_core import ActionContext, ExecutionContext
from mistral_core.actions.registry import ActionRegistry

pytestmark = pytest.mark.integration

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "contrib" / "example-plugin"
DIST = "mistral-core-example-plugin"


def _installed() -> bool:
    try:
        importlib.metadata.distribution(DIST)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _pip(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The example plugin, pip-installed (idempotent) for the session."""
    was_installed = _installed()
    source = tmp_path_factory.mktemp("example-plugin") / "src"  # builds leave build/ and egg-info behind
    shutil.copytree(PLUGIN_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    _pip("install", "--quiet", "--no-deps", str(source))
    importlib.invalidate_caches()
    yield
    if not was_installed:
        _pip("uninstall", "--quiet", "--yes", DIST)
        importlib.invalidate_caches()


def test_the_registry_finds_the_third_party_actions(example_plugin: None) -> None:
    registry = ActionRegistry.from_entry_points()
    greet = registry.descriptor("example.greet")
    assert greet.is_sync is True
    assert greet.input_spec == "name"
    assert greet.description == "Greet someone by name."
    assert registry.descriptor("example.approve").is_sync is False
    assert {"std.echo", "std.http"} <= {d.name for d in registry.list()}  # the others are still there


def test_a_third_party_action_builds_and_runs(example_plugin: None) -> None:
    registry = ActionRegistry.from_entry_points()
    assert registry.prepare("example.greet", {"name": "Ada"}).is_sync is True
    action = registry.build("example.greet", {"name": "Ada"})
    assert action.run(ActionContext()) == "Hello, Ada!"


def test_the_async_third_party_action_hands_off(example_plugin: None) -> None:
    registry = ActionRegistry.from_entry_points()
    action = registry.build("example.approve", {"approver": "ops"})
    context = ActionContext(execution=ExecutionContext(workflow_name="wf", action_execution_url="http://x/1"))
    assert action.run(context) is None
    assert action.is_sync() is False
