"""The ingest worker: one thread that owns its connection, a queue fed by watchdog, and scans.

Only one worker may run per data dir (an flock on `<data-dir>/ingest.lock`, released by the
kernel even after `kill -9`): two would race to move the same files.
"""

from __future__ import annotations

import fcntl
import json
import logging
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tempest import db
from tempest.ingest import dropbox, scope, verdict
from tempest.ingest.pace import Pace
from tempest.ingest.process import Item, Processor
from tempest.ingest.watcher import Watch
from tempest.settings import layout as layout_of

log = logging.getLogger("tempest.ingest")

STATE_EVERY_SECONDS = 5.0
PRUNE_EVERY_SECONDS = 600.0


def _exit_with_parent(parent: int) -> None:
    """In a parse process: leave as soon as the ingest worker's process is gone."""

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class IngestBusy(RuntimeError):
    """Another ingest worker already runs on this data dir."""


class IngestService:
    def __init__(self, config):
        self.config = config
        self.layout = layout_of(config)
        self.queue: queue.Queue[tuple[Path, str | None]] = queue.Queue()
        # Paths waiting in the queue, so a scan does not queue a backlog twice. (set.add and
        # set.discard are atomic under the GIL; the handler thread and the worker share it.)
        self._pending: set[Path] = set()
        self.watch = Watch(self.layout.drop, self._offer)
        self.batch = max(1, int(config["INGEST_BATCH"]))
        self.pace = Pace(float(config["INGEST_GATHER_SECONDS"]))
        self.rescan_seconds = float(config["RESCAN_SECONDS"])
        self.settle_seconds = float(config["SETTLE_SECONDS"])
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once the start-up scan has queued the backlog
        self._thread: threading.Thread | None = None
        self._lock_fd: int | None = None
        self.processed = 0
        self.error: str | None = None

    # -- the lock ------------------------------------------------------------------------
    def _acquire(self) -> None:
        self.layout.ensure()
        fd = os.open(self.layout.data_dir / "ingest.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise IngestBusy(f"another ingest worker runs on {self.layout.data_dir}") from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- feeding ---------------------------------------------------------------------------
    def _offer(self, path: Path, hint: str | None) -> None:
        self._pending.add(path)
        self.queue.put((path, hint))

    def _drain(self, timeout: float) -> list[tuple[Path, str | None]]:
        try:
            first = self.queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return []
        items = [first]
        # While files stream in, wait a moment for more: a batch costs its fsyncs whatever
        # its size (tempest/ingest/pace.py). A file that comes alone is taken at once.
        now = time.monotonic()
        until = now + self.pace.gather(now)
        while len(items) < self.batch and items[-1][0] is not None:
            left = until - time.monotonic()
            try:
                items.append(self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait())
            except queue.Empty:
                break
        self.pace.taken(time.monotonic(), len(items))
        for path, _ in items:
            self._pending.discard(path)
        return [item for item in items if item[0] is not None]

    def _scan(self, settle: float) -> float | None:
        found = scope.scan(self.layout.drop, settle)
        for path in found.ready:
            if path not in self._pending:
                self._offer(path, None)
        return found.settle_at

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching and ingesting in a background thread."""
        self._acquire()
        db.init_db(self.layout.database)
        self.watch.start()
        self._thread = threading.Thread(target=self._run, name="tempest-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.queue.put((None, None))  # wake the worker now rather than at its next poll
        if self._thread is not None:
            self._thread.join(timeout)
        self.watch.stop()
        self._release()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _pool(self):
        """Processes to parse in, when INGEST_PROCESSES > 1 (spawned, not forked: this
        process has threads). Each watches its parent and exits when it is gone, since a
        pool's children outlive a `kill -9` of their parent otherwise."""
        n = int(self.config["INGEST_PROCESSES"])
        if n <= 1:
            return None
        return ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_exit_with_parent, initargs=(os.getpid(),))

    def _processor(self, conn, background_moves: bool = False) -> Processor:
        return Processor(conn, self.layout, self.config, pool=self._pool(),
                         on_broken_pool=self._pool, background_moves=background_moves)

    def _run(self) -> None:
        conn = db.connect(self.layout.database, synchronous="FULL")
        processor = self._processor(conn, background_moves=True)
        dropbox.clean_temp(self.layout.drop)
        dropbox.clean_temp(self.layout.quarantine)
        next_scan = 0.0
        next_state = next_prune = 0.0
        try:
            while not self._stop.is_set():
                now = time.time()
                if self.watch.ensure():
                    next_scan = now  # events may have been lost while it was down
                if now >= next_scan:
                    settle_at = self._scan(self.settle_seconds)
                    self.ready.set()
                    next_scan = now + self.rescan_seconds
                    if settle_at is not None:
                        next_scan = min(next_scan, settle_at + 0.05)
                batch = self._drain(min(0.5, max(0.0, next_scan - time.time())))
                if batch:
                    self._process(processor, batch)
                now = time.time()
                if now >= next_state:
                    self._publish(conn, now)
                    next_state = now + STATE_EVERY_SECONDS
                if now >= next_prune:
                    self._prune(conn, now)
                    next_prune = now + PRUNE_EVERY_SECONDS
        except Exception as exc:  # the thread must not die silently: record and re-raise
            self.error = repr(exc)
            log.exception("the ingest worker stopped on an error")
            raise
        finally:
            processor.close()
            if processor.pool is not None:
                processor.pool.shutdown(wait=True, cancel_futures=True)
            self._publish(conn, time.time(), stopped=True)
            conn.close()

    def _process(self, processor: Processor, batch) -> list[Item]:
        try:
            done = processor.process(batch)
        except Exception:
            # A store error (disk full, locked too long): leave the files in the drop folder,
            # where the next scan finds them again.
            log.exception("ingest batch failed; its files stay in the drop folder")
            time.sleep(1.0)
            return []
        self.processed += len(done)
        return done

    def _publish(self, conn, now: float, stopped: bool = False) -> None:
        state = {"pid": os.getpid(), "at": now, "stopped": stopped, "processed": self.processed,
                 "observer_alive": self.watch.alive(), "observer_restarts": self.watch.restarts,
                 "queued": self.queue.qsize()}
        try:
            with db.transaction(conn):
                conn.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('ingest', ?)",
                             (json.dumps(state),))
        except Exception:
            log.exception("could not publish the ingest state")

    def _prune(self, conn, now: float) -> None:
        keep = float(self.config["HEARTBEAT_RETENTION_DAYS"]) * 86400
        try:
            with db.transaction(conn):
                conn.execute("DELETE FROM heartbeats WHERE received_at < ?", (now - keep,))
                verdict.sweep(conn, self.layout.data_dir, now)
        except Exception:
            log.exception("could not prune old heartbeats and verdicts")

    # -- one-shot use (the `tempest ingest` command) ----------------------------------------
    def run_once(self, extra: list[Path] = (), progress=None) -> list[Item]:
        """Ingest what is in the drop folder now (and `extra`, already placed there)."""
        self._acquire()
        try:
            db.init_db(self.layout.database)
            conn = db.connect(self.layout.database, synchronous="FULL")
            processor = self._processor(conn)
            try:
                paths = list(dict.fromkeys([*extra, *scope.scan(
                    self.layout.drop, self.settle_seconds).ready]))
                done: list[Item] = []
                for i in range(0, len(paths), self.batch):
                    chunk = [(p, None) for p in paths[i:i + self.batch]]
                    done.extend(processor.process(chunk))
                    if progress is not None:
                        progress(len(chunk))
                self._publish(conn, time.time(), stopped=True)
                return done
            finally:
                processor.close()
                if processor.pool is not None:
                    processor.pool.shutdown(wait=True, cancel_futures=True)
                conn.close()
        finally:
            self._release()
