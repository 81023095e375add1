"""Meters killed mid-write 100 times (SIGKILL while `meter tick` writes journals, open days,
sealed files and state): no corrupt file, no lost sealed day, every sealed file byte for byte
what the meter regenerates for that day. tests/meter/test_crash.py is the 40-kill version with
a fresh interpreter per tick; this one forks (forkticker.py) to afford 100."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core import civil, dayfile_reader
from loadmodel.engine import MeterModel
from meter import config, daybuild, openday, operations, registers
from meter.bulk import derive_all
from meter.clock import now_minute
from tests.hardening.mounts import tmpfs
from tests.support import REPO

KILLS = 100
METERS = 6
HERE = Path(__file__).resolve().parent


def test_100_kills_mid_write_never_corrupt_or_lose_a_sealed_day(tmp_path):
    raw = {"serial": "kill", "timezone": "Europe/Berlin", "commissioned": "2024-03-20",
           "archetype": "family", "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4},
           "faults": {"missing_intervals": 0.01, "late_days": 0.1, "duplicate_days": 0.1,
                      "outage_days": 0.03}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    start = now_minute("2024-03-20T00:05:00+01:00")
    with tmpfs(tmp_path / "disk", "256m") as (disk, _why):  # plain disk when not root
        fleet = disk / "fleet"
        r = subprocess.run([sys.executable, str(HERE / "forkticker.py"), str(path), str(fleet),
                            str(METERS), str(start), str(KILLS), "7"], cwd=REPO,
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        result = json.loads(r.stdout)
        assert result["kills"] >= KILLS, result
        # One more tick, uninterrupted, from where the clock stopped.
        final = result["minute"] + 60
        meters = [(config.from_dict(m), fleet / m["serial"]) for m in derive_all(raw, METERS,
                                                                                 False)]
        for cfg, root in meters:
            operations.tick(cfg, root, final)
        checked = _check(meters, final)
    print(f"\nmeter kills: {result}, sealed days checked: {checked}")


def _check(meters, final: int) -> int:
    checked = 0
    for cfg, root in meters:
        today = MeterModel(cfg.model).zone.reading_day_of_end(final)  # the open day
        first = cfg.model["commissioned_day"]
        sealed = {p.name: p.read_text() for d in ("outbox", "held") for p in (root / d).iterdir()
                  if p.name.endswith(".json")}
        for built in daybuild.build_days(cfg, first, today - 1, registers.opening(cfg, first)):
            name = f"{cfg.serial}_{civil.format_day(built.day)}.json"
            if built.text is None:
                assert name not in sealed, f"{name}: an outage day has a file"
                continue
            assert name in sealed, f"sealed day {name} lost"
            assert sealed[name] == built.text, f"{name} differs from its regeneration"
            checked += 1
        for name, text in sealed.items():  # duplicates held back too: whole and valid
            dayfile_reader.parse(text)
            assert text == sealed.get(name.replace(".dup", ""), text)
        opened = openday.render(cfg, root)  # the open day, built from its journal
        if opened is not None:
            assert dayfile_reader.parse(opened[1]).status == "open"
        assert not list(root.glob("**/.*.tmp")), "a temporary file left behind"
    return checked
