"""Tempest's store: SQLite (the embedded default) or PostgreSQL (a `postgresql://` URL in
TEMPEST_DATABASE_URL: tempest/db/pg.py, whose connections speak the same statements).

Each thread of work owns its connection: web requests borrow one from a small pool for the
length of a request; the ingest worker opens its own and never shares it. Connections run in
autocommit mode, and writes use `transaction()` (BEGIN IMMEDIATE) so two writers queue on the
busy timeout instead of failing on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
from importlib import resources
from pathlib import Path

from flask import Flask, current_app, g

BUSY_TIMEOUT_MS = 30_000


def is_url(target: Path | str) -> bool:
    """A PostgreSQL URL rather than an SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def describe(target: Path | str) -> str:
    """The store's name for people: the SQLite file, or the URL without its password."""
    if not is_url(target):
        return str(target)
    from urllib.parse import urlsplit

    parts = urlsplit(str(target))
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def connect(path: Path | str, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open the store. synchronous=FULL makes each commit durable across power loss (SQLite;
    PostgreSQL commits are durable anyway)."""
    if is_url(path):
        from tempest.db import pg

        return pg.connect(path)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    if synchronous not in ("OFF", "NORMAL", "FULL"):
        raise ValueError(f"bad synchronous mode {synchronous!r}")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection):
    """One write transaction: commit on success, roll back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def pipelined(conn):
    """Inside a transaction: PostgreSQL gets the statements without waiting for each answer,
    only where a result is read and at the end (tempest/db/pg.py, Connection.pipeline); an
    error still fails the block before the transaction can commit. SQLite runs in this
    process, with no round trips to save: nothing changes."""
    pipeline = getattr(conn, "pipeline", None)
    if pipeline is None:
        yield conn
        return
    with pipeline():
        yield conn


def schema_sql() -> str:
    return resources.files("tempest").joinpath("schema.sql").read_text()


def init_db(path: Path | str) -> None:
    """Create the tables (idempotent)."""
    if is_url(path):
        from tempest.db import pg

        return pg.init_db(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        conn.executescript(schema_sql())
        add_columns(conn)
    finally:
        conn.close()


# Columns added to a table after stores were made: CREATE TABLE IF NOT EXISTS leaves an older
# table as it was, and SQLite has no ADD COLUMN IF NOT EXISTS (schema_pg.sql uses PostgreSQL's).
ADDED_COLUMNS = {"meters": (("route", "TEXT"), ("heartbeat_route", "TEXT"),
                            ("last_gasp_at", "REAL"))}


def add_columns(conn: sqlite3.Connection) -> None:
    """Give an older SQLite store the ADDED_COLUMNS it lacks (idempotent; two processes
    starting together may both try: the second finds the column there)."""
    for table, columns in ADDED_COLUMNS.items():
        have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns:
            if name in have:
                continue
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):
                    raise


def store_key(conn) -> str:
    """Which store a connection is on (a cache key): the SQLite file, or the PostgreSQL
    server and database."""
    if hasattr(conn, "url"):
        from tempest.db import pg

        return pg.store_key(conn)
    return conn.execute("PRAGMA database_list").fetchone()["file"]


def table_exists(conn, name: str) -> bool:
    if hasattr(conn, "url"):
        sql = ("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
               "AND table_name = ?")
    else:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, (name,)).fetchone() is not None


class Pool:
    """Idle connections kept for reuse; opening one per request costs more than the query."""

    def __init__(self, path: Path | str, size: int = 8):
        self.path = path
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue(maxsize=size)

    def get(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return connect(self.path)

    def put(self, conn: sqlite3.Connection) -> None:
        if getattr(conn, "broken", False):  # a PostgreSQL connection whose server went away
            conn.close()
            return
        if conn.in_transaction:  # a request died mid-write: never hand that on
            conn.execute("ROLLBACK")
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def get_db() -> sqlite3.Connection:
    """The request's connection (request-scoped: never hand it to another thread)."""
    if "db" not in g:
        g.db = current_app.extensions["tempest.pool"].get()
    return g.db


def _release(_exc=None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        current_app.extensions["tempest.pool"].put(conn)


def init_app(app: Flask, path: Path | str) -> None:
    app.extensions["tempest.pool"] = Pool(path)
    app.teardown_appcontext(_release)
