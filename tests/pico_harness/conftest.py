"""Fixtures for tests that run code on real MicroPython (see docs/pico-harness.md)."""

from __future__ import annotations

import pytest

from .harnessdir import require
from .vpico import vpico


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
