"""Kill `meter tick` mid-write, many times, cheaply: import the meter once, then fork a child
per tick and SIGKILL it (by its PID) after a random part of a tick's usual duration.

    python forkticker.py CONFIG DATA_DIR COUNT START_MINUTE KILLS SEED

Every tick moves the clock on by one hour to half a day; half the killed ticks are followed at
once by an unhurried one at the same minute (cron's next run, which must repair what the kill
left), the rest are caught up by later ones. Prints one JSON line: {"kills", "finished",
"recovered", "sealed_files_before_the_final_tick", "minute"} (the clock after the last tick).
Forking costs milliseconds where a fresh interpreter costs half a second, so 100 kills take
seconds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path

from meter import config, operations
from meter.bulk import derive_all


def tick_all(meters, minute: int) -> None:
    for cfg, root in meters:
        operations.tick(cfg, root, minute)


def child(meters, minute: int) -> None:
    code = 0
    try:
        tick_all(meters, minute)
    except BaseException:  # noqa: BLE001 - the parent only sees the exit status
        code = 1
    os._exit(code)


def run_one(meters, minute: int, kill_after: float | None) -> tuple[bool, float, int]:
    """(killed mid-run, seconds it ran, exit status)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(meters, minute)
    killed = False
    done, status = 0, 0
    if kill_after is not None:
        time.sleep(kill_after)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            killed = True
    if done == 0:
        _, status = os.waitpid(pid, 0)
    return killed, time.monotonic() - start, status


def main(argv: list[str]) -> None:
    path, data_dir, count, minute, kills, seed = argv
    cfg = config.read(Path(path))
    meters = [(config.from_dict(raw), Path(data_dir) / raw["serial"])
              for raw in derive_all(cfg.raw, int(count), False, Path(path).parent)]
    rnd = random.Random(int(seed))
    minute = int(minute)
    usual = []
    for _ in range(3):  # how long an unhurried tick takes here
        minute += rnd.randrange(60, 14 * 60)
        _, took, status = run_one(meters, minute, None)
        assert status == 0, "a tick failed before any kill"
        usual.append(took)
    killed = finished = recovered = 0
    while killed < int(kills):
        minute += rnd.randrange(60, 14 * 60)
        was_killed, _, _ = run_one(meters, minute, rnd.uniform(0.0, 1.5) * max(usual))
        killed += was_killed
        finished += not was_killed
        if was_killed and rnd.random() < 0.5:
            # Cron's next run, at the same minute: it must repair what the kill left (a torn
            # journal line, a temporary file) and carry on.
            _, _, status = run_one(meters, minute, None)
            assert status == 0, "a tick after a kill failed"
            recovered += 1
        if finished > 4 * int(kills):
            break
    sealed = sum(1 for _, root in meters for d in ("outbox", "held")
                 for p in (root / d).glob("*.json"))
    print(json.dumps({"kills": killed, "finished": finished, "recovered": recovered,
                      "sealed_files_before_the_final_tick": sealed, "minute": minute,
                      "usual_tick_s": round(max(usual), 3)}))


if __name__ == "__main__":
    main(sys.argv[1:])
