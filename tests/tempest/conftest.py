"""Fixtures for Tempest: an app on a temporary data dir, its client and CLI runner, a
connection to its store, and real `tempest serve` processes (each stopped by its PID)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tempest import create_app
from tempest.db import connect
from tempest.settings import layout
from tests.tempest.tempest_helpers import ADMIN_TOKEN, TempestProcess


@pytest.fixture
def app(tmp_path):
    return create_app({"DATA_DIR": str(tmp_path / "data"), "ADMIN_TOKEN": ADMIN_TOKEN,
                       "SETTLE_SECONDS": 0.0, "RESCAN_SECONDS": 0.5})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    """Runs the `tempest` click group in-process."""
    return CliRunner()


@pytest.fixture
def conn(app):
    c = connect(layout(app.config).database)
    yield c
    c.close()


@pytest.fixture
def tempest_process(tmp_path):
    """Factory for real servers; each is stopped by its PID at the end of the test."""
    started: list[TempestProcess] = []

    def make(data_dir: Path | None = None, **env) -> TempestProcess:
        p = TempestProcess(data_dir or tmp_path / "data", tmp_path / f"tempest{len(started)}.log",
                           **env)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()
