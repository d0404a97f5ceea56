"""Each workflow's own part of a document that defines several, as Mistral stores it.

Mistral 23 stores, for each workflow of a document of several, a definition of its own (the
document's ``version`` and that workflow), not the whole document: N workflows cost N parts,
not N copies of the document (2,000 small workflows in one upload would otherwise store and
answer 2,000 copies of 90 KB).

Mistral dumps each part again with PyYAML, losing the comments and the layout; here a part is
the workflow's own lines as written (with the comment lines just above its name), after the
``version`` line, whenever those lines read back as exactly that workflow. When they do not (a
flow-style document, an alias to another workflow's anchor), the part is dumped as Mistral does.
"""

from __future__ import annotations

from collections.abc import Sequence

from mistral_core.errors import LanguageError
from mistral_core.lang.loader import Document, dump_document, load_document


def own_parts(text: str, doc: Document, names: Sequence[str]) -> dict[str, str]:
    """The definition of each of ``names`` (top-level workflows of ``doc``, parsed from ``text``).

    Args:
        text: the document as sent.
        doc: ``text`` loaded (:func:`~mistral_core.lang.loader.load_document`).
        names: the workflows' names (keys of ``doc.data``).

    Returns:
        name -> its part: ``version`` and that workflow only, as YAML text.
    """
    lines = text.splitlines(keepends=True)
    spans = _spans(lines, doc)
    version_line = lines[doc.lines[("version",)] - 1] if spans else ""
    parts = {}
    for name in names:
        expected = {"version": doc.data["version"], name: doc.data[name]}
        part = None
        if name in spans:
            first, end = spans[name]
            part = _ended(version_line) + "\n" + _ended("".join(lines[first:end]))
        parts[name] = part if part is not None and _reads_as(part, expected) else dump_document(expected)
    return parts


def _spans(lines: list[str], doc: Document) -> dict[str, tuple[int, int]]:
    """name -> (first line, end line), 0-based, of each top-level key's lines with the comment
    lines right above it; empty when two keys share a line (a flow-style document)."""
    starts = sorted((doc.lines[(key,)] - 1, key) for key in doc.data if (key,) in doc.lines)
    if len(starts) != len(doc.data) or len({line for line, _ in starts}) != len(starts):
        return {}
    heads = []
    floor = 0
    for line, _ in starts:
        head = line
        while head > floor and lines[head - 1].lstrip().startswith("#"):
            head -= 1
        heads.append(head)
        floor = line + 1
    ends = [*heads[1:], len(lines)]
    return {str(key): (head, end) for (_, key), head, end in zip(starts, heads, ends, strict=True)}


def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _reads_as(part: str, expected: dict[str, object]) -> bool:
    try:
        return bool(load_document(part).data == expected)
    except LanguageError:
        return False
