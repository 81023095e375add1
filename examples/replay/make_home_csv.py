"""Make examples/replay/home-mercury.csv: a synthetic household in the Mercury Energy export's
format, from our own load model (never real customer data).

    .venv/bin/python examples/replay/make_home_csv.py [-o examples/replay/home-mercury.csv]

A family in Auckland at 30 minutes, over two fortnights around NZ's DST changes of 2022
(daylight time ended on Sunday 3 April, a 25-hour day: its 02:00 and 02:30 rows appear
twice; it began on Sunday 25 September, a 23-hour day without 02:00-02:59). Usage is in kWh
with two decimals, as Mercury writes it; the cost at 30 c/kWh. The same config and seed
give the same file, byte for byte.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core import civil, tz
from meter.config import from_dict
from meter.vector.engine import VectorMeter

HOUSEHOLD = {"serial": "replay-example", "seed": 20220403, "archetype": "family",
             "timezone": "Pacific/Auckland", "interval_min": 30, "hot_water": "night",
             "location": {"latitude": -36.85, "longitude": 174.76, "country": "NZ"},
             "commissioned": "2022-01-01"}
SPANS = (("2022-03-27", "2022-04-09"), ("2022-09-18", "2022-10-01"))
HEADER = "TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES\n"
CENTS_PER_KWH = 30


def rows() -> list[str]:
    cfg = from_dict(HOUSEHOLD)
    zone = tz.Zone(cfg.model["timezone"], cfg.model["tz_rules"])
    vm = VectorMeter(cfg.model)
    out = []
    for first, last in SPANS:
        run = vm.run(civil.parse_day(first), civil.parse_day(last))
        for end, wh in zip(run.ends.tolist(), run.true[:, 0].tolist(), strict=True):
            start = end - 30
            local = start + zone.offset_at(start)
            day, minute = divmod(local, 1440)
            stop = minute + 29
            kwh10 = (wh + 5) // 10  # Mercury's two decimals of kWh
            cents = (kwh10 * CENTS_PER_KWH + 50) // 100
            out.append(f"Electricity usage,{civil.format_day(day)},{minute // 60:02d}:"
                       f"{minute % 60:02d},{stop // 60:02d}:{stop % 60:02d},"
                       f"{kwh10 // 100}.{kwh10 % 100:02d},kWh,${cents // 100}.{cents % 100:02d},\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path,
                    default=Path(__file__).resolve().parent / "home-mercury.csv")
    args = ap.parse_args()
    args.output.write_text(HEADER + "".join(rows()))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
