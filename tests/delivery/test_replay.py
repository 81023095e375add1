"""A replay meter (docs/replay.md) delivers to a real Tempest: each stored day holds exactly the
energy of that day in the household's CSV, also on the 25-hour day at the end of NZ daylight
time, and a day the file lacks (looped from another year) holds its source day's."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from meter.delivery.upload import upload_pass
from tests.support import REPO

from .helpers import seconds

EXAMPLE = REPO / "examples" / "replay" / "home-mercury.csv"


def csv_day_wh() -> dict[str, int]:
    """Each DATE's Wh, summed from the CSV's text."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for line in EXAMPLE.read_text().splitlines()[1:]:
        f = line.split(",")
        out[f[1]] += Decimal(f[4])
    return {d: int(v * 1000) for d, v in out.items()}


def test_replayed_days_reach_tempest_with_the_csvs_energy(tempest, meter_for):
    m = meter_for(tempest, interval_min=15, commissioned="2022-03-27",
                  replay={"file": str(EXAMPLE), "format": "mercury"},
                  channels={"Total": 1.0, "Kitchen": 0.3, "Rest": 0.7})
    m.tick("2022-04-02T10:00:00+13:00")
    m.tick("2022-04-05T00:10:00+12:00")
    days = ["2022-04-02", "2022-04-03", "2022-04-04"]
    assert m.names("outbox") == [f"{m.serial}_{d}.json" for d in days]
    assert upload_pass(m.cfg, m.root, seconds("2022-04-05T00:10:00+12:00")).ok
    stored = tempest.wait_days(m.serial, days)
    source = csv_day_wh()
    for d in days:
        totals = stored[d]["totals"]
        assert round(totals["Total"] * 1000) == source[d], d
        assert round(totals["Kitchen"] * 1000) + round(totals["Rest"] * 1000) == source[d]
        assert tempest.day_file(m.serial, d) == (m.root / "sent" / f"{m.serial}_{d}.json") \
            .read_bytes()

    # A year on, the file has no April 2023: the meter plays 2022's days (2023-04-02 is the
    # 25-hour day then; its source, 2022-04-02, had 24 hours) and Tempest stores their energy.
    r = m.cli("redial", "--from", "2023-04-01", "--to", "2023-04-03",
              at="2023-04-04T00:10:00+12:00")
    assert r.exit_code == 0, r.output
    later = tempest.wait_days(m.serial, ["2023-04-01", "2023-04-02", "2023-04-03"])
    for d in ("2023-04-01", "2023-04-02", "2023-04-03"):
        assert round(later[d]["totals"]["Total"] * 1000) == source[d.replace("2023", "2022")]
