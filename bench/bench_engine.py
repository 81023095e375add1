"""Vectorised engine against richardsonpy (the CREST domestic model), 1-minute resolution.

Prints household-years per second per core for both, measured in the same run, and the ratio
(target: at least 1,000x; aim 3,000x). Usage:
.venv/bin/python bench/bench_engine.py [--households N] [--repeat R]

Both sides are timed in CPU seconds of this process (time.process_time), not wall time: the
machine is shared, and wall time counts the minutes another job held the core, which made
richardsonpy's own figure vary from 18 to 78 s a household-year between runs. Each side runs
R times, alternately, and its best run counts (best of R, the usual way to time code on a
noisy machine). Both run single-threaded (OMP_NUM_THREADS and friends are set to 1 before
numpy loads), so the rate is per core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 - after the thread settings, which must precede numpy
import time  # noqa: E402

from core import civil  # noqa: E402
from meter.bulk import derive_all  # noqa: E402
from meter.config import from_dict  # noqa: E402
from meter.vector.engine import VectorMeter  # noqa: E402


def richardsonpy_year() -> float:
    """CPU seconds for one household-year of richardsonpy at 1-minute resolution."""
    import richardsonpy.classes.electric_load as eload
    import richardsonpy.classes.occupancy as occ
    import richardsonpy.functions.change_resolution as cr
    import richardsonpy.functions.load_radiation as loadrad

    start = time.process_time()
    occupancy = occ.Occupancy(number_occupants=3)
    q_direct, q_diffuse = loadrad.get_rad_from_try_path()
    q_direct = cr.change_resolution(q_direct, old_res=3600, new_res=60)
    q_diffuse = cr.change_resolution(q_diffuse, old_res=3600, new_res=60)
    load = eload.ElectricLoad(occ_profile=occupancy.occupancy, total_nb_occ=3,
                              q_direct=q_direct, q_diffuse=q_diffuse, timestep=60)
    assert len(load.loadcurve) == 525600
    return time.process_time() - start


def households(n: int) -> list[VectorMeter]:
    base = {"serial": "bench", "interval_min": 1, "timezone": "Europe/Berlin",
            "location": {"latitude": 51.3, "longitude": 9.5, "country": "DE"},
            "commissioned": "2023-01-01"}
    return [VectorMeter(from_dict(raw).model) for raw in derive_all(base, n, mix=True)]


def meters_years(models: list[VectorMeter]) -> float:
    """CPU seconds for one year of every household."""
    d0, d1 = civil.days_from_civil(2023, 1, 1), civil.days_from_civil(2023, 12, 31)
    start = time.process_time()
    for vm in models:
        run = vm.run(d0, d1)
        assert run.recorded.shape[0] == 525600
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each side, alternately; the best counts")
    args = ap.parse_args()
    models = households(args.households)
    ours, theirs = [], []
    for _ in range(args.repeat):
        ours.append(meters_years(models))
        theirs.append(richardsonpy_year())
    ours_rate = args.households / min(ours)
    theirs_rate = 1 / min(theirs)
    print(f"meters vector engine: {args.households} household-years in {min(ours):.2f} CPU s "
          f"= {ours_rate:.1f} household-years/s (runs: {', '.join(f'{t:.2f}' for t in ours)})")
    print(f"richardsonpy (CREST): 1 household-year in {min(theirs):.2f} CPU s = "
          f"{theirs_rate:.3f} household-years/s (runs: {', '.join(f'{t:.2f}' for t in theirs)})")
    print(f"ratio: {ours_rate / theirs_rate:.0f}x, best of {args.repeat} CPU-time runs each "
          f"(target >= 1,000x, aim 3,000x)")


if __name__ == "__main__":
    main()
