"""Reading YAML documents: the only importer of ``yaml`` in mistral-core.

Documents are parsed with PyYAML's safe loader, bounded. Besides the data,
:func:`load_document` returns where each mapping key and sequence item stands
(1-based line), so that validation errors can name the line a person has to fix.

What a document may cost, and what it may hold (checked while the nodes are composed, before
any Python value is built; each refusal is a :class:`LanguageError` naming line and path):

- nesting: at most :data:`MAX_DEPTH` levels (the composer recurses; a 10,000-deep document
  would otherwise end in ``RecursionError``);
- aliases: together they may stand for at most :data:`MAX_ALIAS_NODES` nodes (a "billion
  laughs" document of a few hundred bytes stands for billions, and everything after the loader
  — schema, checksum, storage — walks the expanded tree); an alias to a node that contains it
  is refused;
- only what JSON can hold: mapping keys are strings (``200:`` or ``yes:`` must be quoted);
  no ``!!set``, ``!!binary``, ``!!timestamp``, ``.nan``/``.inf``, nor integers of more than
  :data:`MAX_INT_DIGITS` digits. An unquoted date (``2024-01-31``) stays the text it is:
  PyYAML would make it a ``datetime.date``, which JSON cannot hold.

The line walk visits each node once: a node reached again through an alias is given the line
of the alias's key and not entered again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import yaml

from mistral_core.errors import LanguageError

Path = tuple[str | int, ...]

#: Deepest nesting of mappings and sequences a document may have.
MAX_DEPTH = 100
#: Nodes all aliases of a document may stand for, together (each use of an alias counts the
#: whole subtree it names).
MAX_ALIAS_NODES = 10_000
#: Longest integer literal (Python turns no longer integer into text: 4,300 digits).
MAX_INT_DIGITS = 4_000

_TAG = "tag:yaml.org,2002:"
_STRING_KEY_TAGS = frozenset({_TAG + "str", _TAG + "merge"})
_NOT_JSON_TAGS = {
    _TAG + "timestamp": "a !!timestamp",
    _TAG + "binary": "!!binary data",
    _TAG + "set": "a !!set",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Document:
    """A parsed YAML document and the line of every node, by path."""

    data: Any
    lines: dict[Path, int]

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


class _Refused(Exception):
    """A document the bounds refuse: message, path, line."""

    def __init__(self, message: str, path: Path, mark: Any) -> None:
        super().__init__(message)
        self.error = LanguageError(message, path=_dotted(path), line=mark.line + 1)


def _dotted(path: Path) -> str:
    """The path as messages show it: a very deep one by its ends only."""
    if len(path) > 12:
        return ".".join(str(p) for p in (*path[:5], "...", *path[-5:]))
    return ".".join(str(p) for p in path)


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader with the bounds of this module; dates are left as text."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TAG + "timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.mc_sizes: dict[int, int] = {}
        self.mc_paths: list[Path] = [()]
        self.mc_alias_nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, within the bounds (see the module docstring)."""
        if self.check_event(yaml.AliasEvent):
            return self._compose_alias(parent, index)
        path = self._path_of(parent, index)
        if len(path) > MAX_DEPTH:
            raise _Refused(f"the document nests deeper than {MAX_DEPTH} levels", path, self._mark())
        self.mc_paths.append(path)
        try:
            node = super().compose_node(parent, index)
        finally:
            self.mc_paths.pop()
        if node is None:
            return None
        self._check(node, path)
        children = node.value if isinstance(node, yaml.SequenceNode) else ()
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        self.mc_sizes[id(node)] = 1 + sum(self.mc_sizes.get(id(child), 1) for child in children)
        return node

    def _mark(self) -> Any:
        """Where the next event starts."""
        return self.peek_event().start_mark  # type: ignore[no-untyped-call]  # PyYAML's stubs leave it untyped

    def _compose_alias(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark = self._mark()
        path = self._path_of(parent, index)
        node = super().compose_node(parent, index)
        size = self.mc_sizes.get(id(node))
        if size is None:
            raise _Refused("an alias may not refer to a node that contains it", path, mark)
        self.mc_alias_nodes += size
        if self.mc_alias_nodes > MAX_ALIAS_NODES:
            raise _Refused(f"the document's aliases stand for more than {MAX_ALIAS_NODES} nodes", path, mark)
        return node

    def _path_of(self, parent: yaml.Node | None, index: Any) -> Path:
        base = self.mc_paths[-1]
        if parent is None:
            return base
        if isinstance(index, int):
            return (*base, index)
        if isinstance(index, yaml.ScalarNode):
            return (*base, str(index.value))
        return (*base, "?")  # a key itself, or the value of a key that is not a scalar

    def _check(self, node: yaml.Node, path: Path) -> None:
        what = _NOT_JSON_TAGS.get(node.tag)
        if what is not None:
            raise _Refused(f"{what} is not a JSON value", path, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag not in _STRING_KEY_TAGS:
                    message = f"a key must be a string: quote it ('{key.value}')"
                    raise _Refused(message, (*path, str(key.value)), key.start_mark)
                if not isinstance(key, yaml.ScalarNode):
                    raise _Refused("a key must be a string, not a list or mapping", path, key.start_mark)
        elif isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "float":
            number = self.construct_yaml_float(node)
            if number != number or number in (float("inf"), float("-inf")):
                raise _Refused(f"{node.value} is not a JSON number", path, node.start_mark)
        elif node.tag == _TAG + "int" and len(node.value) > MAX_INT_DIGITS:
            raise _Refused(f"an integer may have at most {MAX_INT_DIGITS} digits", path, node.start_mark)


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    """The root node and the data of ``text``; raises LanguageError."""
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # its reader refuses characters YAML does not allow (a NUL)
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except _Refused as refused:
        raise refused.error from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise LanguageError(f"Definition could not be parsed: {exc.problem or exc}", line=line) from None
    except yaml.YAMLError as exc:
        raise LanguageError(f"Definition could not be parsed: {exc}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a constructor refusing a scalar (!!int abc)
        raise LanguageError(f"Definition could not be parsed: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def load_document(text: str) -> Document:
    """Parse ``text`` as one YAML document, within the bounds of this module.

    Raises:
        LanguageError: the text is not valid YAML or is out of bounds (with the line of the problem).
    """
    node, data = _compose(text)
    if node is None:
        return Document(None, {})
    return Document(data, _collect_lines(node))


def _collect_lines(root: yaml.Node) -> dict[Path, int]:
    """The line of every path, each node entered once (aliases are not entered again)."""
    lines: dict[Path, int] = {}
    seen: set[int] = set()
    todo: list[tuple[yaml.Node, Path]] = [(root, ())]
    while todo:
        node, path = todo.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                sub = (*path, key_node.value if isinstance(key_node, yaml.ScalarNode) else "?")
                lines[sub] = key_node.start_mark.line + 1
                todo.append((value_node, sub))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend((item, (*path, index)) for index, item in enumerate(node.value))
    return lines


def load_value(text: str) -> Any:
    """Parse one inline value (``3``, ``true``, ``"a b"``, ``[1, 2]``) as YAML; text that fails stays text."""
    try:
        return _compose(text)[1]
    except LanguageError:
        return text


def dump_yaml(data: Any) -> str:
    """YAML text of ``data`` (for the ``yaml_dump`` expression function)."""
    return str(yaml.safe_dump(data, default_flow_style=False, sort_keys=False))


def parse_yaml(text: str) -> Any:
    """Data of a YAML text (for the ``yaml_parse`` expression function), within the same bounds."""
    try:
        return _compose(text)[1]
    except LanguageError as exc:
        raise LanguageError(f"yaml_parse: invalid YAML: {exc}") from None


def dump_document(data: Mapping[str, Any]) -> str:
    """``data`` as block-style YAML, keys in their order (what Mistral stores for a workflow cut
    from a document of several)."""
    return str(yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False))
