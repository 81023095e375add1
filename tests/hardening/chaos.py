"""The operator's worst week, as a thread: Tempest killed with SIGKILL at random moments and
started again on the same address, for as long as the meters run and at least `min_kills`
times. A start that fails is retried until it works."""

from __future__ import annotations

import random
import threading
import time

from tests.support.tempest import Tempest


class Killer(threading.Thread):
    def __init__(self, tempest: Tempest, rnd: random.Random, min_kills: int,
                 up_for: tuple[float, float] = (0.3, 1.5)):
        super().__init__(name="tempest-killer", daemon=True)
        self.tempest = tempest
        self.rnd = rnd
        self.min_kills = min_kills
        self.up_for = up_for
        self.kills = 0
        self.failed_starts = 0
        self.meters_done = threading.Event()
        self.paused = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not (self.meters_done.is_set() and self.kills >= self.min_kills):
                time.sleep(self.rnd.uniform(*self.up_for))
                if self.paused.is_set():
                    continue
                self.tempest.kill9()
                self.kills += 1
                self._restart()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _restart(self) -> None:
        deadline = time.monotonic() + 180
        while True:
            try:
                # Answering is enough: on a full disk the worker may not manage to report.
                self.tempest.start(timeout=30, wait_ingest=False)
                return
            except RuntimeError:
                self.tempest.kill9()
                self.failed_starts += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
