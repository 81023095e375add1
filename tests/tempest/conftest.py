"""tests/tempest runs on either store: SQLite (the default) or, with
METERS_TEST_STORE=postgresql, a real PostgreSQL started for the session
(tests/support/postgres.py) with a fresh database for each test, handed to every Tempest the
test makes (the `app` fixture, real servers, the CLI) as TEMPEST_DATABASE_URL.
"""

from __future__ import annotations

import pytest

from tempest import keys
from tempest.ingest.process import Processor
from tempest.settings import layout
from tests.support import postgres


@pytest.fixture(autouse=True)
def tempest_store(request, monkeypatch):
    """The store URL this test's Tempests use (None: SQLite in their data folders)."""
    if postgres.wanted() != "postgresql":
        yield None
        return
    server = request.getfixturevalue("postgres_server")
    url = server.fresh_database()
    monkeypatch.setenv("TEMPEST_DATABASE_URL", url)
    yield url
    server.drop(url)


# For the tests of an uploaded day's way through ingest (test_ingest_verdict.py,
# test_ingest_archive_link.py); a test file's own fixture of the same name wins over these.
@pytest.fixture
def lay(app):
    return layout(app.config)


@pytest.fixture
def key(conn):
    return keys.add(conn, "kili").key


@pytest.fixture
def processor(app, conn, lay, key):
    return Processor(conn, lay, app.config)
