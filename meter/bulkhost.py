"""A bulk host's meters in one ledger: 100,000 meters on one host (docs/scaling.md).

`meter tick --count N --ledger` (and `meter run ... --ledger`) keeps what a bulk host's meters
remember in one file, `bulk-ledger.json` in the data folder, instead of a journal, an open day
file and a state file per meter:

- `done`: the UTC minute up to which every meter has recorded its intervals. The readings are
  a pure function of each meter's config and time (docs/load-model.md), so the intervals up to
  `done` are recorded exactly as a per-meter journal would hold them, and a tick that records
  the next five minutes of 100,000 meters is one durable write of the ledger.
- per meter, the day it has open and its registers at that day's start (`null` until its
  first day is sealed: then it is `meter.registers.opening` of a meter with no memory, an
  estimated start read, never its simulated history).

When a day is over, each meter's sealed day file is built by the vectorised engine
(meter/daybuild.py: byte for byte what the per-meter tick, a backfill and a redial write) and
placed in its own folder's outbox/ (or held/, by its delivery faults), so delivery is
unchanged. Sealing runs in worker processes, a time budget's worth per cycle, oldest days
first; the files are synced to disk before the ledger moves on, so a crash at any moment
loses nothing: the next tick writes the same bytes again. Days not over yet have no open day
file on a ledger host (delivery sends sealed days; `meter redial` regenerates any day).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

from core import tz
from core.durable import write_atomic
from loadmodel.engine import MeterModel
from loadmodel.ticker import Ticker
from meter import bulk, config, daybuild, operations, registers
from meter.config import Config, ConfigError
from meter.operations import Busy
from meter.storage import DiskFS
from meter.vector.engine import VectorMeter

LEDGER = "bulk-ledger.json"
CHUNK = 25  # meters per unit of work handed to a worker (small: a cycle overshoots its
# budget by at most the chunks in flight)

_HOST: BulkHost | None = None  # the host a forked worker seals for


class BulkHost:
    def __init__(self, base: Config, count: int, mix: bool, config_dir: Path, data_dir: Path,
                 workers: int | None = None):
        self.base_cfg = base
        self.base, self.keys = bulk.prepare(base.raw, config_dir)
        self.count = count
        self.mix = mix
        self.config_dir = Path(config_dir)
        self.data_dir = Path(data_dir)
        self.workers = max(1, workers or os.cpu_count() or 1)
        # Every derived meter shares the base's zone and interval (bulk.derive changes only
        # serial, seed and archetype), so one model gives the day grid of all of them.
        self.grid = MeterModel(base.model)
        self.n = base.model["interval"]
        if self.keys is not None:
            missing = [s for s in (self.serial(i) for i in range(1, count + 1))
                       if s not in self.keys]
            if missing:
                raise ConfigError("tempest_api_keys_file", f"no key for {missing[0]}")
        self.config_of(1)  # a bad derived config is refused before anything is written
        self.ledger: dict | None = None
        self.last_sealed: list[int] = []  # the meters the last tick sealed days of
        held_faults = base.model["faults"]
        # Late and duplicate deliveries, and a meter's quirks, hold copies back in held/.
        self.may_hold = bool(held_faults["late_p32"] or held_faults["duplicate_p32"]
                             or base.raw.get("quirks"))

    # -- the meters -------------------------------------------------------------------------

    def serial(self, i: int) -> str:
        return f"{self.base['serial']}-{i:04d}"

    def root(self, i: int) -> Path:
        return self.data_dir / self.serial(i)

    def config_of(self, i: int) -> Config:
        """Meter i's config (1-based), derived as `--count` derives it."""
        return config.from_dict(bulk.derive_keyed(self.base, self.keys, i, self.mix),
                                self.config_dir)

    # -- the ledger -------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.data_dir / LEDGER

    def load(self, limit: int) -> dict:
        if self.ledger is not None:
            return self.ledger
        try:
            led = json.loads(self.path.read_text())
        except FileNotFoundError:
            led = None
        except ValueError as exc:
            raise ConfigError(str(self.path), f"unreadable ledger: {exc}") from exc
        if led is None:
            day = self.grid.zone.reading_day_of_end(limit)
            led = {"format": 1, "done": limit, "day": [], "registers": []}
            led["first_day"] = day
        first_day = led.get("first_day", min(led["day"], default=0))
        # Meters added to the count start on the ledger's current day; a meter whose folder
        # already carries per-meter state (a host that ran without --ledger) carries on from it.
        for i in range(len(led["day"]) + 1, self.count + 1):
            state = _state(self.root(i))
            if state is not None:
                led["day"].append(state[0])
                led["registers"].append(state[1])
            else:
                led["day"].append(max(first_day, self.grid.zone.reading_day_of_end(limit)))
                led["registers"].append(None)
        self.ledger = led
        return led

    def save(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(self.ledger, separators=(",", ":")).encode())

    # -- the tick ---------------------------------------------------------------------------

    def last_over(self, done: int) -> int:
        """The last local day whose every interval has ended by `done`."""
        d = self.grid.zone.reading_day_of_end(done)
        return d if self.grid.zone.day_start(d + 1) <= done else d - 1

    def tick(self, now: int, budget_s: float | None = None) -> dict:
        """Record every meter's intervals up to UTC minute `now`, release held days that are
        due, and seal the days that are over (within `budget_s` seconds of work, if given).
        Busy when another process is ticking this host (a cron run overlapping a long one)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".bulk-ledger.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise Busy(f"{self.data_dir} is busy with another ledger tick") from exc
            return self._tick(now, budget_s)

    def _tick(self, now: int, budget_s: float | None) -> dict:
        t0 = time.monotonic()
        limit = (now // self.n) * self.n
        led = self.load(limit)
        led["done"] = max(led["done"], limit)
        released = self.release_held(now) if self.may_hold else 0
        last = self.last_over(led["done"])
        due = [i for i in range(1, self.count + 1) if led["day"][i - 1] <= last]
        due.sort(key=lambda i: led["day"][i - 1])  # oldest days first
        results = self._seal(due, last, None if budget_s is None else t0 + budget_s)
        if results:
            os.sync()  # every file placed is on disk before the ledger says so
        sealed = 0
        self.last_sealed = [r[0] for r in results]
        for i, day, regs, files in results:
            led["day"][i - 1] = day
            led["registers"][i - 1] = regs
            sealed += files
        self.save()
        left = sum(1 for d in led["day"][:self.count] if d <= last)
        return {"meters": self.count, "recorded_to": tz.label(self.grid.zone, led["done"]),
                "days_sealed": sealed, "meters_sealed": len(results), "meters_due": left,
                "released": released, "seconds": round(time.monotonic() - t0, 3)}

    def _seal(self, due: list[int], last: int, deadline: float | None) -> list:
        led = self.ledger
        work = [[(i, led["day"][i - 1], led["registers"][i - 1]) for i in due[k:k + CHUNK]]
                for k in range(0, len(due), CHUNK)]
        results: list = []
        if not work:
            return results
        if self.workers == 1 or len(work) == 1:
            for chunk in work:
                if deadline is not None and time.monotonic() >= deadline and results:
                    break
                results.extend(seal_chunk(self, chunk, last))
            return results
        global _HOST
        _HOST = self
        try:
            with ProcessPoolExecutor(self.workers, mp_context=get_context("fork")) as pool:
                todo = iter(work)
                pending: set = set()
                started = False
                while True:
                    # Hand out work while there is time; the first chunks always go, so every
                    # cycle makes progress.
                    while len(pending) < 2 * self.workers and (
                            not started or deadline is None or time.monotonic() < deadline):
                        chunk = next(todo, None)
                        if chunk is None:
                            break
                        pending.add(pool.submit(_seal_in_worker, chunk, last))
                        if len(pending) == self.workers:
                            started = True
                    if not pending:
                        break
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        results.extend(f.result())
                    started = True
        finally:
            _HOST = None
        return results

    def release_held(self, now: int) -> int:
        """Days held back by the late and duplicate delivery faults go to the outbox when due
        (the Ticker's own rule, on each meter's held/)."""
        released = 0
        for i in range(1, self.count + 1):
            held = self.root(i) / "held"
            try:
                names = os.listdir(held)
            except FileNotFoundError:
                continue
            if any(n.endswith(".release") for n in names):
                summary = {"released": []}
                _Held(self.root(i)).release_held(now, summary)
                released += len(summary["released"])
        return released


class _Held:
    """What Ticker.release_held uses of a Ticker (its files), without a model."""

    def __init__(self, root: Path):
        self.fs = DiskFS()
        self.root = str(root)

    path = Ticker.path
    release_held = Ticker.release_held


def _state(root: Path) -> tuple[int, list[int]] | None:
    try:
        st = json.loads((root / "state.json").read_text())
        return int(st["registers_day"]), [int(v) for v in st["registers"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remembers(root: Path) -> bool:
    return (root / registers.CACHE_NAME).exists() or (root / "state.json").exists()


def _seal_in_worker(chunk: list, last: int) -> list:
    assert _HOST is not None
    return seal_chunk(_HOST, chunk, last)


def seal_chunk(host: BulkHost, chunk: list, last: int) -> list:
    """Seal days up to `last` for each (meter, open day, opening registers or None):
    [(meter, next open day, its opening registers, files placed)]."""
    fs = DiskFS()
    out = []
    for i, day, regs in chunk:
        cfg = host.config_of(i)
        vm = VectorMeter(cfg.model)
        root = host.root(i)
        if regs is None:
            regs = registers.opening(cfg, day, root if _remembers(root) else None, vm)
        t = operations.ticker_class(cfg)(vm.m, cfg.model, fs, str(root))
        files = 0
        for built in daybuild.build_days(cfg, day, last, regs, vm):
            if built.text is not None:
                start, count = vm.m.day_grid(built.day)
                data = built.text.encode()
                # Not fsynced one by one: the tick syncs once before the ledger moves on.
                t.place_sealed(built.day, start + count * host.n,
                               lambda target, data=data: write_atomic(target, data,
                                                                      durable=False))
                files += 1
            regs = built.closing
        regs = [int(v) for v in regs]
        # The meter's folder remembers its registers too, so a redial or backfill of this
        # meter (meter/registers.py) continues exactly what the ledger holds.
        registers.remember(cfg, root, last + 1, regs, durable=False)
        out.append((i, last + 1, regs, files))
    return out
