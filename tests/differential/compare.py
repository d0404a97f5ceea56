"""Differences between what two servers showed for the same case."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tests.differential.harness import Doc, Observation


@dataclasses.dataclass(frozen=True)
class Difference:
    """One field two servers disagree on, in one case.

    ``where`` is ``end`` or ``step N`` (an ``expect`` step), then a path: ``state``, ``output``,
    ``tasks``, ``tasks.b[0].published``, ``tasks.call[0].children[0].state``...
    """

    case: str
    where: str
    ours: Any
    theirs: Any

    def short(self, value: Any, width: int = 160) -> str:
        """A value as one line for a report."""
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        text = " ".join(text.split())
        return text if len(text) <= width else text[: width - 1] + "…"


def _split_message(execution: Doc) -> tuple[Any, Any]:
    """(output, message): the ``result`` of a failed or cancelled execution's output is its message,
    compared apart from the rest of the output."""
    output = execution["output"]
    if execution["state"] in ("ERROR", "CANCELLED") and isinstance(output, dict) and "result" in output:
        return {k: v for k, v in output.items() if k != "result"}, output["result"]
    return output, None


def _status_class(status: int | None) -> str:
    if status is None:
        return "not sent"
    return "accepted" if 200 <= status < 300 else f"refused ({status})"


def compare(case: str, ours: Observation, theirs: Observation) -> list[Difference]:
    """Every difference between two observations of one case."""
    found: list[Difference] = []

    def differ(where: str, mine: Any, other: Any) -> None:
        if mine != other:
            found.append(Difference(case, where, mine, other))

    differ("upload", [_status_class(s) for s in ours.uploads], [_status_class(s) for s in theirs.uploads])
    differ("start", _status_class(ours.start_status), _status_class(theirs.start_status))
    differ("run", ours.error or "ran", theirs.error or "ran")
    theirs_by_label = dict(theirs.snapshots)
    for label, mine in ours.snapshots:
        if label in theirs_by_label:
            _compare_execution(label, mine, theirs_by_label[label], differ)
    return found


def _compare_execution(where: str, mine: Doc, other: Doc, differ: Any) -> None:
    differ(f"{where}: state", mine["state"], other["state"])
    my_output, my_message = _split_message(mine)
    other_output, other_message = _split_message(other)
    differ(f"{where}: output", my_output, other_output)
    differ(f"{where}: output.result (the message of a failed execution)", my_message, other_message)
    differ(f"{where}: published_global", mine["published_global"], other["published_global"])
    my_tasks, other_tasks = mine["tasks"], other["tasks"]
    differ(
        f"{where}: tasks",
        {name: [t["state"] for t in runs] for name, runs in my_tasks.items()},
        {name: [t["state"] for t in runs] for name, runs in other_tasks.items()},
    )
    for name, runs in my_tasks.items():
        for index, (my_run, other_run) in enumerate(zip(runs, other_tasks.get(name, []), strict=False)):
            path = f"{where}: tasks.{name}[{index}]"
            differ(f"{path}.published", my_run["published"], other_run["published"])
            if my_run["state"] == other_run["state"] == "SUCCESS":
                differ(f"{path}.result", my_run["result"], other_run["result"])
            my_children, other_children = my_run.get("children", []), other_run.get("children", [])
            differ(f"{path}.children", len(my_children), len(other_children))
            for number, (my_child, other_child) in enumerate(zip(my_children, other_children, strict=False)):
                _compare_execution(f"{path}.children[{number}]", my_child, other_child, differ)
