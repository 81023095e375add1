"""NEM12 export of a fleet-month: seconds and bytes per second.

    .venv/bin/python bench/bench_nem12.py [--meters 1000] [--days 30]

Seeds (once, then reuses) a store with meters x days of 5-minute, 3-channel days in four
zones (Sydney, Auckland, Berlin, New York, so days are re-bucketed onto market days and DST
days occur), with 1% missing and 1% estimated intervals, through the store API. Then times
`tempest export nem12` over the whole range (the same code path as the CLI and the API
download), written to a file, and checks the file with nemreader (not timed).
For scale, it also times writing the same number of bytes of 300 records with no work behind
them (the floor: formatting numbers and writing), in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench_sinks_common import OUT, config_for, seed

from core import civil
from tempest import db
from tempest.exports import nem12
from tempest.settings import layout


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--meters", type=int, default=1000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                   help="read the file back with nemreader")
    args = p.parse_args()
    first = "2024-09-20"  # spans the clocks changing in Sydney, Auckland (and not elsewhere)
    last = civil.format_day(civil.parse_day(first) + args.days - 1)
    work = OUT / f"nem12_{args.meters}x{args.days}"
    data = work / "data"
    marker = work / "seeded"
    if not marker.exists():
        print(f"seeding {args.meters} meters x {args.days} days (once) ...", file=sys.stderr)
        started = time.perf_counter()
        seed(data, args.meters, first, args.days)
        marker.write_text("ok\n")
        print(f"  seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    config = config_for(data)
    conn = db.connect(layout(config).database)
    out = work / "fleet.nem12.csv"
    started = time.perf_counter()
    size = 0
    with open(out, "w", encoding="ascii", newline="") as f:
        for chunk in nem12.export(conn, config, first, last):
            f.write(chunk)
            size += len(chunk)
    seconds = time.perf_counter() - started
    conn.close()
    records = {"200": 0, "300": 0, "400": 0}
    with open(out) as f:
        for line in f:
            kind = line[:3]
            if kind in records:
                records[kind] += 1
    # The floor: the same volume of 300 records from a constant row, formatted and written.
    values = [i % 400 for i in range(288)]
    floor_started = time.perf_counter()
    with open(work / "floor.csv", "w", encoding="ascii") as f:
        written = 0
        while written < size:
            line = f"300,20240920,{nem12.kwh_text(values)},A,,,20240921000000,\n"
            f.write(line)
            written += len(line)
    floor = time.perf_counter() - floor_started
    result = {"meters": args.meters, "days": args.days, "bytes": size, "seconds": round(seconds, 2),
              "bytes_per_s": round(size / seconds), "records": records,
              "floor_seconds": round(floor, 2)}
    print(f"NEM12 export of {args.meters} meters x {args.days} days: {seconds:.2f} s, "
          f"{size / 1e6:.1f} MB, {size / seconds / 1e6:.1f} MB/s")
    print(f"records: {records['200']} x 200, {records['300']} x 300, {records['400']} x 400")
    print(f"floor (format and write the same bytes, nothing read): {floor:.2f} s; "
          f"export/floor {seconds / floor:.2f}x")
    if args.check:
        # nemreader builds an object per reading (minutes for a fleet-month): read back the
        # first ten meters' records, cut from the very file that was timed.
        from nemreader import NEMFile

        sample = work / "sample.nem12.csv"
        meters = 0
        with open(out) as src, open(sample, "w") as dst:
            for line in src:
                if line.startswith("200,"):
                    meters += line.split(",")[3] == "1"
                if meters > 10 and not line.startswith("900"):
                    continue
                dst.write(line)
        nd = NEMFile(str(sample), strict=True).nem_data()
        readings = sum(len(r) for sfx in nd.readings.values() for r in sfx.values())
        print(f"nemreader read {len(nd.readings)} meters, {readings:,} readings back")
        assert len(nd.readings) == min(10, args.meters)
    (OUT / "nem12.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
