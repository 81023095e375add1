"""One progress bar for every long command (meter backfill, redial; tempest ingest, export,
meters add): counts, rate and an estimate of the time left, redrawn at most a few times a
second on stderr, and a one-line summary at the end.

It shows only on a terminal: piped into a file or a CI log, or with `--quiet`, it writes
nothing at all (a command's result is its stdout; the bar is for a person watching). Stdlib
only, so the meter and Tempest share it without either importing the other.

    with Progress(total, "backfill", unit="days", quiet=quiet) as bar:
        for ...:
            bar.update(1)
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24
REDRAW_S = 0.2


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    def __init__(self, total: int | None, label: str, *, unit: str = "", quiet: bool = False,
                 stream: TextIO | None = None, clock=time.monotonic, tty: bool | None = None):
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        is_tty = self.stream.isatty() if tty is None else tty
        self.visible = is_tty and not quiet
        self.clock = clock
        self.done = 0
        self.started = clock()
        self._drawn_at: float | None = None

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish(failed=exc_type is not None)

    def update(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def line(self) -> str:
        """The bar as it stands: `label [#####.....] 120/400 days  35/s  about 8 s left`."""
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            filled = min(WIDTH, WIDTH * self.done // self.total)
            bar = "[" + "#" * filled + "." * (WIDTH - filled) + "]"
            text = f"{self.label} {bar} {self.done}/{self.total}{unit}"
            if self.done and self.done < self.total:
                text += f"  {rate:.0f}/s  about {_duration((self.total - self.done) / rate)} left"
            return text
        return f"{self.label} {self.done}{unit}" + (f"  {rate:.0f}/s" if self.done else "")

    def summary(self, failed: bool = False) -> str:
        elapsed = self.clock() - self.started
        unit = f" {self.unit}" if self.unit else ""
        of = f"/{self.total}" if self.total is not None and self.total != self.done else ""
        state = "stopped after" if failed else "done:"
        return f"{self.label} {state} {self.done}{of}{unit} in {_duration(elapsed)}"

    def finish(self, failed: bool = False) -> None:
        if not self.visible:
            return
        self.stream.write("\r\x1b[K" + self.summary(failed) + "\n")
        self.stream.flush()
        self.visible = False  # finished: later calls draw nothing

    def _draw(self, force: bool = False) -> None:
        if not self.visible:
            return
        now = self.clock()
        if not force and self._drawn_at is not None and now - self._drawn_at < REDRAW_S:
            return
        self._drawn_at = now
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
