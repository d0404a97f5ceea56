"""Expressions: YAQL ``<% %>`` (root ``$``) and Jinja2 ``{{ }}`` (root ``_``).

A string that is exactly one expression evaluates to the expression's raw value
(a dict stays a dict); a string with text around expressions is interpolated.
Values are evaluated recursively through dicts and lists. Parsed expressions are
cached. A plain path (``$``, ``$.a.b``) skips YAQL's slow overload machinery:
same result, a hundred times faster, because it is most of what users write.
"""

from __future__ import annotations

import collections.abc  # noqa: F401  (yaql 3.2 uses collections.abc without importing it)
import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import jinja2
import jinja2.sandbox
import yaql
import yaql.language.exceptions as yaql_exc
from yaql.language import factory

from mistral_core.errors import ExpressionError, NeedsData
from mistral_core.lang import functions

YAQL_BLOCK = re.compile(r"<%(.*?)%>", re.DOTALL)
JINJA_BLOCK = re.compile(r"{{(.*?)}}|{%(.*?)%}", re.DOTALL)
_WHOLE_YAQL = re.compile(r"^\s*<%((?:(?!%>).)*)%>\s*$", re.DOTALL)
_WHOLE_JINJA = re.compile(r"^\s*{{((?:(?!}}).)*)}}\s*$", re.DOTALL)
_PLAIN_PATH = re.compile(r"^\s*\$((?:\.[A-Za-z_]\w*)*)\s*$")

_YAQL_OPTIONS = {
    "yaql.limit_iterators": -1,
    "yaql.memory_quota": -1,
    "yaql.convert_tuples_to_lists": True,
    "yaql.convert_sets_to_lists": True,
    "yaql.iterable_dicts": False,
}
_RUNTIME_KEY = "__mc_runtime"


class ExpressionRuntime(Protocol):
    """What Mistral's expression functions read: the engine's view of one execution."""

    def task(self, name: str | None) -> dict[str, Any] | None:
        """``task(name)``: the latest task execution of that name (the current task if None)."""
        ...

    def tasks(
        self, workflow_execution_id: str | None, recursive: bool, state: str | None, flat: bool
    ) -> list[dict[str, Any]]:
        """``tasks()``: task executions of this (or another) workflow execution, maybe of its children."""
        ...

    def execution(self) -> dict[str, Any]:
        """``execution()``: the workflow execution."""
        ...

    def env(self) -> dict[str, Any]:
        """``env()``: the execution's environment."""
        ...

    def global_var(self, name: str) -> Any:
        """``global(name)``: a variable published with the ``global`` scope."""
        ...


class NoRuntime:
    """A runtime for expressions evaluated outside any execution (workflow input defaults)."""

    def task(self, name: str | None) -> dict[str, Any] | None:
        """No tasks."""
        return None

    def tasks(
        self, workflow_execution_id: str | None, recursive: bool, state: str | None, flat: bool
    ) -> list[dict[str, Any]]:
        """No tasks."""
        return []

    def execution(self) -> dict[str, Any]:
        """No execution."""
        return {}

    def env(self) -> dict[str, Any]:
        """No environment."""
        return {}

    def global_var(self, name: str) -> Any:
        """No globals."""
        return None


def has_expression(value: Any) -> bool:
    """Whether a string holds a YAQL or Jinja expression."""
    return isinstance(value, str) and ("<%" in value or "{{" in value or "{%" in value)


def iter_expressions(value: Any) -> Iterator[str]:
    """Every expression string found in ``value``, recursively."""
    if isinstance(value, str):
        if has_expression(value):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_expressions(key)
            yield from iter_expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_expressions(item)


class Evaluator:
    """Evaluates and checks expressions. Thread-safe; build one per process."""

    def __init__(self) -> None:
        self._yaql_engine, self._yaql_root = _yaql_base()
        self._jinja = jinja2.sandbox.SandboxedEnvironment(
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
        )
        self._jinja.globals.update(functions.JINJA_FUNCTIONS)
        self._jinja.filters.update(functions.JINJA_FUNCTIONS)
        self._parse_yaql = functools.lru_cache(maxsize=4096)(self._yaql_engine)
        self._compile_jinja_expr = functools.lru_cache(maxsize=4096)(self._jinja.compile_expression)
        self._compile_jinja_template = functools.lru_cache(maxsize=4096)(self._jinja.from_string)

    # -- checking -----------------------------------------------------------------
    def check(self, text: str) -> None:
        """Raise :class:`ExpressionError` if an expression in ``text`` does not parse."""
        if "<%" in text and ("{{" in text or "{%" in text):
            raise ExpressionError(f"an expression may not mix YAQL and Jinja: {text!r}")
        if "<%" in text:
            self._check_yaql(text)
        elif "{{" in text or "{%" in text:
            self._check_jinja(text)

    def _check_yaql(self, text: str) -> None:
        if text.count("<%") != len(YAQL_BLOCK.findall(text)):
            raise ExpressionError(f"unclosed YAQL expression (missing '%>'): {text!r}")
        for match in YAQL_BLOCK.finditer(text):
            try:
                self._parse_yaql(match.group(1).strip())
            except yaql_exc.YaqlException as exc:
                raise ExpressionError(f"invalid YAQL expression '{match.group(1).strip()}': {exc}") from None

    def _check_jinja(self, text: str) -> None:
        try:
            self._compile_jinja_template(text)
        except jinja2.TemplateSyntaxError as exc:
            raise ExpressionError(f"invalid Jinja expression {text!r}: {exc.message}") from None

    # -- evaluating ---------------------------------------------------------------
    def evaluate(self, value: Any, data: Any, runtime: ExpressionRuntime | None = None) -> Any:
        """Evaluate every expression in ``value`` (recursively) against ``data`` (``$`` / ``_``).

        Raises:
            ExpressionError: an expression failed; the message names it and why.
        """
        rt = runtime if runtime is not None else NoRuntime()
        return self._walk(value, data, rt)

    def _walk(self, value: Any, data: Any, rt: ExpressionRuntime) -> Any:
        if isinstance(value, str):
            return self._evaluate_string(value, data, rt) if has_expression(value) else value
        if isinstance(value, dict):
            return {self._walk(k, data, rt): self._walk(v, data, rt) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(item, data, rt) for item in value]
        return value

    def _evaluate_string(self, text: str, data: Any, rt: ExpressionRuntime) -> Any:
        if "<%" in text:
            whole = _WHOLE_YAQL.match(text)
            if whole:
                return self._yaql(whole.group(1).strip(), data, rt)
            return YAQL_BLOCK.sub(lambda m: _as_text(self._yaql(m.group(1).strip(), data, rt)), text)
        whole = _WHOLE_JINJA.match(text)
        if whole:
            return self._jinja_expression(whole.group(1).strip(), data, rt)
        return self._jinja_template(text, data, rt)

    def _yaql(self, expr: str, data: Any, rt: ExpressionRuntime) -> Any:
        path = _PLAIN_PATH.match(expr)
        if path:
            return _follow_path(expr, path.group(1), data)
        try:
            parsed = self._parse_yaql(expr)
            context = self._yaql_root.create_child_context()
            context[_RUNTIME_KEY] = rt
            return parsed.evaluate(data=data, context=context)
        except yaql_exc.YaqlException as exc:
            raise ExpressionError(f"Can not evaluate YAQL expression '{expr}': {exc}") from None
        except (ExpressionError, NeedsData):
            raise
        except Exception as exc:  # an expression is user code: any failure is the user's, told as such
            raise ExpressionError(f"Can not evaluate YAQL expression '{expr}': {_describe(exc)}") from None

    def _jinja_expression(self, expr: str, data: Any, rt: ExpressionRuntime) -> Any:
        return self._jinja_call(expr, lambda: self._compile_jinja_expr(expr)(_=data, **{_RUNTIME_KEY: rt}))

    def _jinja_template(self, text: str, data: Any, rt: ExpressionRuntime) -> Any:
        return self._jinja_call(
            text, lambda: self._compile_jinja_template(text).render(_=data, **{_RUNTIME_KEY: rt})
        )

    @staticmethod
    def _jinja_call(text: str, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except (ExpressionError, NeedsData):
            raise
        except jinja2.TemplateError as exc:
            raise ExpressionError(f"Can not evaluate Jinja expression '{text}': {exc}") from None
        except Exception as exc:  # an expression is user code: any failure is the user's, told as such
            raise ExpressionError(f"Can not evaluate Jinja expression '{text}': {_describe(exc)}") from None
        if isinstance(result, jinja2.Undefined):
            return None
        return result


@functools.cache
def _yaql_base() -> tuple[Any, Any]:
    """YAQL's engine and root context with Mistral's functions: costly to build, so built once."""
    engine = factory.YaqlFactory().create(options=_YAQL_OPTIONS)
    root = yaql.create_context()
    for name, func in functions.YAQL_FUNCTIONS.items():
        root.register_function(func, name=name)
    return engine, root


def _follow_path(expr: str, path: str, data: Any) -> Any:
    value = data
    for key in path.split(".")[1:]:
        if not isinstance(value, dict):
            raise ExpressionError(f"Can not evaluate YAQL expression '{expr}': '{key}' of a non-object")
        if key not in value:
            raise ExpressionError(f"Can not evaluate YAQL expression '{expr}': no variable '{key}'")
        value = value[key]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no key {exc}"
    return str(exc) or type(exc).__name__
