"""core/progress.py, the bar every long command shows: counts, rate and time left on a
terminal, one summary line at the end, and nothing at all when stderr is not a terminal or
with --quiet. The commands' own runs: `tempest meters add` for many serials under a real pty."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from core.progress import Progress
from tests.support import REPO


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_bar_counts_estimates_and_ends_in_one_summary_line():
    out, clock = io.StringIO(), Clock()
    with Progress(400, "backfill", unit="days", stream=out, clock=clock, tty=True) as bar:
        clock.t += 4
        bar.update(100)  # 25/s: 300 left is about 12 s
        assert bar.line() == ("backfill [######..................] 100/400 days  25/s  "
                              "about 12 s left")
        clock.t += 12
        bar.update(300)
    text = out.getvalue()
    assert "about 12 s left" in text
    assert text.endswith("\r\x1b[Kbackfill done: 400 days in 16 s\n")
    assert text.count("\n") == 1


def test_an_unknown_total_counts_and_a_failure_says_where_it_stopped():
    out, clock = io.StringIO(), Clock()
    try:
        with Progress(None, "export", unit="bytes", stream=out, clock=clock, tty=True) as bar:
            clock.t += 2
            bar.update(5000)
            assert bar.line() == "export 5000 bytes  2500/s"
            raise RuntimeError("disk full")
    except RuntimeError:
        pass
    assert out.getvalue().endswith("export stopped after 5000 bytes in 2 s\n")


def test_nothing_is_written_off_a_terminal_or_when_quiet():
    for kwargs in ({"tty": False}, {"tty": True, "quiet": True}):
        out = io.StringIO()
        with Progress(10, "ingest", stream=out, **kwargs) as bar:
            bar.update(10)
        assert out.getvalue() == "" and not bar.visible


def _meters_add(tmp_path, *extra: str, tty: bool) -> tuple[str, str]:
    """`tempest meters add` for 300 serials; (stdout, stderr), stderr a pty when `tty`."""
    serials = [f"bulk-{i:04d}" for i in range(300)]
    cmd = [sys.executable, "-m", "tempest", "meters", "add", "--data-dir", str(tmp_path / "d"),
           *extra, *serials]
    if not tty:
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
        assert res.returncode == 0, res.stderr
        return res.stdout, res.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, cwd=REPO, text=True)
        os.close(slave)
        stdout, _ = proc.communicate(timeout=120)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the pty's other side has closed: all read
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    assert proc.returncode == 0
    return stdout, b"".join(chunks).decode(errors="replace")


def test_meters_add_shows_a_bar_on_a_terminal_and_lines_off_it(tmp_path):
    stdout, stderr = _meters_add(tmp_path, tty=True)
    assert len(stdout.splitlines()) == 300  # the keys: the result, untouched by the bar
    assert "meters add [" in stderr and "meters add done: 300/300 meters" not in stderr
    assert "meters add done: 300 meters in" in stderr
    assert "bulk-0299" not in stderr  # no line per serial under the bar
    _, plain = _meters_add(tmp_path / "again", tty=False)
    assert "meters add" not in plain and plain.count("\n") == 300  # a line per serial, as before
    _, quiet = _meters_add(tmp_path / "quiet", "--quiet", tty=True)
    assert "meters add" not in quiet
