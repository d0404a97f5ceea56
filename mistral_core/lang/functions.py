"""Mistral's expression functions, for YAQL and for Jinja (as globals and filters).

``task()``, ``tasks()``, ``execution()``, ``env()``, ``global()`` read the engine's
runtime, which the evaluator puts into the expression context; the others are
pure data helpers. Names and results follow Mistral's ``std_functions``.
"""

from __future__ import annotations

import functools
import json
import uuid as _uuid
from collections.abc import Callable, Mapping
from typing import Any

import jinja2

from mistral_core.errors import ExpressionError
from mistral_core.lang import loader

_RUNTIME_KEY = "__mc_runtime"


def _runtime(context: Any) -> Any:
    return context[_RUNTIME_KEY]


def plain(data: Any) -> Any:
    """``data`` with every mapping a dict and every sequence a list (YAQL hands out frozen ones)."""
    if isinstance(data, Mapping):
        return {plain(k): plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return [plain(item) for item in data]
    return data


def json_dump(data: Any) -> str:
    """JSON text of ``data``, indented by 4 (as Mistral's ``json_dump``)."""
    return json.dumps(plain(data), indent=4)


def json_parse(text: str) -> Any:
    """Data of a JSON text."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"json_parse: invalid JSON: {exc}") from None


def yaml_dump(data: Any) -> str:
    """YAML text of ``data``."""
    return loader.dump_yaml(plain(data))


def yaml_parse(text: str) -> Any:
    """Data of a YAML text."""
    return loader.parse_yaml(text)


def new_uuid(*_: Any) -> str:
    """A new random UUID."""
    return str(_uuid.uuid4())


# -- the runtime's functions: the context is the first parameter, named "context" -------------
def _task(context: Any, name: str | None = None) -> Any:
    return _runtime(context).task(name)


def _tasks(
    context: Any,
    workflow_execution_id: str | None = None,
    recursive: bool = False,
    state: str | None = None,
    flat: bool = False,
) -> Any:
    return _runtime(context).tasks(workflow_execution_id, recursive, state, flat)


def _execution(context: Any) -> Any:
    return _runtime(context).execution()


def _env(context: Any) -> Any:
    return _runtime(context).env()


def _global(context: Any, name: str) -> Any:
    return _runtime(context).global_var(name)


_RUNTIME_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "task": _task,
    "tasks": _tasks,
    "execution": _execution,
    "env": _env,
    "global": _global,
}
_DATA_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json_dump": json_dump,
    "json_parse": json_parse,
    "yaml_dump": yaml_dump,
    "yaml_parse": yaml_parse,
    "uuid": new_uuid,
}

#: Functions whose result is the text of their argument: that text is estimated before they run.
TEXT_BUILDERS = (json_dump, yaml_dump)

# YAQL passes its context to a first parameter named "context".
YAQL_FUNCTIONS: dict[str, Callable[..., Any]] = {**_RUNTIME_FUNCTIONS, **_DATA_FUNCTIONS}

# Jinja passes its render context to functions marked with pass_context (a partial is marked,
# so that the YAQL function itself stays as it is).
JINJA_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{name: jinja2.pass_context(functools.partial(func)) for name, func in _RUNTIME_FUNCTIONS.items()},
    **_DATA_FUNCTIONS,
}
