"""Expressions: YAQL ``<% %>`` (root ``$``) and Jinja2 ``{{ }}`` (root ``_``).

A string that is exactly one expression evaluates to the expression's raw value
(a dict stays a dict); a string with text around expressions is interpolated.
Values are evaluated recursively through dicts and lists. Parsed expressions are
cached. A plain path (``$``, ``$.a.b``) skips YAQL's slow overload machinery:
same result, a hundred times faster, because it is most of what users write.

Each :meth:`Evaluator.evaluate` runs within a time and size budget (:mod:`budget`, with the
checks of :mod:`sandbox` and :mod:`yaql_guard`), and returns JSON-storable data
(:mod:`storable`). A plain path neither starts the clock nor converts anything: it only counts
the size of what it refers to. Checking at upload (:meth:`Evaluator.check`) parses and never
compiles, folds or runs anything.
"""

from __future__ import annotations

import collections.abc  # noqa: F401  (yaql 3.2 uses collections.abc without importing it)
import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import jinja2
import yaql
import yaql.language.exceptions as yaql_exc
from yaql.language import factory

from mistral_core.errors import ExpressionError, NeedsData
from mistral_core.lang import functions, yaql_guard
from mistral_core.lang.budget import (
    ExpressionLimits,
    Interrupted,
    Meter,
    SizeExceeded,
    check_size,
    shared_watchdog,
    text_size,
    use_meter,
)
from mistral_core.lang.sandbox import BudgetedSandbox
from mistral_core.lang.storable import NotStorable, to_storable

YAQL_BLOCK = re.compile(r"<%(.*?)%>", re.DOTALL)
JINJA_BLOCK = re.compile(r"{{(.*?)}}|{%(.*?)%}", re.DOTALL)
_WHOLE_YAQL = re.compile(r"^\s*<%((?:(?!%>).)*)%>\s*$", re.DOTALL)
_WHOLE_JINJA = re.compile(r"^\s*{{((?:(?!}}).)*)}}\s*$", re.DOTALL)
_PLAIN_PATH = re.compile(r"^\s*\$((?:\.[A-Za-z_]\w*)*)\s*$")

_RUNTIME_KEY = "__mc_runtime"
_YAQL_TOO_LARGE = (yaql_exc.MemoryQuotaExceededException, yaql_exc.CollectionTooLargeException)


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


_NO_RUNTIME = NoRuntime()


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


class _Run:
    """One evaluation: its data, runtime, what is left of its size budget, its deadline once armed."""

    __slots__ = ("data", "deadline", "left", "previous_meter", "runtime", "shown", "vars")

    def __init__(self, data: Any, runtime: ExpressionRuntime | None, max_size: int) -> None:
        self.data = data
        self.runtime = runtime if runtime is not None else _NO_RUNTIME
        self.deadline: Any = None
        self.left = max_size  # characters the evaluation may still build
        self.shown = ""
        self.vars: dict[str, Any] | None = None
        self.previous_meter: Meter | None = None


class Evaluator:
    """Evaluates and checks expressions, each evaluation within ``limits``. Thread-safe; build one
    per process.

    Args:
        limits: the time and size budget of one :meth:`evaluate` (defaults: :class:`ExpressionLimits`).
    """

    def __init__(self, limits: ExpressionLimits | None = None) -> None:
        self.limits = limits or ExpressionLimits()
        base_engine, self._yaql_root = _yaql_base()
        self._yaql_engine = base_engine.copy(yaql_guard.engine_options(self.limits.max_size))
        self._jinja = BudgetedSandbox(
            self.limits.max_size,
            functions.TEXT_BUILDERS,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._jinja.globals.update(functions.JINJA_FUNCTIONS)
        self._jinja.filters.update(functions.JINJA_FUNCTIONS)
        self._jinja.guard_filters()
        self._watchdog = shared_watchdog()
        self._parse_yaql = functools.lru_cache(maxsize=4096)(self._yaql_engine)
        self._jinja_syntax = functools.lru_cache(maxsize=4096)(self._jinja.check_syntax)
        self._compile_jinja_expr = functools.lru_cache(maxsize=4096)(self._jinja.guarded_expression)
        self._compile_jinja_template = functools.lru_cache(maxsize=4096)(self._jinja.guarded_template)

    # -- checking (upload): parse only, never compile, fold or run --------------------------
    def check(self, text: str) -> None:
        """Raise :class:`ExpressionError` if an expression in ``text`` does not parse."""
        if "<%" in text and ("{{" in text or "{%" in text):
            raise ExpressionError(f"an expression may not mix YAQL and Jinja: {_shown(text)}")
        if "<%" in text:
            self._check_yaql(text)
        elif "{{" in text or "{%" in text:
            self._check_jinja(text)

    def _check_yaql(self, text: str) -> None:
        if text.count("<%") != len(YAQL_BLOCK.findall(text)):
            raise ExpressionError(f"unclosed YAQL expression (missing '%>'): {_shown(text)}")
        for match in YAQL_BLOCK.finditer(text):
            try:
                self._parse_yaql(match.group(1).strip())
            except yaql_exc.YaqlException as exc:
                raise ExpressionError(f"invalid YAQL expression '{match.group(1).strip()}': {exc}") from None

    def _check_jinja(self, text: str) -> None:
        try:
            self._jinja_syntax(text)
        except jinja2.TemplateSyntaxError as exc:
            raise ExpressionError(f"invalid Jinja expression {_shown(text)}: {exc.message}") from None

    # -- evaluating ---------------------------------------------------------------
    def evaluate(self, value: Any, data: Any, runtime: ExpressionRuntime | None = None) -> Any:
        """Evaluate every expression in ``value`` (recursively) against ``data`` (``$`` / ``_``).

        The evaluation runs within :attr:`limits`; its result is JSON-storable
        (:mod:`mistral_core.lang.storable`).

        Raises:
            ExpressionError: an expression failed, ran out of its budget, or made a value JSON
                cannot hold; the message names it and why.
        """
        run = _Run(data, runtime, self.limits.max_size)
        try:
            try:
                return self._walk(value, run)
            finally:
                if run.deadline is not None:
                    use_meter(run.previous_meter)
                    self._watchdog.disarm(run.deadline)
        except Interrupted:
            raise ExpressionError(
                f"Can not evaluate expression {_shown(run.shown)}: {self.limits.time_message()}"
            ) from None

    def _walk(self, value: Any, run: _Run) -> Any:
        if isinstance(value, str):
            return self._evaluate_string(value, run) if has_expression(value) else value
        if isinstance(value, dict):
            return {self._walk(k, run): self._walk(v, run) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(item, run) for item in value]
        return value

    def _arm(self, run: _Run, text: str) -> None:
        """Start the clock of ``run`` (once), before its first expression that is not a plain path."""
        run.shown = text
        if run.deadline is None:
            run.previous_meter = use_meter(Meter(self.limits.max_size))
            run.deadline = self._watchdog.arm(self.limits.timeout)
            if run.deadline is None:  # a nested evaluation: the outer one's deadline holds
                run.deadline = False

    def _evaluate_string(self, text: str, run: _Run) -> Any:
        if "<%" in text:
            whole = _WHOLE_YAQL.match(text)
            if whole:
                expr = whole.group(1).strip()
                path = _PLAIN_PATH.match(expr)
                if path:
                    return self._referenced(_follow_path(expr, path.group(1), run.data), expr, run)
                return self._stored(self._yaql(expr, run), expr, run)
            result = YAQL_BLOCK.sub(lambda m: self._as_text(self._yaql_piece(m.group(1).strip(), run)), text)
            return self._referenced(result, text, run)
        self._arm(run, text)
        whole = _WHOLE_JINJA.match(text)
        if whole:
            expr = whole.group(1).strip()
            value = self._jinja_call(
                expr, lambda: vars(self._compile_jinja_expr(expr).make_module(self._vars(run)))["result"]
            )
            return self._stored(value, expr, run)
        result = self._jinja_call(text, lambda: self._compile_jinja_template(text).render(self._vars(run)))
        return self._referenced(result, text, run)

    def _referenced(self, value: Any, shown: str, run: _Run) -> Any:
        """A value already JSON (a plain path into the data, a text): only its size is counted."""
        kind = type(value)
        if kind is str:
            run.left -= len(value)
        elif kind is dict or kind is list:
            run.left -= text_size(value, max(run.left, 0))
        if run.left < 0:
            message = self.limits.size_message()
            raise ExpressionError(f"Can not evaluate expression {_shown(shown)}: {message}")
        return value

    def _stored(self, value: Any, shown: str, run: _Run) -> Any:
        """What an expression computed, made JSON-storable (:mod:`storable`) and counted."""
        try:
            converted, used = to_storable(value, max(run.left, 0))
        except (SizeExceeded, NotStorable) as exc:
            reason = self._size_reason(exc) if isinstance(exc, SizeExceeded) else str(exc)
            raise ExpressionError(f"Can not store the value of {_shown(shown)}: {reason}") from None
        run.left -= used
        return converted

    def _size_reason(self, exc: SizeExceeded) -> str:
        return exc.reason or self.limits.size_message()

    def _vars(self, run: _Run) -> dict[str, Any]:
        if run.vars is None:
            run.vars = {"_": run.data, _RUNTIME_KEY: run.runtime}
        return run.vars

    def _as_text(self, value: Any) -> str:
        if isinstance(value, dict | list):
            try:
                check_size(text_size(value, self.limits.max_size), self.limits.max_size)
            except SizeExceeded as exc:
                raise ExpressionError(f"Can not interpolate a value: {self._size_reason(exc)}") from None
        return _as_text(value)

    def _yaql_piece(self, expr: str, run: _Run) -> Any:
        """One ``<% %>`` of a text: a plain path, or YAQL made storable."""
        path = _PLAIN_PATH.match(expr)
        if path:
            return _follow_path(expr, path.group(1), run.data)
        return self._stored(self._yaql(expr, run), expr, run)

    def _yaql(self, expr: str, run: _Run) -> Any:
        self._arm(run, expr)
        try:
            parsed = self._parse_yaql(expr)
            context = self._yaql_root.create_child_context()
            context[_RUNTIME_KEY] = run.runtime
            return parsed.evaluate(data=run.data, context=context)
        except (
            yaql_exc.MemoryQuotaExceededException,
            yaql_exc.CollectionTooLargeException,
            SizeExceeded,
        ) as exc:
            reason = self._size_reason(exc) if isinstance(exc, SizeExceeded) else self.limits.size_message()
            raise ExpressionError(f"Can not evaluate YAQL expression {_shown(expr)}: {reason}") from None
        except yaql_exc.YaqlException as exc:
            raise ExpressionError(f"Can not evaluate YAQL expression '{expr}': {exc}") from None
        except (ExpressionError, NeedsData):
            raise
        except Exception as exc:  # an expression is user code: any failure is the user's, told as such
            raise ExpressionError(f"Can not evaluate YAQL expression '{expr}': {_describe(exc)}") from None

    def _jinja_call(self, text: str, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except (ExpressionError, NeedsData):
            raise
        except SizeExceeded as exc:
            raise ExpressionError(
                f"Can not evaluate Jinja expression {_shown(text)}: {self._size_reason(exc)}"
            ) from None
        except jinja2.TemplateError as exc:
            raise ExpressionError(f"Can not evaluate Jinja expression '{text}': {exc}") from None
        except Exception as exc:  # an expression is user code: any failure is the user's, told as such
            raise ExpressionError(f"Can not evaluate Jinja expression '{text}': {_describe(exc)}") from None
        if isinstance(result, jinja2.Undefined):
            try:  # a StrictUndefined says what was undefined when it is used: the task fails, as in YAQL
                str(result)
            except jinja2.UndefinedError as exc:
                raise ExpressionError(f"Can not evaluate Jinja expression '{text}': {exc}") from None
            return None
        return result


@functools.cache
def _yaql_base() -> tuple[Any, Any]:
    """YAQL's engine and root context with Mistral's functions: costly to build, so built once.

    The size-checked functions of :mod:`yaql_guard` sit in a layer above YAQL's own, so YAQL
    finds them first.
    """
    engine = factory.YaqlFactory().create()
    root = yaql.create_context()
    for name, func in functions.YAQL_FUNCTIONS.items():
        root.register_function(func, name=name)
    guarded = root.create_child_context()
    for func in yaql_guard.FUNCTIONS:
        guarded.register_function(func)
    return engine, guarded


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


def _shown(text: str) -> str:
    """An expression as a message shows it: quoted, on one line, at most 200 characters."""
    flat = text if "\n" not in text else text.replace("\n", "\\n")
    return f"'{flat}'" if len(flat) <= 200 else f"'{flat[:197]}...'"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no key {exc}"
    return str(exc) or type(exc).__name__
