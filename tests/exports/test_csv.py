"""The CSV export: one row per interval and channel, true to the day files (times with the
meter's offset, missing intervals empty and flagged, never zeros)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

from click.testing import CliRunner

from tempest import create_app
from tempest.cli import main as tempest_cli
from tests.sinks.sinkhelpers import BERLIN, NEW_YORK, Store, day_files, meter_raw
from tests.tempest.tempest_testdata import make_day


def test_one_row_per_interval_true_to_the_day_files(tmp_path):
    files = {
        # 2024-10-27: clocks go back in Berlin (25 hours); missing and estimated intervals.
        **day_files(meter_raw("ber-1", "Europe/Berlin", BERLIN,
                              faults={"missing_intervals": 0.03, "estimated": 0.03}),
                    "2024-10-26", "2024-10-28"),
        **day_files(meter_raw("nyc-1", "America/New_York", NEW_YORK, interval_min=15),
                    "2024-11-02", "2024-11-03"),
    }
    s = Store(tmp_path / "data")
    s.ingest(files)
    s.ingest({"open_2024-10-27.json": make_day("open", "2024-10-27", zone="Europe/Berlin",
                                               status="open", upto=50)})
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(tempest_cli, ["export", "csv", "--data-dir", str(tmp_path / "data"),
                                              "--from", "2024-10-26", "--to", "2024-11-03",
                                              "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == ["serial", "channel", "role", "interval_start", "interval_end",
                             "kwh", "quality"]
    by_key = {(r["serial"], r["channel"], r["interval_end"]): r for r in rows}
    assert len(by_key) == len(rows)
    expected_rows = 0
    for text in files.values():
        doc = json.loads(text)
        quality = {k: v for ch in doc["quality"].values() for k, v in ch.items()}
        labels = sorted(set(quality) | {k for st in doc["datastreams"].values() for k in st},
                        key=lambda x: datetime.fromisoformat(x))
        for channel, info in doc["channels"].items():
            for label in labels:
                row = by_key[(doc["serial"], channel, label)]
                expected_rows += 1
                start = datetime.fromisoformat(row["interval_start"])
                assert datetime.fromisoformat(label) - start == timedelta(
                    minutes=doc["interval"])
                assert row["role"] == info["role"]
                q = quality.get(label, "actual")
                assert row["quality"] == q
                if q == "missing":
                    assert row["kwh"] == ""
                else:
                    assert row["kwh"] == f"{doc['datastreams'][channel][label]:.3f}"
    assert sum(1 for r in rows if r["serial"] == "ber-1" and r["channel"] == "Total" and
               r["interval_start"].startswith("2024-10-27")) == 25 * 12  # the 25-hour day
    # The open day: its 50 intervals, nothing for the part not reached yet.
    assert sum(1 for r in rows if r["serial"] == "open") == 50 * 3
    assert len(rows) == expected_rows + 150
    # The API gives the same file.
    app = create_app({"DATA_DIR": str(tmp_path / "data")})
    r = app.test_client().get("/api/v1/exports/csv?from=2024-10-26&to=2024-11-03")
    assert r.status_code == 200 and r.get_data(as_text=True) == out.read_text()
