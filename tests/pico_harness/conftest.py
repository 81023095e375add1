"""Fixtures for tests that run code on real MicroPython (see docs/pico-harness.md)."""

from __future__ import annotations

import pytest

from tests.support import ci_guard

from .harnessdir import tool
from .vpico import vpico


def require(*names: str) -> None:
    """Skip, saying why, when a MicroPython tool from the dev extra is missing (under CI=true
    that fails the run: tests/support/ci_guard.py)."""
    ci_guard.require_binary(*names, find=tool, why="run scripts/setup.sh --test (dev extra)")


@pytest.fixture
def flash(tmp_path):
    """An empty flash folder for runner.run()."""
    require("micropython")
    path = tmp_path / "flash"
    path.mkdir()
    return path


@pytest.fixture
def virtual_pico(tmp_path):
    """A powered-on virtual Pico (empty flash); see vpico.vpico() for options."""
    require("micropython", "mpremote")
    with vpico(tmp_path) as dev:
        yield dev
