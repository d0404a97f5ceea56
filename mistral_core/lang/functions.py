"""Mistral's expression functions, for YAQL and for Jinja (as globals and filters).

``task()``, ``tasks()``, ``execution()``, ``env()``, ``global()`` read the engine's
runtime, which the evaluator puts into the expression context; the others are
pure data helpers. Names and results follow Mistral's ``std_functions``.
"""

from __future__ import annotations

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


# -- YAQL: yaql passes the context to a first parameter named "context" ------------------
def _yaql_task(context: Any, name: str | None = None) -> Any:
    return _runtime(context).task(name)


def _yaql_tasks(
    context: Any,
    workflow_execution_id: str | None = None,
    recursive: bool = False,
    state: str | None = None,
    flat: bool = False,
) -> Any:
    return _runtime(context).tasks(workflow_execution_id, recursive, state, flat)


def _yaql_execution(context: Any) -> Any:
    return _runtime(context).execution()


def _yaql_env(context: Any) -> Any:
    return _runtime(context).env()


def _yaql_global(context: Any, name: str) -> Any:
    return _runtime(context).global_var(name)


YAQL_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "task": _yaql_task,
    "tasks": _yaql_tasks,
    "execution": _yaql_execution,
    "env": _yaql_env,
    "global": _yaql_global,
    "json_dump": json_dump,
    "json_parse": json_parse,
    "yaml_dump": yaml_dump,
    "yaml_parse": yaml_parse,
    "uuid": new_uuid,
}


# -- Jinja: pass_context gives the render context ------------------------------------------
@jinja2.pass_context
def _jinja_task(context: Any, name: str | None = None) -> Any:
    return _runtime(context).task(name)


@jinja2.pass_context
def _jinja_tasks(
    context: Any,
    workflow_execution_id: str | None = None,
    recursive: bool = False,
    state: str | None = None,
    flat: bool = False,
) -> Any:
    return _runtime(context).tasks(workflow_execution_id, recursive, state, flat)


@jinja2.pass_context
def _jinja_execution(context: Any) -> Any:
    return _runtime(context).execution()


@jinja2.pass_context
def _jinja_env(context: Any) -> Any:
    return _runtime(context).env()


@jinja2.pass_context
def _jinja_global(context: Any, name: str) -> Any:
    return _runtime(context).global_var(name)


JINJA_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "task": _jinja_task,
    "tasks": _jinja_tasks,
    "execution": _jinja_execution,
    "env": _jinja_env,
    "global": _jinja_global,
    "json_dump": json_dump,
    "json_parse": json_parse,
    "yaml_dump": yaml_dump,
    "yaml_parse": yaml_parse,
    "uuid": new_uuid,
}
