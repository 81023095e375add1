"""The layering holds: `lint-imports` checks pyproject.toml's contracts over the whole tree.

The core imports no part; the load model stands on the core alone; Tempest imports neither the
meter application (except the one door for checking a desired config) nor the Pico; product
code imports neither benchmarks nor tests. A second test breaks a contract on purpose in a
scratch copy, so a checker that passed everything would fail here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'pico'}"}
    return subprocess.run([str(LINT), "--no-cache", str(root / "pyproject.toml")], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_layering_contracts_are_kept():
    res = lint(REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout
    assert "7 kept" in res.stdout, res.stdout


def test_a_core_module_importing_tempest_breaks_the_run(tmp_path):
    for part in ("core", "loadmodel", "meter", "tempest", "bench", "tests"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "pico" / "picometer", tmp_path / "pico" / "picometer",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "core" / "leak.py").write_text("from tempest import store  # a layering breach\n")
    res = lint(tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "The shared core imports no part BROKEN" in res.stdout
    assert "core.leak -> tempest.store" in res.stdout
