"""docs/operations.md shows what ``mistral-core db upgrade`` prints for a 0.1.0 database: every
step, as the code describes it, and the version it ends at (so a new step cannot leave it stale)."""

from __future__ import annotations

from pathlib import Path

from mistral_core.persistence.migrations import LATEST_VERSION, STEPS

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_the_upgrade_example_lists_every_step_of_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    shown = [line for line in text.splitlines() if line.startswith("applied step ")]
    assert shown == [f"applied step {step.version}: {step.description}" for step in STEPS[1:]]
    assert f"upgraded from schema version 1 to {LATEST_VERSION}\n" in text
    assert f"this one\nwith version {LATEST_VERSION} " in text
