"""A meter's own quirks (config `quirks`): checked naming the field, sent by the meter as its
quirks make the files (the same pure functions as the scenarios), the same on every run, and
listed in `meter truth` with what a correct MDMS concludes. Fixed dates: Berlin's last week of
October 2024, which holds its 25-hour day (the 27th)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core import civil, dayfile_reader
from meter import config, operations
from meter.cli import main as meter_cli
from meter.conformance import meter_quirks, quirks
from meter.conformance.meter_quirks import MeterQuirks
from tests.support.waiting import wait_for

FIRST, LAST = "2024-10-20", "2024-10-28"
AT = "2024-10-31T12:00:00+01:00"  # every day over, every held copy due
QUIRKS = {"zeros_for_missing": True, "multiplier": 2, "register_rollover_kwh": 4400,
          "revised_days": 0.3, "revise_estimates_after_days": 2, "out_of_order_days": 0.2,
          "duplicate_different_days": 0.2}


def raw(**extra) -> dict:
    return {"serial": "q-ber", "timezone": "Europe/Berlin", "interval_min": 30, "seed": 7,
            "commissioned": "2024-01-01", "faults": {"missing_intervals": 0.02}, **extra}


def write_config(folder: Path, doc: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(doc))
    return path


def run(*args) -> object:
    return CliRunner().invoke(meter_cli, [str(a) for a in args])


def backfill(folder: Path, doc: dict) -> Path:
    cfg = write_config(folder, doc)
    res = run("backfill", "--config", cfg, "--data-dir", folder / "d", "--from", FIRST, "--to",
              LAST, "--at", AT, "-q")
    assert res.exit_code == 0, res.output
    return folder / "d"


@pytest.mark.parametrize("quirk, field", [
    ({"multiplier": 1}, "quirks.multiplier"),
    ({"clock": "gmt"}, "quirks.clock"),
    ({"revised_days": 2}, "quirks.revised_days"),
    ({"zeros_for_missing": "yes"}, "quirks.zeros_for_missing"),
    ({"duplicates": 0.1}, "quirks.duplicates"),
])
def test_a_bad_quirk_is_refused_naming_its_field(tmp_path, quirk, field):
    with pytest.raises(config.ConfigError) as exc:
        config.from_dict(raw(quirks=quirk))
    assert exc.value.field == field
    res = run("check-config", "--config", write_config(tmp_path, raw(quirks=quirk)))
    assert res.exit_code == 2
    assert field in res.output


def test_the_meter_sends_its_quirks_the_same_on_every_run(tmp_path):
    one = backfill(tmp_path / "one", raw(quirks=QUIRKS))
    two = backfill(tmp_path / "two", raw(quirks=QUIRKS))
    names = sorted(p.relative_to(one).as_posix() for p in one.glob("*/*") if "sent" not in p.parts)
    assert names == sorted(p.relative_to(two).as_posix() for p in two.glob("*/*"))
    assert [(one / n).read_bytes() for n in names] == [(two / n).read_bytes() for n in names]
    plain = backfill(tmp_path / "plain", raw())
    # The same household and engine: only what is sent differs (the meter's truth does not).
    cfg = config.from_dict(raw(quirks=QUIRKS))
    assert (operations.truth(cfg, civil.parse_day("2024-10-27"))["totals"]
            == operations.truth(config.from_dict(raw()), civil.parse_day("2024-10-27"))["totals"])
    assert sorted(p.name for p in (plain / "outbox").iterdir()) == [
        f"q-ber_2024-10-{d}.json" for d in range(20, 29)]


def _sends(folder: Path, day: str) -> list[dayfile_reader.Day]:
    """A day's files in the order the meter sends them: outbox/ first, then held/ by release."""
    name = f"q-ber_{day}.json"
    out = [folder / "outbox" / name] if (folder / "outbox" / name).exists() else []
    held = sorted((folder / "held").glob(f"q-ber_{day}.q*.json"),
                  key=lambda p: int(Path(str(p) + ".release").read_text().split()[0]))
    return [dayfile_reader.parse((p).read_bytes()) for p in out + held]


def test_each_quirk_shows_in_the_files_and_the_truth_stays(tmp_path):
    folder = backfill(tmp_path / "m", raw(quirks=QUIRKS))
    cfg = config.from_dict(raw(quirks=QUIRKS))
    mq = MeterQuirks.of(cfg)
    seen = set()
    for d in range(civil.parse_day(FIRST), civil.parse_day(LAST) + 1):
        day = civil.format_day(d)
        truth = operations.truth(cfg, d)
        recorded = [None if iv["recorded"] is None else
                    round(float(iv["recorded"]["Total"]) * 1000) for iv in truth["intervals"]]
        applied = dict(mq.on_day(d, len(recorded)))
        seen |= set(applied)
        assert [q["quirk"] for q in truth["quirks"]] == list(applied)
        sends = _sends(folder, day)
        # Each of the two doubles the sends (a revised day sent twice is two pairs).
        assert len(sends) == (1 + ("revised" in applied)) * (1 + ("duplicate_different" in applied))
        final = sends[-1]
        # The last copy is the whole day as recorded, missing intervals sent as actual zeros,
        # every reading doubled by the wrong CT ratio.
        assert final.values["Total"] == [2 * (v or 0) for v in recorded]
        assert set(final.quality) == {"A"}
        # The registers wrap at 4,400 kWh (the count, doubled, passes it in the week);
        # each file keeps closing = opening + its intervals.
        assert 0 <= final.opening["Total"] < 4_400_000
        assert final.closing["Total"] == final.opening["Total"] + sum(final.values["Total"])
        assert "quirks" not in final.metadata["config"]
        if "revised" in applied:
            first, last = applied["revised"]["first"], applied["revised"]["last"]
            est = [i for i, q in enumerate(sends[0].quality) if q == "E"]
            block = list(range(first, last + 1))
            # A day also sent early loses its last intervals there, estimated or not.
            assert est == block if "duplicate_different" not in applied else (
                est and set(est) <= set(block))
        if "duplicate_different" in applied:
            early = sends[-2].quality
            assert early[-4:] == ["M"] * 4 and "M" not in early[:-4]
    assert seen == {"zeros_for_missing", "multiplier", "register_rollover", "revised",
                    "duplicate_different", "out_of_order"}
    # A rollover between two days: an opening below the day before's closing.
    openings = [_sends(folder, civil.format_day(d))[-1] for d in
                range(civil.parse_day(FIRST), civil.parse_day(LAST) + 1)]
    assert any(b.opening["Total"] < a.closing["Total"] for a, b in zip(openings, openings[1:], strict=False))


def test_held_copies_are_due_when_their_quirk_says(tmp_path):
    folder = backfill(tmp_path / "m", raw(quirks=QUIRKS))
    mq = MeterQuirks.of(config.from_dict(raw(quirks=QUIRKS)))
    for release in (folder / "held").glob("*.release"):
        due, final = release.read_text().split()
        day = civil.parse_day(final.split("_")[1][:10])
        n = 50 if civil.format_day(day) == "2024-10-27" else 48
        applied = dict(mq.on_day(day, n))
        # The day's end in UTC minutes: local midnight after it (+01:00 from the 27th on).
        end = (day + 1) * 1440 - (60 if day >= civil.parse_day("2024-10-27") else 120)
        after = int(due) - end
        # Each copy is a combination: revised (now or days later), sent twice (now or six
        # hours later), all of it a day and a half late when out of order.
        revised = (0, applied["revised"]["after_days"] * 1440) if "revised" in applied else (0,)
        doubled = (0, 6 * 60) if "duplicate_different" in applied else (0,)
        late = 1440 + 30 if "out_of_order" in applied else 0
        allowed = {late + r + d for r in revised for d in doubled} - {0}
        assert after in allowed, (final, after, applied)


def test_truth_lists_the_quirks_and_the_clock_it_would_write(tmp_path):
    cfg = config.from_dict(raw(quirks={"clock": "utc_all_year", "multiplier": 3}))
    doc = operations.truth(cfg, civil.parse_day("2024-10-27"))
    assert [q["quirk"] for q in doc["quirks"]] == ["utc_all_year", "multiplier"]
    assert doc["quirks"][0]["conclusion"] == quirks.CONCLUSIONS["utc_all_year"]
    assert doc["quirks"][1]["params"] == {"factor": 3}
    stamps = [iv["stamped"] for iv in doc["intervals"]]
    assert len(stamps) == 50 and len(set(stamps)) == 50
    assert stamps[0] == "2024-10-26T22:30:00Z" and stamps[-1] == "2024-10-27T23:00:00Z"
    res = run("truth", "--config", write_config(tmp_path, raw(quirks={"clock": "no_offset"})),
              "--day", "2024-10-27")
    assert res.exit_code == 0, res.output
    shown = json.loads(res.stdout)
    assert shown["quirks"][0]["quirk"] == "no_offset"
    assert [iv["stamped"] for iv in shown["intervals"]].count("2024-10-27T02:30:00") == 2
    rolls = operations.truth(config.from_dict(raw(quirks={"register_rollover_kwh": 4400})),
                             civil.parse_day("2024-10-20"))["quirks"]
    assert rolls[0]["params"] == {"rolls_over_at_kwh": 4400}
    assert "rolls over at 4,400 kWh" in rolls[0]["conclusion"]
    # Without quirks, nothing changes: no list, the plain Ticker.
    plain = config.from_dict(raw())
    assert "quirks" not in operations.truth(plain, civil.parse_day("2024-10-27"))
    assert operations.ticker_class(plain) is meter_quirks.Ticker


def test_a_ticking_meter_delivers_its_quirks_to_tempest(tmp_path, make_tempest):
    """A running Pi meter (tick, then upload, twice a day) with a real Tempest: every copy its
    quirks make arrives, in order, and Tempest ends with the last one of each day."""
    tempest = make_tempest().start()
    key = tempest.add_meter("q-ber")
    cfg = write_config(tmp_path, raw(quirks=QUIRKS, tempest_url=tempest.url + "/",
                                     tempest_api_key=key))
    data = tmp_path / "d"
    start = civil.parse_day(FIRST)
    for d in range(start, civil.parse_day("2024-11-02") + 1):
        for hour in ("06", "18"):
            offset = "+02:00" if d < civil.parse_day("2024-10-27") else "+01:00"
            at = f"{civil.format_day(d)}T{hour}:00:00{offset}"
            res = run("tick", "--config", cfg, "--data-dir", data, "--at", at)
            assert res.exit_code == 0, res.output
            res = run("upload", "--config", cfg, "--data-dir", data, "--at", at)
            assert res.exit_code == 0, res.output
    # Every copy of the days graded below has been released and delivered (later days'
    # copies may still be due).
    waiting = [p.name for p in (data / "outbox").iterdir()] + [
        p.name for p in (data / "held").iterdir()]
    assert not [n for n in waiting if n.split("_")[1][:10] <= LAST]
    # An upload is answered 202 once it is queued, before ingest stores it: on a busy machine
    # the last copies are still in the drop folder here.
    wait_for(lambda: tempest.get("api/v1/summary").json()["drop_pending"] == 0, 60,
             what="Tempest's drop folder drained")
    mq = MeterQuirks.of(config.from_dict(raw(quirks=QUIRKS)))
    for d in range(start, civil.parse_day(LAST) + 1):
        day = civil.format_day(d)
        recorded = [None if iv["recorded"] is None else round(float(iv["recorded"]["Total"])
                                                              * 1000)
                    for iv in operations.truth(config.from_dict(raw()), d)["intervals"]]
        applied = dict(mq.on_day(d, len(recorded)))
        copies = (1 + ("revised" in applied)) * (1 + ("duplicate_different" in applied))
        files = tempest.get(f"api/v1/meters/q-ber/files?day={day}").json()["items"]
        assert len(files) == copies, day
        stored = dayfile_reader.parse(
            tempest.get(f"api/v1/meters/q-ber/days/{day}/file").content)
        assert stored.values["Total"] == [2 * (v or 0) for v in recorded]
        assert set(stored.quality) == {"A"}
    # A redial of a day sent several times sends the copy delivered last: Tempest keeps it.
    revised = next(civil.format_day(d) for d in range(start, civil.parse_day(LAST) + 1)
                   if "revised" in dict(mq.on_day(d, 48)))
    before = tempest.get(f"api/v1/meters/q-ber/days/{revised}/file").content
    res = run("redial", "--config", cfg, "--data-dir", data, "--from", revised, "--to", revised,
              "--at", "2024-11-02T20:00:00+01:00")
    assert res.exit_code == 0, res.output
    applied = dict(mq.on_day(civil.parse_day(revised), 48))
    last_copy = 2 * (1 + ("duplicate_different" in applied)) - 1  # sent/<name>.N.json
    assert json.loads(res.stdout)["days"][0]["file"] == f"q-ber_{revised}.{last_copy}.json"
    assert (data / "sent" / f"q-ber_{revised}.{last_copy}.json").read_bytes() == before


def test_a_bulk_host_seals_its_meters_quirks(tmp_path):
    """A bulk host's ledger tick (`--count`): each derived meter sends its own quirks (drawn
    from its own seed) and releases its held copies when due."""
    cfg = write_config(tmp_path, raw(quirks=QUIRKS))
    data = tmp_path / "bulk"
    for at in ("2024-10-20T06:00:00+02:00", "2024-10-29T06:00:00+01:00",
               "2024-11-03T06:00:00+01:00"):
        res = run("tick", "--config", cfg, "--count", 3, "--ledger", "--data-dir", data,
                  "--at", at)
        assert res.exit_code == 0, res.output
    sent = {}
    for i in (1, 2, 3):
        serial = f"q-ber-{i:04d}"
        # 20 Oct .. 2 Nov: each day's first copy in outbox/, or still held when out of order.
        for d in range(civil.parse_day(FIRST), civil.parse_day("2024-11-02") + 1):
            name = f"{serial}_{civil.format_day(d)}"
            first = data / serial / "outbox" / f"{name}.json"
            if not first.exists():
                first = data / serial / "held" / f"{name}.q0.json"
            dayfile_reader.parse(first.read_bytes())
        sent[serial] = sorted(p.name for p in (data / serial / "held").glob("*.json"))
    # Copies still held: their first copy waits in outbox/ until delivered (the Ticker's rule).
    assert all(sent.values())
    assert len({tuple(n.split("_")[1] for n in v) for v in sent.values()}) == 3
