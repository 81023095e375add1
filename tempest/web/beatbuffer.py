"""Heartbeats written behind their answer: each web process commits what it took in one
transaction every TEMPEST_HEARTBEAT_FLUSH_SECONDS (0: every heartbeat in its own request).

At 100,000 per-meter meters heartbeats come at about 1,700 a second. Written one transaction
each, most of a heartbeat's own CPU is its commit, and every one queues for the store's one
write lock behind the ingest worker's batches, holding a gunicorn worker while it waits. With a
flush interval the request checks the key and every field at once (a refusal is answered as
before) and answers 200; a thread of the process writes the batch (the same UPDATE and INSERT
as registry.record, in arrival order) on a connection of its own.

What it costs: a heartbeat shows in the registry and the API up to the interval later, and a
crash (SIGKILL, power loss) loses what was taken and not yet written: at most the interval's
heartbeats, each repeated by its meter a minute later (a heartbeat is a "last seen"). A
graceful stop (SIGTERM, a worker's restart) writes them first. A store that cannot take the
batch (full disk, busy past the timeout) keeps it for the next flush, up to MAX_PENDING, and
logs what it had to drop.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading

from tempest import registry
from tempest.db import connect, transaction

log = logging.getLogger("tempest.web")

MAX_PENDING = 100_000  # about a minute of 100,000 meters' heartbeats in one process


class Buffer:
    def __init__(self, store, interval: float):
        self.store = store  # what tempest.db.connect opens: the SQLite file or the URL
        self.interval = interval
        self._pending: list[tuple] = []
        self._lock = threading.Lock()  # guards _pending
        self._writing = threading.Lock()  # one flush at a time
        self._pid: int | None = None  # the process whose thread flushes (gunicorn forks)
        self._conn = None
        self._stop = threading.Event()

    def add(self, serial: str, body: dict, fields: dict, now: float, via: str = "http") -> None:
        """Take a heartbeat registry.check() accepted; written within the interval."""
        with self._lock:
            self._pending.append((serial, body, fields, now, via))
            if self._pid != os.getpid():
                self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._conn = None  # a connection made before a fork is not this process's
        threading.Thread(target=self._run, name="heartbeat-flush", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> int:
        """Write what is pending now (the flush thread, a graceful exit, a test). Returns how
        many heartbeats were written."""
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                if self._conn is None:
                    self._conn = connect(self.store)
                with transaction(self._conn):
                    registry.write_many(self._conn, batch)
                return len(batch)
            except Exception as exc:
                self._conn = _closed(self._conn)
                with self._lock:
                    self._pending[:0] = batch
                    lost = max(0, len(self._pending) - MAX_PENDING)
                    del self._pending[:lost]
                log.error("could not write %d heartbeats (kept for the next try%s): %s",
                          len(batch), f"; {lost} oldest dropped" if lost else "", exc)
                return 0

    def close(self) -> None:
        """Write what is pending and stop the thread (a test's app, an orderly shutdown)."""
        self._stop.set()
        self.flush()
        self._conn = _closed(self._conn)


def _closed(conn) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):  # a broken connection is dropped either way
            conn.close()
    return None
