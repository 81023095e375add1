"""The sink service: registers the configured sinks in the store and runs one worker thread
per sink. Started beside the ingest worker (`tempest serve`, `tempest ingest --watch`).

Only one may run per data dir (an flock on `<data-dir>/sinks.lock`, released by the kernel even
after `kill -9`): two would send the same items twice. A second one logs that and stays idle
rather than stopping the ingest worker it was started beside.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading

from tempest.settings import layout as layout_of
from tempest.sinks import registry
from tempest.sinks.worker import Policy, SinkWorker

log = logging.getLogger("tempest.sinks")


class SinkService:
    def __init__(self, config):
        self.config = config
        self.layout = layout_of(config)
        self.policy = Policy.from_config(config)
        self.workers: list[SinkWorker] = []
        self._stop = threading.Event()
        self._lock_fd: int | None = None

    def _acquire(self) -> bool:
        fd = os.open(self.layout.data_dir / "sinks.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    def start(self) -> None:
        """Register the sinks and start their workers (nothing to do when none is set)."""
        self.layout.ensure()
        specs = registry.sync_path(self.layout.database, self.config)
        if not specs:
            return
        if not self._acquire():
            log.error("another sink worker runs on %s; this process delivers nothing",
                      self.layout.data_dir)
            return
        for spec in specs:
            worker = SinkWorker(registry.build(self.config, spec.name), self.layout.database,
                                self.policy, self._stop)
            worker.start()
            self.workers.append(worker)
            log.info("sink %s delivering to %s", spec.name, spec.target)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for worker in self.workers:
            worker.join(timeout)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def alive(self) -> dict[str, bool]:
        return {w.name: w.alive() for w in self.workers}
