"""Reading YAML documents: the only importer of ``yaml`` in mistral-core.

Documents are parsed with the safe loader. Besides the data, :func:`load_document`
returns where each mapping key and sequence item stands (1-based line), so that
validation errors can name the line a person has to fix.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from mistral_core.errors import LanguageError

Path = tuple[str | int, ...]


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


def load_document(text: str) -> Document:
    """Parse ``text`` as one YAML document.

    Raises:
        LanguageError: the text is not valid YAML (with the line of the problem).
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return Document(None, {})
        loader = yaml.SafeLoader("")
        try:
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise LanguageError(f"Definition could not be parsed: {exc.problem or exc}", line=line) from None
    except yaml.YAMLError as exc:
        raise LanguageError(f"Definition could not be parsed: {exc}") from None
    lines: dict[Path, int] = {}
    _collect_lines(node, (), lines)
    return Document(data, lines)


def _collect_lines(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            sub = (*path, key)
            _collect_lines(value_node, sub, lines)
            lines[sub] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*path, index), lines)


def load_value(text: str) -> Any:
    """Parse one inline value (``3``, ``true``, ``"a b"``, ``[1, 2]``) as YAML; text that fails stays text."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def dump_yaml(data: Any) -> str:
    """YAML text of ``data`` (for the ``yaml_dump`` expression function)."""
    return str(yaml.safe_dump(data, default_flow_style=False, sort_keys=False))


def parse_yaml(text: str) -> Any:
    """Data of a YAML text (for the ``yaml_parse`` expression function)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LanguageError(f"yaml_parse: invalid YAML: {exc}") from None
