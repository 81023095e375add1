"""A real PostgreSQL for tests: Debian's server binaries, a cluster in a temporary folder, run
as an unprivileged user (`postgres` when the tests run as root), on a loopback address of its
own, stopped by its PID.

    server = Postgres().start()           # initdb + pg_ctl start; a schema-loaded template
    url = server.fresh_database()         # CREATE DATABASE ... TEMPLATE: ~0.1 s, not a schema load
    server.drop(url); server.stop()       # stop: SIGINT (fast shutdown) to the postmaster's PID

`METERS_TEST_STORE=postgresql` runs tests/tempest on it (tests/tempest/conftest.py): one server
per test session, a fresh database per test.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from tests.support import ci_guard
from tests.support.addresses import free_address
from tests.support.processes import alive, stop_pids

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "tempest"  # the cluster's superuser (initdb -U)
STORE_ENV = "METERS_TEST_STORE"


def wanted() -> str:
    """The store tests/tempest runs on: sqlite (default) or postgresql."""
    store = os.environ.get(STORE_ENV, "sqlite").strip().lower() or "sqlite"
    if store not in ("sqlite", "postgresql"):
        raise ValueError(f"{STORE_ENV} must be sqlite or postgresql, not {store!r}")
    return store


class Postgres:
    def __init__(self, bin_dir: Path = BIN, *, durable: bool = False):
        self.bin = bin_dir
        # durable=True: fsync, synchronous commits and full-page writes on, as a production
        # server runs (bench/bench_ingest_throughput.py --store postgresql measures with it).
        self.durable = durable
        self.dir: Path | None = None
        self.host, self.port = free_address()
        self.pid: int | None = None
        self._names = itertools.count(1)
        self._lock = threading.Lock()
        self._background = ThreadPoolExecutor(1)  # one at a time: copies queue anyway
        self._ahead: Future | None = None

    def _as_owner(self) -> list[str]:
        # initdb and the server refuse to run as root.
        return ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    def start(self) -> Postgres:
        ci_guard.require_binary(str(self.bin / "initdb"), str(self.bin / "pg_ctl"),
                                why="Debian's postgresql package (scripts/setup.sh --test)")
        if os.getuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                ci_guard.skip_missing("the postgres user", "Debian's postgresql package makes it")
        self.dir = Path(tempfile.mkdtemp(prefix="meters-pg-"))
        if os.getuid() == 0:
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        data = self.dir / "data"
        run = self._as_owner()
        subprocess.run([*run, str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", USER,
                        "--no-locale", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, cwd=self.dir)
        # Durability off for tests: a test database dies with the test session anyway.
        relaxed = ("" if self.durable else
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off ")
        options = (f"-k {self.dir} -p {self.port} -c listen_addresses={self.host} {relaxed}"
                   "-c max_connections=200")
        subprocess.run([*run, str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                        "-t", "60", "-l", str(self.dir / "server.log"), "start"],
                       check=True, capture_output=True, cwd=self.dir)
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        from tempest.db import pg

        self._admin("CREATE DATABASE tempest_template")
        pg.init_db(self.url("tempest_template"))
        return self

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@{self.host}:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def _create(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE tempest_template")
        return self.url(name)

    def fresh_database(self) -> str:
        """A new database with Tempest's tables, copied from the template. The next one is
        made in the background while this one is used (a copy takes ~0.5 s: a test's worth)."""
        with self._lock:
            ahead, self._ahead = self._ahead, None
        url = ahead.result() if ahead is not None else self._create()
        with self._lock:
            self._ahead = self._background.submit(self._create)
        return url

    def drop(self, url: str) -> None:
        """Drop a test's database, in the background (nothing waits for it)."""
        name = url.rsplit("/", 1)[1]

        def drop() -> None:
            with contextlib.suppress(Exception):  # a server already gone drops it anyway
                self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        self._background.submit(drop)

    def stop(self, timeout: float = 20.0) -> None:
        self._background.shutdown(wait=True, cancel_futures=True)
        if self.pid is not None and alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)  # fast shutdown: clients are cut off
            deadline = time.monotonic() + timeout
            while alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            stop_pids([self.pid])
        self.pid = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
