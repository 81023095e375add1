"""The ingest batch's pipelined statements (tempest/db: `pipelined`, PostgreSQL's pipeline mode)
on both stores, whatever store the suite runs on: SQLite (where it changes nothing) and a real
PostgreSQL server (tests.support.fixtures' postgres_server, started by the test run).

What the batch relies on: a read inside the block sees the writes queued before it, and a
failed statement fails the block before its transaction can commit, so nothing of the batch is
kept (the crash-safety order of tempest/ingest/process.py).
"""

from __future__ import annotations

import pytest

from core.dayfile_reader import parse
from tempest import db, keys, store
from tests.tempest.tempest_testdata import make_day

FILES_ROW = ("INSERT INTO files (id, hash, source, name, size, delivered_at, ingested_at, "
             "outcome) VALUES (?, ?, 'drop', 'x.json', 1, 0, 0, 'stored')")


@pytest.fixture
def conn(store_on_both):
    return store_on_both


def files(conn) -> list[str]:
    return [r["id"] for r in conn.execute("SELECT id FROM files ORDER BY id")]


def test_reads_see_the_writes_queued_before_them(conn):
    with db.transaction(conn), db.pipelined(conn):
        conn.execute(FILES_ROW, ("a", "h1"))
        conn.execute(FILES_ROW, ("b", "h2"))
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 2
        changed = conn.execute("UPDATE files SET outcome = 'kept' WHERE id IN ('a', 'b')")
        assert changed.rowcount == 2
        assert conn.execute("SELECT outcome FROM files WHERE id = 'a'").fetchone()["outcome"] \
            == "kept"
        # A statement without rows answers like sqlite3's: no row, not an error.
        assert conn.execute("DELETE FROM files WHERE id = 'none'").fetchone() is None
    assert files(conn) == ["a", "b"]


@pytest.mark.parametrize("read_after", [False, True], ids=["fails-at-end", "fails-at-read"])
def test_a_failed_statement_rolls_the_whole_block_back(conn, read_after):
    conn.execute(FILES_ROW, ("before", "h0"))
    refused = pytest.raises(Exception, match="(?i)unique|primary key|duplicate")
    with refused, db.transaction(conn), db.pipelined(conn):
        conn.execute(FILES_ROW, ("a", "h1"))
        conn.execute(FILES_ROW, ("before", "h2"))  # the same id: refused
        if read_after:
            conn.execute("SELECT count(*) FROM files").fetchone()
        conn.execute(FILES_ROW, ("b", "h3"))
    assert not conn.in_transaction
    assert files(conn) == ["before"]  # nothing of the block was kept
    # The connection is usable again, pipelined or not.
    with db.transaction(conn), db.pipelined(conn):
        conn.execute(FILES_ROW, ("c", "h4"))
    assert files(conn) == ["before", "c"]


def test_a_day_stored_in_a_pipelined_batch_reads_back(conn):
    """record_day as the ingest batch runs it: a month's readings partition made on demand
    (PostgreSQL), the day, its readings and its rows, then a second version replacing it."""
    keys.add(conn, "pipe-1")
    first = parse(make_day("pipe-1", "2026-03-04"))
    second = parse(make_day("pipe-1", "2026-03-04", bump=1))
    with db.transaction(conn), db.pipelined(conn):
        got = store.record_day(conn, first, store.Delivery("f1", "a" * 64, "x.json", 1, "drop",
                                                          1.0), "archive/x", 10.0)
        again = store.record_day(conn, second, store.Delivery("f2", "b" * 64, "y.json", 1,
                                                             "drop", 2.0), "archive/y", 11.0)
    assert (got.outcome, again.outcome) == ("stored", "replaced")
    day = conn.execute("SELECT file_id, versions FROM days WHERE serial = 'pipe-1'").fetchone()
    assert (day["file_id"], day["versions"]) == ("f2", 2)
    channels = conn.execute("SELECT channel FROM readings WHERE serial = 'pipe-1' "
                            "ORDER BY channel").fetchall()
    assert [r["channel"] for r in channels] == sorted(second.values)
    meter = conn.execute("SELECT days_stored, files_archived FROM meters "
                         "WHERE serial = 'pipe-1'").fetchone()
    assert (meter["days_stored"], meter["files_archived"]) == (1, 2)
