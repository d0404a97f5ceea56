"""Jinja's sandbox with a size budget: what a template builds is checked before it is built.

:class:`BudgetedSandbox` is Jinja's ``SandboxedEnvironment`` (Mistral's choice) plus checks at
its public override points and on the template's syntax tree:

- operators ``*``, ``**``, ``+``, ``%`` are intercepted (``intercepted_binops``: which also keeps
  Jinja from folding them at compile time) and their result size estimated first;
- every call (``call``) of a string method that can grow its string (``center``, ``ljust``,
  ``replace``, ``join``, ``format``, ``translate``...) is estimated first; the result of every call
  and the container a method grows in place (``list.append``/``extend``, ``dict.update``) are
  measured after;
- filters that grow text (``join``, ``replace``, ``center``, ``indent``, ``format``, ``string``,
  ``tojson``...) are estimated first, and their results measured;
- the syntax tree is rewritten before compiling: ``a ~ b`` and every piece of output (the
  ``{{ }}`` and the literal text of a loop, also inside macros and ``{% set %}`` blocks) go
  through checking filters, so the text an evaluation writes is counted whole;
- what each operation, call and filter builds is counted on the evaluation's meter
  (:func:`~mistral_core.lang.budget.spend`), so many values each within the budget cannot add
  up past it.

Checks raise :class:`~mistral_core.lang.budget.SizeExceeded`; the evaluator turns it into an
``ExpressionError``. Estimates of the text of containers stop counting at the budget, so a
list holding the same 4 MB string a thousand times costs a few steps to refuse.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jinja2
import jinja2.nodes
import jinja2.runtime
import jinja2.sandbox
import jinja2.visitor

from mistral_core.lang.budget import (
    check_concat,
    check_power,
    check_repeat,
    check_size,
    current_meter,
    spend,
    text_size,
)

_OUTPUT_FILTER = "__mc_output"
_CONCAT_FILTER = "__mc_concat"
_PERCENT_DIRECTIVE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
_GROWING_FILTERS = frozenset({"join", "replace", "center", "indent", "format", "string", "tojson", "pprint"})


def _check_text(values: Any, max_size: int) -> None:
    check_size(text_size(values, max_size), max_size)


def check_percent(fmt: Any, args: Any, max_size: int) -> None:
    """``fmt % args``: widths and precisions, and the text of the arguments."""
    if not isinstance(fmt, str):
        return
    numbers = [a for a in (args if isinstance(args, tuple) else (args,)) if isinstance(a, int)]
    for match in _PERCENT_DIRECTIVE.finditer(fmt):
        for part in match.groups():
            if part == "*":
                check_size(max(numbers, default=0), max_size)
            elif part:
                check_size(int(part), max_size)
    _check_text([fmt, args], max_size)


def check_format(fmt: str, args: Any, kwargs: Mapping[str, Any], max_size: int) -> None:
    """``fmt.format(*args, **kwargs)``: widths in the fields, and the text of the arguments."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will refuse it in the same way
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:  # a width taken from the arguments
            numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
            check_size(max(numbers, default=0), max_size)
        for digits in re.findall(r"\d+", spec):
            check_size(int(digits), max_size)
    _check_text([fmt, list(args), dict(kwargs)], max_size)


def _check_string_method(owner: str | bytes, name: str, args: Any, kwargs: Any, max_size: int) -> None:
    if name in _WIDTH_METHODS:
        width = args[0] if args else kwargs.get("width", 0)
        if isinstance(width, int):
            check_size(width, max_size)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
            check_size(len(owner) + tabs * size, max_size)
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1, max_size)
    elif name == "join" and args and isinstance(args[0], list | tuple):
        _check_text([owner, *args[0]], max_size)
        check_size(len(owner) * len(args[0]), max_size)
    elif name in ("format", "format_map") and isinstance(owner, str):
        mapping = args[0] if name == "format_map" and args else kwargs
        check_format(owner, args if name == "format" else (), mapping, max_size)
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
        check_size(len(owner) * longest, max_size)


def _check_replace(text: Any, old: Any, new: Any, count: Any, max_size: int) -> None:
    if not (isinstance(text, str | bytes) and isinstance(old, str | bytes) and isinstance(new, str | bytes)):
        return
    found = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]  # same kinds, or str.replace refuses
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    check_size(len(text) + found * max(len(new) - len(old), 0), max_size)


def _measure(value: Any, max_size: int) -> None:
    """The result of a call or filter, measured without walking into it."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        check_size(len(value), max_size)


def _check_filter_input(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], max_size: int) -> None:
    """Estimates for the built-in filters that grow text; ``args`` start with the filtered value."""
    value, rest = (args[0], args[1:]) if args else (None, ())
    if name in ("join", "string", "tojson", "pprint"):
        _check_text(value, max_size)
    elif name == "replace" and len(rest) >= 2:
        _check_replace(str(value) if not isinstance(value, str) else value, rest[0], rest[1], -1, max_size)
    elif name == "center":
        width = rest[0] if rest else kwargs.get("width", 80)
        if isinstance(width, int):
            check_size(width, max_size)
    elif name == "indent" and isinstance(value, str):
        width = rest[0] if rest else kwargs.get("width", 4)
        per_line = width if isinstance(width, int) else len(str(width))
        check_size(len(value) + (value.count("\n") + 1) * per_line, max_size)
    elif name == "format":
        check_percent(value, tuple(rest) or kwargs, max_size)


def _checked_filter(
    env: BudgetedSandbox, name: str, func: Callable[..., Any], builds_text: bool
) -> Callable[..., Any]:
    passes_first = getattr(func, "jinja_pass_arg", None) is not None  # context/environment first

    @functools.wraps(func)  # keeps Jinja's pass_context / pass_eval_context mark
    def checked(*args: Any, **kwargs: Any) -> Any:
        if builds_text:
            _check_text([args, kwargs], env.max_size)
        elif name in _GROWING_FILTERS:
            value_args = args[1:] if passes_first else args
            if name == "join" and value_args and not isinstance(value_args[0], list | tuple | str):
                value_args = (list(value_args[0]), *value_args[1:])  # a generator: count what it yields
                args = (*args[:1], *value_args) if passes_first else value_args
            _check_filter_input(name, value_args, kwargs, env.max_size)
        result = func(*args, **kwargs)
        _measure(result, env.max_size)
        spend(result)
        return result

    return checked


def _output(value: Any) -> str:
    """Every piece of output: counted against the evaluation's meter before it becomes text."""
    meter = current_meter()
    if isinstance(value, str):
        if meter is not None:
            meter.spend(len(value))
        return value
    if meter is not None:
        meter.spend(text_size(value, max(meter.left, 0)))
    return str(value)


class _Guard(jinja2.visitor.NodeTransformer):
    """Rewrites ``a ~ b`` and every output piece into calls of the checking filters."""

    def visit_Concat(self, node: jinja2.nodes.Concat) -> jinja2.nodes.Node:
        self.generic_visit(node)
        items = jinja2.nodes.List(list(node.nodes), lineno=node.lineno)
        return jinja2.nodes.Filter(items, _CONCAT_FILTER, [], [], None, None, lineno=node.lineno)

    def visit_Output(self, node: jinja2.nodes.Output) -> jinja2.nodes.Node:
        self.generic_visit(node)
        node.nodes = [
            jinja2.nodes.Filter(child, _OUTPUT_FILTER, [], [], None, None, lineno=child.lineno)
            for child in node.nodes
        ]
        return node


class BudgetedSandbox(jinja2.sandbox.SandboxedEnvironment):
    """Jinja's sandbox whose operations stay within ``max_size`` characters (module docstring).

    Args:
        max_size: the size budget of one evaluation.
        text_builders: functions whose result is the text of their arguments (``json_dump``):
            that text is estimated before they run.
        **options: options of ``SandboxedEnvironment``.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(
        self, max_size: int, text_builders: Iterable[Callable[..., Any]] = (), **options: Any
    ) -> None:
        super().__init__(**options)
        self.max_size = max_size
        self.text_builders = tuple(text_builders)
        self.filters[_OUTPUT_FILTER] = jinja2.pass_context(lambda _, value: _output(value))  # never folded
        self.filters[_CONCAT_FILTER] = self._concat

    def guard_filters(self) -> None:
        """Wrap every filter registered so far with the size checks (call after adding filters)."""
        for name, func in list(self.filters.items()):
            if name not in (_OUTPUT_FILTER, _CONCAT_FILTER):
                self.filters[name] = _checked_filter(self, name, func, func in self.text_builders)

    def _concat(self, values: list[Any]) -> str:
        _check_text(values, self.max_size)
        result = "".join(str(v) for v in values)
        spend(result)
        return result

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        """An intercepted operator: its result size estimated before it is computed."""
        if operator == "*":
            check_repeat(left, right, self.max_size)
        elif operator == "**":
            check_power(left, right)
        elif operator == "+":
            check_concat(left, right, self.max_size)
        elif operator == "%":
            check_percent(left, right, self.max_size)
        result = super().call_binop(context, operator, left, right)
        spend(result)
        return result

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from a template: string methods estimated first, every result measured after."""
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format (functools.wraps)
        owner = getattr(method, "__self__", None)
        name = getattr(method, "__name__", "")
        if isinstance(owner, str | bytes):
            _check_string_method(owner, name, args, kwargs, __self.max_size)
        elif any(__obj is builder for builder in __self.text_builders):
            _check_text([args, kwargs], __self.max_size)
        result = super().call(__context, __obj, *args, **kwargs)
        _measure(result, __self.max_size)
        spend(result)
        if isinstance(owner, list | dict | set):  # a method that may have grown it in place
            check_size(len(owner), __self.max_size)
        return result

    # -- parsing and compiling -------------------------------------------------------------
    def check_syntax(self, source: str) -> None:
        """Parse ``source`` (never compile nor run it); unknown filters and tests are errors.

        Raises:
            jinja2.TemplateSyntaxError: what is wrong, as Jinja says it.
        """
        tree = self.parse(source)
        for node in tree.find_all(jinja2.nodes.Filter):
            if node.name not in self.filters:
                raise jinja2.TemplateSyntaxError(f"No filter named '{node.name}'.", node.lineno)
        for test in tree.find_all(jinja2.nodes.Test):
            if test.name not in self.tests:
                raise jinja2.TemplateSyntaxError(f"No test named '{test.name}'.", test.lineno)

    def guarded_template(self, source: str) -> jinja2.Template:
        """A template whose output and ``~`` are checked (see the module docstring)."""
        return self.from_string(_Guard().visit(self.parse(source)))

    def guarded_expression(self, expression: str) -> jinja2.Template:
        """A template that computes one expression into its exported variable ``result``."""
        tree = self.parse("{{ " + expression + " }}")
        body = tree.body
        if len(body) != 1 or not isinstance(body[0], jinja2.nodes.Output) or len(body[0].nodes) != 1:
            raise jinja2.TemplateSyntaxError("not one expression", 1)
        expr = _Guard().visit(body[0].nodes[0])
        assign = jinja2.nodes.Assign(jinja2.nodes.Name("result", "store"), expr, lineno=1)
        return self.from_string(jinja2.nodes.Template([assign], lineno=1))
