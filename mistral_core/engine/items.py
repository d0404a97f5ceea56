"""with-items: the collections of a task, and the bookkeeping of its items.

The per-task counters live in the task's flags (``ItemCounters``: a few integers,
constant size, whatever the number of items), so finishing one item of 10,000
costs the same as finishing one of 10. The results are gathered once, in item
order, when the last item finished.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mistral_core.errors import ExpressionError
from mistral_core.model import ActionExecution, ItemCounters, State

S = State


def collections_of(
    pairs: tuple[tuple[str, str], ...], evaluate: Callable[[Any], Any]
) -> list[dict[str, Any]]:
    """The item variables of every item: ``[{"x": 1, "y": "a"}, ...]`` (zip of the collections).

    Raises:
        ExpressionError: a collection is not a list, or the lists differ in length.
    """
    columns: list[tuple[str, list[Any]]] = []
    for var, expr in pairs:
        value = evaluate(expr if _is_expression(expr) else _literal(expr))
        if isinstance(value, dict) or not isinstance(value, list | tuple):
            raise ExpressionError(
                f"with-items: '{var} in {expr}' must give a list, got {type(value).__name__}"
            )
        columns.append((var, list(value)))
    lengths = {len(values) for _, values in columns}
    if len(lengths) > 1:
        raise ExpressionError(
            "with-items: all collections must have the same length "
            f"({', '.join(f'{v}: {len(vals)}' for v, vals in columns)})"
        )
    count = lengths.pop() if lengths else 0
    return [{var: values[i] for var, values in columns} for i in range(count)]


def _is_expression(text: str) -> bool:
    return "<%" in text or "{{" in text


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def item_index(action_ex: ActionExecution) -> int:
    """The item index an action execution runs (kept in its ``params``)."""
    return int(action_ex.params.get("index", 0))


def results_in_order(actions: list[ActionExecution], count: int) -> list[Any]:
    """The result of every item, in item order (the latest attempt of each item)."""
    results: list[Any] = [None] * count
    for action_ex in actions:
        if action_ex.accepted and action_ex.state in (S.SUCCESS, S.ERROR) and action_ex.output is not None:
            index = item_index(action_ex)
            if 0 <= index < count:
                results[index] = action_ex.output.get("result")
    return results


def outcome(counters: ItemCounters) -> tuple[State, str | None]:
    """The task's state once every item finished (Mistral waits for all, then judges)."""
    if counters.cancelled:
        return S.CANCELLED, "One or more actions was cancelled."
    if counters.failed:
        return S.ERROR, "One or more actions had failed."
    return S.SUCCESS, None
