"""Every page of the web UI in headless Chromium against a real, seeded Tempest: it loads,
logs no console error, its charts draw the expected points, navigation and filters work.
The main pages' screenshots go to docs/screenshots/."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from tests.ui.browsing import shot
from tests.ui.uiseed import FLEET

pytestmark = pytest.mark.slow


def _ready(page, selector: str):
    page.wait_for_selector(f"{selector}[data-ready='1']")
    return page.locator(selector)


def test_fleet_page_lists_sorts_filters_and_pages(page, seeded):
    page.goto(seeded.url + "/ui/meters")
    assert page.title() == "Fleet · Tempest"
    total = sum(FLEET.values()) + 2
    assert f"{total} meters" in page.locator(".pager").first.inner_text()
    rows = page.locator("#fleet-table tbody tr")
    assert rows.count() == 50  # the first page
    shot(page, "fleet")
    page.goto(seeded.url + "/ui/meters?q=kil")
    kili = page.locator("#fleet-table tr[data-serial=kili]")
    # Time in the meter's zone with its offset, whatever the browser's zone (New York here).
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \+1[23]:00", kili.inner_text())
    assert kili.locator(".st-online").count() == 1 and kili.locator("[class*=dr-]").count() == 1
    assert kili.locator("svg.spark rect").count() == 7
    page.goto(seeded.url + "/ui/meters")
    # Sort by last heartbeat: online meters first.
    page.click("#fleet-table thead >> text=Last heartbeat")
    page.wait_for_url(re.compile(r"sort=last_seen"))
    assert page.locator("#fleet-table tbody tr").first.locator(".st-online").count() == 1
    # Filter by status with a chip, then search.
    page.click(".chips >> text=offline")
    page.wait_for_url(re.compile(r"status=offline"))
    assert page.locator("#fleet-table tbody tr").count() == FLEET["offline"]
    assert page.locator("#fleet-table tbody .st-offline").count() == FLEET["offline"]
    page.goto(seeded.url + "/ui/meters")
    page.fill("input[name=q]", "berl")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q=berl"))
    assert page.locator("#fleet-table tbody tr").count() == 1
    assert page.locator("#fleet-table .dr-drifted").count() == 1
    # Page 2 of the whole fleet.
    page.goto(seeded.url + "/ui/meters?page=2")
    assert page.locator("#fleet-table tbody tr").count() == total - 50
    assert page.console.errors == []


def test_fleet_at_phone_width(browser, seeded):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(seeded.url + "/ui/meters?status=online")
        # Nothing wider than the screen but the table's own scrolling frame.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        shot(page, "fleet-phone")
    finally:
        context.close()


def test_meter_page_calendar_and_year_chart(page, seeded):
    page.goto(seeded.url + "/ui/meter?serial=kili")  # the seed's path
    page.wait_for_url("**/ui/meters/kili")
    chart = _ready(page, "#year-chart")
    assert chart.get_attribute("data-points") == "365"  # a year of days, one point each
    days_stored = requests.get(seeded.url + "/api/v1/meters/kili", timeout=10).json()["days_stored"]
    assert page.locator("#calendar a rect.cal-day").count() == days_stored
    assert page.locator("#calendar").get_attribute("data-stored") == str(days_stored)
    page.check("input[value=energy]")
    assert "by-energy" in page.locator("#calendar").get_attribute("class")
    page.check("input[value=completeness]")
    assert page.locator("#files tbody tr").count() >= 10
    shot(page, "meter")
    assert page.console.errors == []
    # A calendar day leads to its Day page.
    day = seeded.kili_days[-5]
    page.click(f"#calendar rect[data-day='{day}']")
    page.wait_for_url(f"**/ui/meters/kili/days/{day}")


def test_day_page_chart_quality_and_registers(page, seeded):
    # A day with missing and estimated intervals (the meter's faults are seeded).
    api = seeded.url + "/api/v1/meters/kili/days?per_page=200"
    days = requests.get(api, timeout=10).json()["items"]
    day = next(d for d in days if d["missing"] and d["estimated"])
    page.goto(f"{seeded.url}/ui/meter?serial=kili&day={day['day']}")  # the seed's path
    chart = _ready(page, "#day-chart")
    assert chart.get_attribute("data-points") == str(day["expected"])
    assert chart.get_attribute("data-series") == str(len(day["channels"]))
    assert re.fullmatch(r"\+1[23]:00( \+1[23]:00)?", chart.get_attribute("data-offsets"))
    facts = page.locator(".facts").inner_text()
    assert f"Missing\n{day['missing']}" in facts and f"Estimated\n{day['estimated']}" in facts
    # Missing intervals are gaps, not zeros, in the chart's own data.
    nulls = page.evaluate("Tempest.charts()[0].u.data[1].filter(v => v === null).length")
    assert nulls == day["missing"]
    assert page.locator("#registers tbody tr").count() == len(day["channels"])
    # Hovering shows every channel's value at that interval, in the meter's time.
    box = chart.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    legend = chart.locator(".u-legend").inner_text()
    assert re.search(r"\d{2}:\d{2} \+1[23]:00", legend) and "kWh" in legend
    # Zoom in with the button, then back to the whole day.
    full = page.evaluate("Tempest.charts()[0].u.scales.x.max - Tempest.charts()[0].u.scales.x.min")
    page.click("button[data-zoom=in]")
    zoomed = page.evaluate("Tempest.charts()[0].u.scales.x.max - Tempest.charts()[0].u.scales.x.min")
    assert zoomed < full * 0.6
    chart.focus()
    page.keyboard.press("Home")
    assert page.evaluate("Tempest.charts()[0].u.scales.x.max - Tempest.charts()[0].u.scales.x.min"
                         ) == pytest.approx(full)
    page.keyboard.press("ArrowRight")
    assert page.evaluate("Tempest.charts()[0].u.cursor.idx") is not None
    raw = page.locator("a:has-text('The stored day file')").get_attribute("href")
    assert requests.get(seeded.url + raw, timeout=10).json()["reading_day"] == day["day"]
    shot(page, "day")
    assert page.console.errors == []


def test_day_page_links_to_neighbours_and_exports(page, seeded):
    day = seeded.kili_days[10]
    page.goto(f"{seeded.url}/ui/meters/kili/days/{day}")
    _ready(page, "#day-chart")
    page.click("a[rel=next]")
    page.wait_for_url(f"**/days/{seeded.kili_days[11]}")
    _ready(page, "#day-chart")
    page.click("text=Export this day")
    page.wait_for_url("**/ui/exports?*")
    assert page.input_value("input[name=serial]") == "kili"
    assert page.input_value("input[name=from]") == seeded.kili_days[11]
    page.check("input[value=csv]")
    with page.expect_download() as dl:
        page.click("#export-form button[type=submit]")
    path = dl.value.path()
    text = Path(path).read_text()
    assert "kili" in text and seeded.kili_days[11] in text
    shot(page, "exports")
    assert page.console.errors == []


@pytest.mark.parametrize("path, heading, rows", [
    ("/ui/heartbeats", "Heartbeats", "#heartbeats tbody tr"),
    ("/ui/ingest", "Ingest log", "#ingest-log tbody tr"),
    ("/ui/quarantine", "Quarantine", "#quarantine tbody tr"),
    ("/ui/config", "Config", "#config-table tbody tr"),
    ("/ui/sinks", "Sinks", "main"),
])
def test_list_pages_load(page, seeded, path, heading, rows):
    page.goto(seeded.url + path)
    assert page.locator("h1").inner_text().startswith(heading)
    assert page.locator(rows).count() >= 1
    assert page.locator("nav[aria-label=Pages] a[aria-current=page]").inner_text() == heading
    if path in ("/ui/quarantine", "/ui/config", "/ui/heartbeats", "/ui/ingest"):
        shot(page, path.rsplit("/", 1)[1])
    assert page.console.errors == []


def test_heartbeats_and_ingest_filters(page, seeded):
    page.goto(seeded.url + "/ui/heartbeats?serial=kili")
    serials = page.locator("#heartbeats tbody th").all_inner_texts()
    assert serials and set(serials) == {"kili"}
    page.goto(seeded.url + "/ui/ingest")
    page.select_option("select[name=event]", "quarantined")
    page.click("form.filters button")
    page.wait_for_url(re.compile("event=quarantined"))
    events = page.locator("#ingest-log tbody .badge").all_inner_texts()
    assert events and set(events) == {"quarantined"}


def test_sinks_page_without_sinks_says_so(page, seeded):
    page.goto(seeded.url + "/ui/sinks")
    assert "No sinks configured" in page.locator("main").inner_text()


def test_config_page_shows_drift_side_by_side(page, seeded):
    page.goto(seeded.url + "/ui/config?drift=drifted")
    assert page.locator("#config-table tbody tr").all_inner_texts()[0].startswith("berlin-01")
    page.click("#config-table >> text=berlin-01")
    page.wait_for_url("**/ui/config/berlin-01")
    differs = page.locator("#config-diff tr.differs th").all_inner_texts()
    assert any(t.startswith("annual_kwh") for t in differs)
    assert "sign in as admin" in page.locator("main").inner_text()
    assert page.locator("#push-form").count() == 0
    body = page.content()
    assert seeded.kili_key not in body and "agent-key-for-ui-tests" not in body
    shot(page, "config")
    assert page.console.errors == []


def test_keyboard_reaches_every_nav_link_and_the_skip_link(page, seeded):
    page.goto(seeded.url + "/ui/meters")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.textContent.trim()"))
    for label in ("Fleet", "Heartbeats", "Ingest log", "Quarantine", "Sinks", "Exports",
                  "Config"):
        assert label in seen


def test_unknown_meter_and_bad_dates(page, seeded):
    r = requests.get(seeded.url + "/ui/meters/nosuch", timeout=10)
    assert r.status_code == 404 and "no meter nosuch" in r.text
    r = requests.get(seeded.url + "/ui/meters/kili/days/2025-13-01", timeout=10)
    assert r.status_code == 400
    future = (date.today() + timedelta(days=30)).isoformat()
    r = requests.get(f"{seeded.url}/ui/meters/kili/days/{future}", timeout=10)
    assert r.status_code == 404 and "No stored data" in r.text
