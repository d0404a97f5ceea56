"""Uploaded Python modules read without running them: does the text compile, which classes does it
define, what does each take as input and is it synchronous.

The API and the engines read code sources only through this module, with :mod:`ast`: nothing of an
uploaded module is executed outside an executor. What a class takes is read from the ``__init__``
of the class or of a base class defined in the same module (a base imported from elsewhere, such
as ``mistral_lib.actions.Action``, takes nothing); defaults are literals, or shown as their text.
``is_sync`` is known when it is ``return True`` / ``return False``; anything else is taken as
synchronous (the executor asks the real class).

Bounded cost: the text is refused past ``max_bytes`` before it is parsed; a nesting too deep for
the parser is a one-line error, never a crash; a base chain is followed at most
:data:`MAX_BASES` levels.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from mistral_core.errors import InputError

#: How many levels of base classes defined in the module are followed.
MAX_BASES = 10
#: What a code source's name may be: a Python module's dotted name.
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
#: Mistral's legacy injected argument, not an input (as the registry treats it).
_CONTEXT_PARAM = "action_context"


@dataclasses.dataclass(frozen=True, slots=True)
class Param:
    """One input parameter: its name, whether it is required, its default (a literal, or its text)."""

    name: str
    required: bool
    default: Any = None


@dataclasses.dataclass(frozen=True, slots=True)
class ClassOutline:
    """What a class of a module takes and says, read from its text."""

    name: str
    params: tuple[Param, ...] = ()
    accepts_extra: bool = False
    description: str = ""
    is_sync: bool = True

    @property
    def input_spec(self) -> str:
        """The parameters as Mistral lists them: ``output, delay=0``."""
        return ", ".join(
            p.name if p.required else f"{p.name}={json.dumps(p.default, default=repr)}" for p in self.params
        )

    def input_problems(self, action_input: Mapping[str, Any]) -> list[str]:
        """What is wrong with ``action_input``: missing, then unexpected names (the registry's words)."""
        problems = []
        missing = [p.name for p in self.params if p.required and p.name not in action_input]
        if missing:
            problems.append(_named("missing required parameter", missing))
        if not self.accepts_extra:
            known = {p.name for p in self.params}
            unexpected = [key for key in action_input if key not in known]
            if unexpected:
                problems.append(_named("unexpected parameter", unexpected))
        return problems


@dataclasses.dataclass(frozen=True, slots=True)
class ModuleOutline:
    """The classes a module defines at its top level, by name."""

    classes: Mapping[str, ClassOutline]


def check_name(name: str) -> str:
    """A code source's name, checked to be a module's dotted name.

    Raises:
        InputError: it is not.
    """
    if not name or len(name) > 255 or not _MODULE_NAME.match(name):
        raise InputError(
            f"Invalid code source name '{name[:60]}': a Python module name (letters, digits, _ and dots)"
        )
    return name


def outline(name: str, content: str, max_bytes: int) -> ModuleOutline:
    """Check that ``content`` is a Python module that compiles, and read its classes.

    Raises:
        InputError: larger than ``max_bytes`` (UTF-8), not Python, or too deeply nested to parse.
    """
    size = len(content.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InputError(f"Code source {name} is too large: {size} bytes, the limit is {max_bytes} bytes")
    if "\x00" in content:
        raise InputError(f"Code source {name} does not compile: it holds a NUL character")
    try:
        tree = ast.parse(content, filename=name)
        compile(tree, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise InputError(f"Code source {name} does not compile: {exc.msg} (line {exc.lineno})") from None
    except (RecursionError, MemoryError, ValueError):
        raise InputError(f"Code source {name} does not compile: it is nested too deeply") from None
    defined = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    return ModuleOutline({cls: _class_outline(node, defined) for cls, node in defined.items()})


def _class_outline(node: ast.ClassDef, defined: Mapping[str, ast.ClassDef]) -> ClassOutline:
    init = _method(node, "__init__", defined)
    params, extra = _params(init) if init is not None else ((), False)
    sync = _method(node, "is_sync", defined)
    return ClassOutline(
        name=node.name,
        params=params,
        accepts_extra=extra,
        description=_first_line(ast.get_docstring(node)),
        is_sync=_literal_return(sync) is not False if sync is not None else True,
    )


def _method(node: ast.ClassDef, name: str, defined: Mapping[str, ast.ClassDef]) -> ast.FunctionDef | None:
    """The method ``name`` of the class, or of the first base defined in the module that has it."""
    seen: list[ast.ClassDef] = []
    queue = [node]
    while queue and len(seen) <= MAX_BASES:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.append(current)
        for item in current.body:
            if isinstance(item, ast.FunctionDef) and item.name == name:
                return item
        queue.extend(defined[b.id] for b in current.bases if isinstance(b, ast.Name) and b.id in defined)
    return None


def _params(init: ast.FunctionDef) -> tuple[tuple[Param, ...], bool]:
    args = init.args
    positional = args.args[1:]  # drop ``self``
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [*zip(positional, defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    params = tuple(
        Param(arg.arg, True) if default is None else Param(arg.arg, False, _literal(default))
        for arg, default in pairs
        if arg.arg != _CONTEXT_PARAM
    )
    return params, args.kwarg is not None


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return ast.unparse(node)


def _literal_return(func: ast.FunctionDef) -> Any:
    """The constant a method returns when its body is ``return <constant>`` (a docstring aside)."""
    body = [s for s in func.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Constant):
        return body[0].value.value
    return None


def _first_line(doc: str | None) -> str:
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _named(what: str, names: list[str]) -> str:
    plural = "s" if len(names) > 1 else ""
    return f"{what}{plural} " + ", ".join(f"'{n}'" for n in names)
