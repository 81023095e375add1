"""Vectorised engine against richardsonpy (the CREST domestic model), 1-minute resolution.

Prints household-years per second per core for both, measured in the same run, and the ratio
(target: at least 300x). Usage: .venv/bin/python bench/bench_engine.py [--households N]
"""

from __future__ import annotations

import argparse
import os
import time

from core import civil
from meter.bulk import derive_all
from meter.config import from_dict
from meter.vector.engine import VectorMeter


def richardsonpy_year() -> float:
    import richardsonpy.classes.electric_load as eload
    import richardsonpy.classes.occupancy as occ
    import richardsonpy.functions.change_resolution as cr
    import richardsonpy.functions.load_radiation as loadrad

    start = time.perf_counter()
    occupancy = occ.Occupancy(number_occupants=3)
    q_direct, q_diffuse = loadrad.get_rad_from_try_path()
    q_direct = cr.change_resolution(q_direct, old_res=3600, new_res=60)
    q_diffuse = cr.change_resolution(q_diffuse, old_res=3600, new_res=60)
    load = eload.ElectricLoad(occ_profile=occupancy.occupancy, total_nb_occ=3,
                              q_direct=q_direct, q_diffuse=q_diffuse, timestep=60)
    assert len(load.loadcurve) == 525600
    return time.perf_counter() - start


def meters_years(n: int) -> float:
    base = {"serial": "bench", "interval_min": 1, "timezone": "Europe/Berlin",
            "location": {"latitude": 51.3, "longitude": 9.5, "country": "DE"},
            "commissioned": "2023-01-01"}
    models = [VectorMeter(from_dict(raw).model) for raw in derive_all(base, n, mix=True)]
    d0, d1 = civil.days_from_civil(2023, 1, 1), civil.days_from_civil(2023, 12, 31)
    start = time.perf_counter()
    for vm in models:
        run = vm.run(d0, d1)
        assert run.recorded.shape[0] == 525600
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=40)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ours = meters_years(args.households)
    theirs = richardsonpy_year()
    ours_rate = args.households / ours
    theirs_rate = 1 / theirs
    print(f"meters vector engine: {args.households} household-years in {ours:.2f} s = "
          f"{ours_rate:.1f} household-years/s")
    print(f"richardsonpy (CREST): 1 household-year in {theirs:.2f} s = "
          f"{theirs_rate:.3f} household-years/s")
    print(f"ratio: {ours_rate / theirs_rate:.0f}x (target >= 300x)")


if __name__ == "__main__":
    main()
