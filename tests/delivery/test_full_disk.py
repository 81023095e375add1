"""A full disk on the meter (a real, tiny tmpfs): the tick fails cleanly, nothing sealed is
lost, delivery still works (it only renames), and once there is room again everything
catches up, byte for byte what the meter would have written anyway."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from core import dayfile_reader
from meter import daybuild, registers
from meter.delivery.upload import upload_pass
from tests.support import REPO, ci_guard

from .helpers import day, seconds

T0 = "2024-03-05T10:00:00+13:00"
T1 = "2024-03-07T00:10:00+13:00"
T2 = "2024-03-08T12:00:00+13:00"


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs of our own, unmounted afterwards."""
    ci_guard.require_root("a full disk is simulated with a small tmpfs, which needs root to mount")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "meters-full-disk",
                        str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        ci_guard.skip_missing("CAP_SYS_ADMIN", f"cannot mount a tmpfs here ({r.stderr.strip()}); "
                              "a container needs it")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(mnt)], capture_output=True)


def _fill(folder) -> int:
    """Write until the disk is full; returns the bytes written."""
    n = 0
    with open(folder / "filler", "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return n


def test_full_disk_fails_the_tick_cleanly_and_loses_nothing(tempest, meter_for, small_disk):
    m = meter_for(tempest, root=small_disk / "meter")
    m.tick(T0)
    m.tick(T1)
    sealed = {n: (m.root / "outbox" / n).read_bytes() for n in m.names("outbox")}
    assert len(sealed) == 2
    filled = _fill(small_disk)
    assert filled > 0

    # The cron tick on a full disk: it fails, with a reason, and leaves sealed days alone.
    r = subprocess.run(m.argv("tick", at=T2), cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0
    assert "No space left on device" in r.stderr
    for n, data in sealed.items():
        assert (m.root / "outbox" / n).read_bytes() == data

    # Delivery needs no space: files are renamed, and what cannot be written is only logged.
    res = upload_pass(m.cfg, m.root, seconds(T2))
    assert res.ok and res.sent == sorted(sealed)
    tempest.wait_days(m.serial, ["2024-03-05", "2024-03-06"])

    # Room again: the next tick catches up, the next pass delivers the rest.
    os.remove(small_disk / "filler")
    r = subprocess.run(m.argv("tick", at=T2), cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    res = upload_pass(m.cfg, m.root, seconds(T2))
    assert res.ok and res.sent == [f"{m.serial}_2024-03-07.json"]
    days = ["2024-03-05", "2024-03-06", "2024-03-07"]
    stored = tempest.wait_days(m.serial, days)
    assert all(stored[d]["status"] == "sealed" and stored[d]["accounted"] == 288 for d in days)

    # Byte for byte what the meter computes for those days from scratch.
    first = day("2024-03-05")
    built = daybuild.build_days(m.cfg, first, first + 2, registers.opening(m.cfg, first))
    for b, d in zip(built, days, strict=True):
        assert tempest.day_file(m.serial, d) == b.text.encode()
        dayfile_reader.parse(tempest.day_file(m.serial, d))
    # No half-written leftovers (the failed tick's temporary file is cleared by the next).
    assert [p.name for p in m.root.rglob(".*.tmp")] == []
