"""What the `meter` commands do for one meter: tick, backfill, truth, redial's regeneration."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
from pathlib import Path

from core import civil
from core.durable import write_atomic
from loadmodel.engine import MeterModel
from loadmodel.ticker import Ticker
from meter import daybuild, registers
from meter.config import Config
from meter.conformance import meter_quirks
from meter.storage import DiskFS
from meter.vector.engine import VectorMeter

log = logging.getLogger("meter")


class DayNotOver(ValueError):
    pass


class Busy(RuntimeError):
    """Another `meter` process is working on this meter's folder (a slow tick overlapping the
    next cron run): this one leaves it alone."""


@contextlib.contextmanager
def exclusive(root: Path):
    """Hold the meter folder's lock; clear temporary files a killed writer left behind."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Busy(f"{root} is busy with another meter process") from exc
        for tmp in root.glob("**/.*.tmp"):
            if not _writer_alive(tmp.name):
                tmp.unlink(missing_ok=True)
        yield


def _writer_alive(name: str) -> bool:
    """Temporary files are named .<target>.<pid>.<thread>.tmp (core.durable): is that pid
    running?"""
    try:
        pid = int(name.rsplit(".", 3)[-3])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def ticker(cfg: Config, root: Path, fs: DiskFS | None = None) -> Ticker:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)

    def initial(day: int) -> list[int]:
        return registers.opening(cfg, max(day, cfg.model["commissioned_day"]), root)

    return ticker_class(cfg)(MeterModel(cfg.model), cfg.model, fs or DiskFS(), str(root),
                             initial, buffer_rows=True)


def ticker_class(cfg: Config):
    """The Ticker, or for a meter with quirks one that sends its sealed days as they make
    them (meter/conformance/meter_quirks.py)."""
    mq = meter_quirks.MeterQuirks.of(cfg)
    return Ticker if mq is None else functools.partial(meter_quirks.QuirkyTicker, quirks=mq)


def tick(cfg: Config, root: Path, now: int, fs: DiskFS | None = None) -> dict:
    """`fs`: a DiskFS of the caller's (meter/demo.py's sees each interval as it is written)."""
    with exclusive(root):
        return _tick(cfg, root, now, fs)


def _tick(cfg: Config, root: Path, now: int, fs: DiskFS | None = None) -> dict:
    t = ticker(cfg, root, fs)
    _catch_up(cfg, root, t, now)
    summary = t.tick(now)
    if summary["sealed"] or summary["skipped_outage"] or summary["released"]:
        log.info("%s: sealed %s, outage %s, released %s", cfg.serial, summary["sealed"],
                 summary["skipped_outage"], summary["released"])
    return summary


def _catch_up(cfg: Config, root: Path, t: Ticker, now: int) -> None:
    """After a long downtime, write the whole missed days with the vectorised engine (the
    per-tick engine would give the same bytes, only slower)."""
    if t.open_journal() is not None:
        return
    st = t.load_state()
    if st is None:
        return
    day, regs = st
    model = t.model
    today = model.zone.reading_day_of_end((now // t.n) * t.n)
    if today - day < 2:
        return
    _backfill(cfg, root, day, today - 1, now, opening=regs)


def backfill(cfg: Config, root: Path, first: int, last: int, now: int,
             opening: list[int] | None = None, progress=None, force: bool = False) -> dict:
    """Sealed files for days first..last into the outbox. Days already sent are skipped
    unless `force`; days not over yet are refused."""
    with exclusive(root):
        return _backfill(cfg, root, first, last, now, opening, progress, force)


def _backfill(cfg: Config, root: Path, first: int, last: int, now: int,
              opening: list[int] | None = None, progress=None, force: bool = False) -> dict:
    root = Path(root)
    t = ticker(cfg, root)
    model = t.model
    start_next, _ = model.day_grid(last + 1)
    if start_next > now:
        raise DayNotOver(f"{civil.format_day(last)} is not over yet at this meter's clock")
    vm = VectorMeter(cfg.model)
    if opening is None:
        opening = registers.opening(cfg, first, root, vm)
    written, skipped, outage = [], [], []
    closing = opening
    for built in daybuild.build_days(cfg, first, last, opening, vm):
        closing = built.closing
        if built.text is None:
            outage.append(civil.format_day(built.day))
        else:
            day_start, count = model.day_grid(built.day)
            data = built.text.encode()
            # Not fsynced one by one: a single sync below makes the whole batch durable before
            # the state moves on (a crash before it just means this backfill runs again).
            placed = t.place_sealed(built.day, day_start + count * t.n,
                                    lambda target, data=data: write_atomic(target, data, durable=False),
                                    force)
            (written if placed else skipped).append(civil.format_day(built.day))
        if progress:
            progress(1)
    os.sync()
    registers.remember(cfg, root, last + 1, closing)
    _advance_state(t, root, last, closing)
    return {"written": written, "skipped_sent": skipped, "outage": outage}


def _advance_state(t: Ticker, root: Path, last: int, closing: list[int]) -> None:
    """Let the tick carry on after a backfill instead of writing those days again."""
    od = t.open_journal()
    if od is not None and od.day > last:
        return
    st = t.load_state()
    if st is not None and st[0] > last + 1:
        return
    if od is not None:
        for suffix in (".journal", ".json"):
            p = root / "data" / (civil.format_day(od.day) + suffix)
            if p.exists():
                os.remove(p)
    t.save_state(last + 1, closing)


def truth(cfg: Config, day: int) -> dict:
    doc = daybuild.truth(cfg, day)
    mq = meter_quirks.MeterQuirks.of(cfg)
    return doc if mq is None else meter_quirks.add_to_truth(doc, mq, cfg.model)
