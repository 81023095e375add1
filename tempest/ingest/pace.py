"""How long the ingest worker waits for a batch to fill before storing it.

Each batch costs a store transaction (an fsync of the store's log) and its archive moves (two
fsyncs of folders) whatever its size, so files that arrive one by one, as a per-meter fleet's
uploads do after midnight (111 a second at 100,000 meters), cost the worker three to four
times as much CPU a file as the same files stored in batches (docs/scaling.md). Waiting a few
tens of milliseconds for more files when they stream in gathers them; a file that arrives
alone (a quiet fleet, a single upload, bench/bench_ingest_latency.py's one file at a time) is
stored at once, so drop-to-visible latency is not paid where it shows.
"""

from __future__ import annotations

from collections import deque

# Files a second over the last second above which files are "streaming in".
BUSY_FILES_PER_S = 40.0
_WINDOW_S = 1.0


class Pace:
    def __init__(self, gather_seconds: float, busy_files_per_s: float = BUSY_FILES_PER_S):
        self.gather_seconds = gather_seconds
        self.busy = busy_files_per_s
        self._taken: deque[tuple[float, int]] = deque()  # (when, files) of recent batches
        self._files = 0

    def taken(self, now: float, files: int) -> None:
        """A batch of `files` was taken at `now` (monotonic seconds)."""
        self._taken.append((now, files))
        self._files += files
        self._forget(now)

    def gather(self, now: float) -> float:
        """Seconds to wait for more files for the batch begun at `now`: 0 unless they are
        streaming in (more than `busy` a second over the last second)."""
        if self.gather_seconds <= 0:
            return 0.0
        self._forget(now)
        return self.gather_seconds if self._files / _WINDOW_S > self.busy else 0.0

    def _forget(self, now: float) -> None:
        """Drop the batches older than the window: only the last second counts."""
        while self._taken and self._taken[0][0] < now - _WINDOW_S:
            self._files -= self._taken.popleft()[1]
