"""Helpers of the tests that run engines over one database."""

from __future__ import annotations

from mistral_core.actions.registry import ActionRegistry
from mistral_core.executor import Executor
from mistral_core.persistence.sql import open_store
from mistral_core.services.engine import Engine
from mistral_core.testing import InlineRunner
from tests.unit.support import ACTIONS


def inline_engine(url: str) -> tuple[Engine, InlineRunner]:
    """An engine over the database at ``url`` (upgraded), with the test actions and a runner that
    queues its actions until ``drain()``."""
    store = open_store(url)
    store.upgrade()
    registry = ActionRegistry.from_classes(ACTIONS)
    runner = InlineRunner(Executor(registry, "http://127.0.0.1:8989"))
    engine = Engine(store, registry, runner)
    runner.engine = engine
    return engine, runner
