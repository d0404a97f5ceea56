"""Limits on what one workflow can make the engine store or start, so no workflow can stop the service.

Each limit is a setting (see docs/operations.md, "Limits"); the defaults never bother real
workflows. Going over one fails the task (or the start of an execution) with a message naming
the limit and its setting; nothing is half-written.

* ``field_size_limit``: the JSON size of one stored value — an execution's input or output,
  what a task publishes, an action's input or result (Mistral's ``execution_field_size_limit_kb``,
  1 MiB by default there too).
* ``with_items_limit``: the items of one with-items task.
* ``subworkflow_depth_limit``: sub-workflows inside sub-workflows (a workflow that calls
  itself stops there).
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: The size counted for a value that is not a string or a container (a number, true, null).
_SCALAR_BYTES = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """The limits of one engine (see the module docstring)."""

    field_size_limit: int = 1_048_576
    with_items_limit: int = 100_000
    subworkflow_depth_limit: int = 50

    def oversized(self, value: Any, what: str) -> str | None:
        """A message if ``value`` is over ``field_size_limit`` once stored as JSON, else None."""
        size = json_size_over(value, self.field_size_limit)
        if size is None:
            return None
        return (
            f"{what} is over {size:,} bytes: the limit is {self.field_size_limit:,} bytes "
            "(setting field_size_limit)"
        )


def json_size_over(value: Any, limit: int) -> int | None:
    """The approximate JSON size of ``value`` if it is over ``limit`` bytes, else None.

    The walk stops as soon as the limit is passed, so the cost is bounded by the limit, never by
    the value (a value already built may be huge). Strings count their characters, scalars a few
    bytes: close enough to the stored size to bound it.
    """
    total = 0
    todo: list[Any] = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + len(item)
            for key, member in item.items():
                total += len(key) + 3 if isinstance(key, str) else _SCALAR_BYTES
                todo.append(member)
        elif isinstance(item, list | tuple):
            total += 2 + len(item)
            todo.extend(item)
        else:
            total += _SCALAR_BYTES
        if total > limit:
            return total
    return None
