"""The size limits of the code (style): no module of mistral_core over 600 lines, no class over 400.

Checked here so that a change that grows a module past them fails at once, instead of being
found in a review after several branches met in it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mistral_core

PACKAGE = Path(mistral_core.__file__).parent
MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 400


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_over_600_lines() -> None:
    over = {
        str(path.relative_to(PACKAGE)): lines
        for path in _modules()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    }
    assert over == {}, f"split these modules (at most {MAX_MODULE_LINES} lines): {over}"


def test_no_class_is_over_400_lines() -> None:
    over = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    over[f"{path.relative_to(PACKAGE)}:{node.name}"] = lines
    assert over == {}, f"split these classes (at most {MAX_CLASS_LINES} lines): {over}"
