"""Routes, pages and CLIs read through one layer: `tempest/web/`, `tempest/ui/` and the
`tempest` CLI modules hold no SQL.

Reads live in `tempest/read/`, writes in the write side's modules (store, ingest, registry,
keys, sinks, fleetconfig, ui_sessions); a route, page or command calls them. This scans the
sources (no server needed): a string that reads as SQL, or a call of `.execute(...)` and
friends, in one of those modules fails the test naming the file and line. A second test runs the scanner on
SQL written on purpose, so a scanner that found nothing would fail here. A third keeps the
read layer and the CLIs off the route and page modules (the CLI once took `summary` from a
route module).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.imports import imported

REPO = Path(__file__).resolve().parents[2]
TEMPEST = REPO / "tempest"


def no_sql_files() -> list[Path]:
    return sorted({*(TEMPEST / "web").rglob("*.py"), *(TEMPEST / "ui").rglob("*.py"),
                   *TEMPEST.glob("cli*.py"), *TEMPEST.glob("*/cli.py")})

# Upper-case SQL, as every query in Tempest is written; prose in docstrings is lower case.
SQL = re.compile(r"\bSELECT\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|"
                 r"\bDELETE\s+FROM\b|\bPRAGMA\b|\bWHERE\b|\bORDER\s+BY\b|\bJOIN\b|"
                 r"\bCREATE\s+(TABLE|INDEX)\b|\bGROUP\s+BY\b")
EXECUTE = {"execute", "executemany", "executescript"}


def sql_in(source: str, name: str) -> list[str]:
    """Where `source` holds SQL: `name:line: why`."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = SQL.search(node.value)
            if match:
                found.append(f"{name}:{node.lineno}: SQL in a string ({match.group(0)!r})")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in EXECUTE):
            found.append(f"{name}:{node.lineno}: .{node.func.attr}() runs SQL")
    return found


def test_routes_pages_and_clis_hold_no_sql():
    files = no_sql_files()
    # the folders are where this test thinks they are
    assert len(files) > 25 and TEMPEST / "cli.py" in files, files
    found = [hit for path in files
             for hit in sql_in(path.read_text(), str(path.relative_to(REPO)))]
    assert found == [], ("web/, ui/ and the CLIs call tempest/read (reads) or the write "
                         "side's modules (writes):\n" + "\n".join(found))


def test_the_scanner_finds_sql_written_on_purpose():
    source = '''
def page(conn, serial):
    rows = conn.execute("SELECT serial FROM meters WHERE serial = ?", (serial,))
    sql = f"DELETE FROM ui_sessions WHERE sid_hash = {serial}"
    return rows, sql
'''
    found = sql_in(source, "tempest/ui/leak.py")
    assert any(".execute()" in hit and ":3:" in hit for hit in found), found
    assert any("DELETE FROM" in hit and ":4:" in hit for hit in found), found
    assert sql_in('"""Rows are selected from the store where the read layer says."""\n'
                  'METHODS = "GET, POST, PATCH, DELETE, OPTIONS"\n', "x.py") == []


def test_read_layer_and_clis_import_no_route_or_page():
    sources = [*sorted((TEMPEST / "read").glob("*.py")), *sorted(TEMPEST.rglob("cli*.py"))]
    assert any(p.name == "cli.py" for p in sources) and len(sources) > 8, sources
    bad = [f"{p.relative_to(REPO)} imports {m}" for p in sources for m in sorted(imported(p))
           if m == "tempest.web" or m.startswith(("tempest.web.", "tempest.ui"))]
    assert bad == []
