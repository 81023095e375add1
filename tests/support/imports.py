"""What a source file imports, read from its syntax tree (for the tests that hold the CLIs and
the read layer to their direct imports, which import-linter's package-wide view cannot)."""

from __future__ import annotations

import ast
from pathlib import Path


def imported(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (`from a import b` counts a and a.b)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out
