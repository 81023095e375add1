"""Fixtures for the meter tests (the configs they share live in configs.py)."""

import json
from pathlib import Path

import pytest


@pytest.fixture
def write_config(tmp_path):
    def write(raw: dict, name: str = "config.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(raw))
        return path
    return write
