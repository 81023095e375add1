"""A sensor meter's day page in headless Chromium against a real Tempest: its measurements
are charted on axes labelled with their units (C, %RH), apart from the kWh chart, and listed
with their range; the kWh registers hold only the energy channels."""

from __future__ import annotations

import re

import pytest

from tests.sinks.sinkhelpers import AUCKLAND, day_files, meter_raw
from tests.support.tempest import Tempest
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

RAW = meter_raw("ui-sens", "Pacific/Auckland", AUCKLAND, sensors={"dht11": {}})
DAY = "2024-07-01"


@pytest.fixture
def sensor_tempest(tmp_path):
    tempest = Tempest(tmp_path / "data", tmp_path / "tempest.log")
    key = tempest.add_meter("ui-sens")
    tempest.start()
    try:
        text = day_files(RAW, DAY, DAY)[f"ui-sens_{DAY}.json"]
        r = tempest.post("/api/v1/days", data=text.encode(), headers={"x-api-key": key})
        assert r.status_code in (200, 202), r.text
        wait_for(lambda: DAY in tempest.days("ui-sens"), 30, what="the day stored")
        yield tempest
    finally:
        tempest.stop()


def test_day_page_charts_measurements_with_their_units(page, sensor_tempest):
    page.goto(f"{sensor_tempest.url}/ui/meters/ui-sens/days/{DAY}")
    page.wait_for_selector("#measure-chart[data-ready='1']")
    chart = page.locator("#measure-chart")
    assert chart.get_attribute("data-units") == "°C %RH"
    assert chart.get_attribute("data-series") == "2"
    labels = page.evaluate("Tempest.charts().find(c => c.el.id === 'measure-chart')"
                           ".u.axes.map(a => a.label || null)")
    assert labels == [None, "°C", "%RH"]
    # Hovering shows each value in its unit, whole degrees from the DHT11.
    chart.locator(".u-over").hover()
    legend = chart.locator(".u-legend").inner_text()
    assert re.search(r"\d+ °C", legend) and re.search(r"\d+ %RH", legend)
    assert "kWh" not in legend
    rows = page.locator("#measurements tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["temperature", "humidity"]
    assert page.locator("#registers tbody tr").count() == 1  # Total only: kWh registers
    heading = page.locator("#meas-h").inner_text()
    assert "°C" in heading and "%RH" in heading
    assert page.console.errors == []
