"""pytest fixtures every suite may use (registered from tests/conftest.py).

Tempest in the test's process: `app` (on a fresh data folder, the test admin token, no
settle time), its `client`, a `conn`ection to its store and a CLI `runner`. Tempest as a real
server: `make_tempest(...)`, a factory of `Tempest`s (tests/support/tempest.py), each stopped
by its PID when the test ends. The servers sinks deliver to: `sink_servers`. Imports are
inside the fixtures, so a suite that uses none of them does not load Tempest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def app(tmp_path):
    from tempest import create_app
    from tests.support.tempest_client import ADMIN_TOKEN

    # tests/tempest/conftest.py sets TEMPEST_DATABASE_URL when the suite runs on PostgreSQL.
    url = os.environ.get("TEMPEST_DATABASE_URL")
    return create_app({"DATA_DIR": str(tmp_path / "data"), "ADMIN_TOKEN": ADMIN_TOKEN,
                       "SETTLE_SECONDS": 0.0, "RESCAN_SECONDS": 0.5,
                       **({"DATABASE_URL": url} if url else {})})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    """Runs a click group (e.g. `tempest`'s) in-process."""
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def conn(app):
    from tempest.db import connect
    from tempest.settings import layout

    c = connect(layout(app.config).database)
    yield c
    c.close()


@pytest.fixture
def make_tempest(tmp_path):
    """make_tempest(data_dir=None, log_path=None, **options): a real Tempest, not yet
    started (options as Tempest's: address, gunicorn_workers, ingest, access_log, TEMPEST_*
    settings). Its data folder defaults to tmp_path/data, its log to tmp_path/tempestN.log;
    every one made is stopped by its PID at the end of the test."""
    from tests.support.tempest import Tempest

    made: list[Tempest] = []

    def make(data_dir: Path | None = None, log_path: Path | None = None, **options) -> Tempest:
        server = Tempest(data_dir or tmp_path / "data",
                         log_path or tmp_path / f"tempest{len(made)}.log", **options)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL for the session (tests/support/postgres.py), stopped by its PID at
    the end: `postgres_server.fresh_database()` is a URL to a new database with Tempest's
    tables."""
    from tests.support.postgres import Postgres

    server = Postgres()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_on_both(request, tmp_path):
    """A connection to a fresh Tempest store, once on SQLite and once on PostgreSQL (the
    session's `postgres_server`): for tests of the store layer itself."""
    from tempest import db

    if request.param == "sqlite":
        target = tmp_path / "t.sqlite3"
    else:
        target = request.getfixturevalue("postgres_server").fresh_database()
    db.init_db(target)
    conn = db.connect(target)
    yield conn
    conn.close()


@pytest.fixture
def sink_servers(tmp_path):
    """sink_servers.vm() and sink_servers.mdms(**options): VictoriaMetrics and reference MDMS
    servers (tests/support/sink_servers.py), not yet started; all stopped by PID at the end."""
    from tests.support.sink_servers import ReferenceMdms, VictoriaMetrics

    made: list = []

    class Factory:
        @staticmethod
        def vm() -> VictoriaMetrics:
            made.append(VictoriaMetrics(tmp_path / f"vm{len(made)}"))
            return made[-1]

        @staticmethod
        def mdms(**options) -> ReferenceMdms:
            made.append(ReferenceMdms(tmp_path / f"mdms{len(made)}", **options))
            return made[-1]

    yield Factory()
    for server in made:
        server.stop()
