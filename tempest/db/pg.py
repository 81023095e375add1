"""Tempest's store on PostgreSQL (TEMPEST_DATABASE_URL=postgresql://...), behind the same
connection interface as SQLite's, so the ~35 modules that run SQL keep their `?` statements.

`Connection` wraps a psycopg 3 connection and translates each statement once (cached):
`?` placeholders become `%s`; `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING` and
`INSERT OR REPLACE` an upsert on the table's primary key; `LIKE` is `ILIKE` (SQLite's LIKE
ignores ASCII case); `BEGIN IMMEDIATE` is BEGIN plus one transaction-scoped advisory lock, so
write transactions queue across every node exactly as SQLite's writers queue on its lock (the
read-modify-write code above relies on that). Rows answer by name and by position like
sqlite3.Row. Parameters are bound on the client (psycopg's ClientCursor): a `?` compared with
NULL or a column of another type behaves as in SQLite instead of failing on the server's type
inference.

Readings are partitioned by month (schema_pg.sql); the partition a row needs is created on
demand, inside the writing transaction, the first time this process writes that month.
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal
from importlib import resources

import psycopg
from psycopg import pq
from psycopg.adapt import Loader

# One lock for every write transaction of a store (BEGIN IMMEDIATE's equivalent).
WRITE_LOCK = 0x7E57E57
# The tables written with INSERT OR REPLACE, and the primary key the upsert conflicts on.
PRIMARY_KEYS = {
    "days": "serial, reading_day",
    "state": "key",
    "agent_addresses": "serial",
    "desired_config": "serial",
}


class _Number(Loader):
    """numeric (sum() and avg() of integers) as int or float, as SQLite answers, never
    Decimal (which JSON would write as a string)."""

    def load(self, data):
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


psycopg.adapters.register_loader("numeric", _Number)


class Row(tuple):
    """A result row: row[0], row["name"], keys(), dict(row), like sqlite3.Row."""

    __slots__ = ()
    names: tuple[str, ...] = ()
    index: dict[str, int] = {}

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self.index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


_row_classes: dict[tuple[str, ...], type] = {}


def _row_factory(cursor):
    names = tuple(c.name for c in cursor.description or ())
    cls = _row_classes.get(names)
    if cls is None:
        cls = _row_classes[names] = type("Row", (Row,), {
            "__slots__": (), "names": names, "index": {n: i for i, n in enumerate(names)}})
    return cls


# -- statements --------------------------------------------------------------------------------

_cache: dict[str, str] = {}
_STRINGS = re.compile(r"('(?:[^']|'')*'|\"[^\"]*\")")
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)


def _code(part: str) -> str:
    """Translate a stretch of SQL outside any quoted literal or name."""
    part = part.replace("%", "%%").replace("?", "%s")
    part = re.sub(r"\bLIKE\b", "ILIKE", part, flags=re.I)
    # SQLite's IS compares any two values; PostgreSQL's takes only NULL, TRUE or FALSE.
    part = re.sub(r"\bIS\s+NOT\s+%s", "IS DISTINCT FROM %s", part, flags=re.I)
    part = re.sub(r"\bIS\s+%s", "IS NOT DISTINCT FROM %s", part, flags=re.I)
    return re.sub(r"\bAS\s+REAL\b", "AS DOUBLE PRECISION", part, flags=re.I)


def _with_conflict(sql: str, clause: str) -> str:
    sql = sql.rstrip().rstrip(";")
    found = _RETURNING.search(sql)
    if found:
        return f"{sql[:found.start()]}{clause} {sql[found.start():]}"
    return f"{sql}{clause}"


def translate(sql: str) -> str:
    """The PostgreSQL form of one of Tempest's SQLite statements."""
    done = _cache.get(sql)
    if done is not None:
        return done
    out = sql
    if _OR_IGNORE.match(out):
        out = _with_conflict(_OR_IGNORE.sub("INSERT INTO", out, count=1), " ON CONFLICT DO NOTHING")
    else:
        found = _OR_REPLACE.match(out)
        if found:
            table, cols = found.group(1), [c.strip() for c in found.group(2).split(",")]
            key = PRIMARY_KEYS[table]
            keys = {k.strip() for k in key.split(",")}
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in keys)
            out = _with_conflict(re.sub(r"(?i)INSERT\s+OR\s+REPLACE", "INSERT", out, count=1),
                                 f" ON CONFLICT ({key}) DO UPDATE SET {sets}" if sets
                                 else f" ON CONFLICT ({key}) DO NOTHING")
    pieces = _STRINGS.split(out)
    # psycopg reads % everywhere in a statement, quoted or not (parameters are always passed).
    out = "".join(p.replace("%", "%%") if i % 2 else _code(p) for i, p in enumerate(pieces))
    _cache[sql] = out
    return out


_READINGS = re.compile(r"^\s*INSERT\s+INTO\s+readings\s*\(([^)]*)\)", re.I)


def partition_months(sql: str, rows) -> set[str]:
    """The months ("2026-03") an INSERT INTO readings writes; empty for any other statement."""
    found = _READINGS.match(sql)
    if not found:
        return set()
    cols = [c.strip() for c in found.group(1).split(",")]
    at = cols.index("reading_day")
    return {str(r[at])[:7] for r in rows}


def partition_ddl(month: str) -> str:
    """CREATE the readings partition for one month ("YYYY-MM"), if it is not there."""
    year, mon = int(month[:4]), int(month[5:7])
    end = f"{year + mon // 12:04d}-{mon % 12 + 1:02d}-01"
    return (f"CREATE TABLE IF NOT EXISTS readings_{year:04d}_{mon:02d} PARTITION OF readings "
            f"FOR VALUES FROM ('{month}-01') TO ('{end}')")


# fullmatch and [0-9]: the month goes into DDL text, so no "\n" and no other digits pass.
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


# -- connections -------------------------------------------------------------------------------

class Cursor:
    def __init__(self, owner: Connection, cur: psycopg.Cursor):
        self._owner = owner
        self._cur = cur
        self.row_factory = None  # accepted and ignored: rows index by position anyway

    def execute(self, sql: str, params=()) -> Cursor:
        self._owner._prepare(sql, [params] if params else [])
        self._cur.execute(translate(sql), tuple(params))
        return self

    def executemany(self, sql: str, seq) -> Cursor:
        rows = [tuple(p) for p in seq]
        self._owner._prepare(sql, rows)
        if rows:
            self._cur.executemany(translate(sql), rows)
        return self

    def _answered(self):
        """The statement's answer is here (in a pipeline: waited for now, with every answer
        queued before it); its description, None for a statement without rows."""
        pipe = self._owner._pipe
        if pipe is not None and self._cur.pgresult is None:
            pipe.sync()
        return self._cur.description

    def fetchone(self):
        return self._cur.fetchone() if self._answered() else None

    def fetchall(self) -> list:
        return self._cur.fetchall() if self._answered() else []

    def fetchmany(self, size: int = 1) -> list:
        return self._cur.fetchmany(size) if self._answered() else []

    def __iter__(self):
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        self._answered()
        return self._cur.rowcount

    @property
    def description(self):
        return self._answered()

    def close(self) -> None:
        self._cur.close()


class Connection:
    """A psycopg connection in autocommit mode that speaks Tempest's SQLite statements."""

    def __init__(self, url: str):
        self.url = url
        self._conn = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor,
                                     row_factory=_row_factory)
        self._months: set[str] = set()
        self._pipe: psycopg.Pipeline | None = None

    @contextlib.contextmanager
    def pipeline(self):
        """Send statements without waiting for each answer (psycopg's pipeline mode): a round
        trip only where a result is read (a SELECT's rows, a rowcount) and at the end of the
        block, instead of one a statement. Statements still run in order, so a read sees the
        writes queued before it. A failed statement fails the block at the next read or at
        its end, never later: the transaction around the block rolls back instead of
        committing past it (the ingest worker's batch, tempest/ingest/process.py)."""
        if self._pipe is not None:  # already in one: ride it
            yield self
            return
        with self._conn.pipeline() as pipe:
            self._pipe = pipe
            try:
                yield self
            finally:
                self._pipe = None

    def _prepare(self, sql: str, rows) -> None:
        for month in partition_months(sql, rows) - self._months:
            if not _MONTH.fullmatch(month):
                raise ValueError(f"bad reading day {month!r}")
            self._conn.execute(partition_ddl(month))
            self._months.add(month)

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    def execute(self, sql: str, params=()) -> Cursor:
        word = sql.strip().upper()
        if word == "BEGIN IMMEDIATE":
            self._conn.execute("BEGIN")
            self._conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            return self.cursor()
        if word == "ROLLBACK":  # a partition made in it is gone too
            self._months.clear()
        return self.cursor().execute(sql, params)

    def executemany(self, sql: str, seq) -> Cursor:
        return self.cursor().executemany(sql, seq)

    def executescript(self, script: str) -> None:
        """Run a PostgreSQL script (several statements, no parameters) as one transaction."""
        with self._conn.transaction():
            self._conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            self._conn.execute(script)

    @property
    def broken(self) -> bool:
        """Lost its server (a restart, a failover): never hand it to another request."""
        return self._conn.broken or self._conn.closed

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()


def connect(url: str) -> Connection:
    return Connection(url)


def init_db(url: str) -> None:
    """Create the tables (idempotent; nodes starting together queue on the write lock)."""
    conn = connect(url)
    try:
        conn.executescript(resources.files("tempest").joinpath("schema_pg.sql").read_text())
    finally:
        conn.close()


def store_key(conn: Connection) -> str:
    """Which store this is (a cache key), without the password."""
    info = conn._conn.info
    return f"postgresql://{info.host}:{info.port}/{info.dbname}"
