"""`meter tick`: catch-up, rollover, sealing, delivery faults and reproducibility."""

import json
from pathlib import Path

from core import civil, dayfile_reader
from loadmodel import sealer
from meter import openday, operations, registers
from meter.daybuild import build_days
from tests.meter.configs import cfg_of, family


def minute(iso: str) -> int:
    from meter.clock import now_minute

    return now_minute(iso)


def test_first_tick_records_today_so_far_and_never_twice(tmp_path):
    cfg = cfg_of(family(commissioned="2024-06-01"))
    first = operations.tick(cfg, tmp_path, minute("2024-06-10T10:07:00+02:00"))
    assert first["written"] == 10 * 12 + 1 and first["open_day"] == "2024-06-10"
    again = operations.tick(cfg, tmp_path, minute("2024-06-10T10:09:59+02:00"))
    assert again["written"] == 0
    later = operations.tick(cfg, tmp_path, minute("2024-06-10T11:00:00+02:00"))
    assert later["written"] == 11
    day = dayfile_reader.parse(openday.render(cfg, tmp_path)[1])
    assert day.status == "open" and day.accounted() == 10 * 12 + 12


def test_rollover_seals_a_day_identical_to_its_backfill(tmp_path):
    raw = family(commissioned="2024-06-01", faults={"missing_intervals": 0.01, "spikes": 0.002})
    cfg = cfg_of(raw)
    ticked = tmp_path / "ticked"
    for hour in range(0, 48, 5):  # a tick every five hours across two days
        operations.tick(cfg, ticked, minute("2024-06-10T00:05:00+02:00") + hour * 60)
    operations.tick(cfg, ticked, minute("2024-06-12T00:02:00+02:00"))
    sealed = sorted(p.name for p in (ticked / "outbox").iterdir())
    assert sealed == ["fam-1_2024-06-10.json", "fam-1_2024-06-11.json"]
    d = civil.parse_day("2024-06-10")
    opening = registers.opening(cfg, d)
    built = [b.text for b in build_days(cfg, d, d + 1, opening)]
    assert (ticked / "outbox" / sealed[0]).read_text() == built[0]
    assert (ticked / "outbox" / sealed[1]).read_text() == built[1]


def test_same_config_and_seed_give_byte_identical_files(tmp_path):
    cfg = cfg_of(family(commissioned="2024-06-01", pv={"kwp": 5}))
    for name in ("host-a", "host-b"):
        operations.backfill(cfg, tmp_path / name, civil.parse_day("2024-06-05"),
                            civil.parse_day("2024-06-07"), minute("2024-07-01T00:00:00Z"))
    a = sorted((tmp_path / "host-a" / "outbox").iterdir())
    b = sorted((tmp_path / "host-b" / "outbox").iterdir())
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 3
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_tick_after_backfill_carries_on_without_rewriting(tmp_path):
    cfg = cfg_of(family(commissioned="2024-06-01"))
    operations.backfill(cfg, tmp_path, civil.parse_day("2024-06-05"),
                        civil.parse_day("2024-06-07"), minute("2024-06-08T06:00:00+02:00"))
    summary = operations.tick(cfg, tmp_path, minute("2024-06-08T06:00:00+02:00"))
    assert summary["sealed"] == [] and summary["open_day"] == "2024-06-08"
    assert summary["written"] == 6 * 12
    day = dayfile_reader.parse(openday.render(cfg, tmp_path)[1])
    seventh = dayfile_reader.parse((tmp_path / "outbox" / "fam-1_2024-06-07.json").read_bytes())
    assert day.opening == seventh.closing


def test_long_downtime_is_caught_up_in_bulk(tmp_path):
    cfg = cfg_of(family(commissioned="2024-06-01"))
    operations.tick(cfg, tmp_path, minute("2024-06-02T12:00:00+02:00"))
    summary = operations.tick(cfg, tmp_path, minute("2024-06-20T12:00:00+02:00"))
    names = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert names[0] == "fam-1_2024-06-02.json" and names[-1] == "fam-1_2024-06-19.json"
    assert len(names) == 18 and summary["open_day"] == "2024-06-20"
    # registers chain from day to day without a gap
    days = [dayfile_reader.parse((tmp_path / "outbox" / n).read_bytes()) for n in names]
    for a, b in zip(days, days[1:], strict=False):
        assert b.opening == a.closing


def test_outage_days_leave_no_file_and_are_in_the_truth(tmp_path):
    cfg = cfg_of(family(commissioned="2024-06-01", faults={"outage_days": 0.2}))
    operations.backfill(cfg, tmp_path, civil.parse_day("2024-06-01"),
                        civil.parse_day("2024-06-30"), minute("2024-07-01T12:00:00Z"))
    names = {p.name for p in (tmp_path / "outbox").iterdir()}
    outages = [d for d in range(civil.parse_day("2024-06-01"), civil.parse_day("2024-07-01"))
               if operations.truth(cfg, d)["day_faults"]["outage"]]
    assert outages, "a 20% outage rate over 30 days should hit at least one day"
    for d in outages:
        assert f"fam-1_{civil.format_day(d)}.json" not in names
    assert len(names) == 30 - len(outages)


def test_late_and_duplicate_deliveries_are_held_then_released(tmp_path):
    cfg = cfg_of(family(commissioned="2024-06-01",
                        faults={"late_days": 0.3, "late_max_days": 2, "duplicate_days": 0.3}))
    now = minute("2024-06-21T00:30:00+02:00")
    operations.backfill(cfg, tmp_path, civil.parse_day("2024-06-01"),
                        civil.parse_day("2024-06-20"), now)
    truths = {d: operations.truth(cfg, d)["day_faults"]
              for d in range(civil.parse_day("2024-06-01"), civil.parse_day("2024-06-21"))}
    late = [d for d, t in truths.items() if t["late_days"]]
    dups = [d for d, t in truths.items() if t["duplicate_delivery"]]
    assert late and dups
    held = {p.name for p in (tmp_path / "held").iterdir()}
    for d in late:
        assert f"fam-1_{civil.format_day(d)}.json" in held
    # Deliver everything in the outbox (move to sent/), then let time pass: the late days
    # arrive, and each duplicate arrives again after its first copy was sent.
    outbox, sent = tmp_path / "outbox", tmp_path / "sent"
    for p in outbox.iterdir():
        p.rename(sent / p.name)
    summary = operations.tick(cfg, tmp_path, now + 5 * 1440)
    released = set(summary["released"])
    for d in late + dups:
        assert f"fam-1_{civil.format_day(d)}.json" in released
    still_held = {p.name for p in (tmp_path / "held").iterdir()}
    assert not [d for d in truths if f"fam-1_{civil.format_day(d)}.json" in still_held]


def test_state_files_are_plain_and_readable(tmp_path):
    cfg = cfg_of(family(commissioned="2024-06-01"))
    operations.tick(cfg, tmp_path, minute("2024-06-03T01:00:00+02:00"))
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["registers_day"] == civil.parse_day("2024-06-03")
    journal = (tmp_path / "data" / "2024-06-03.journal").read_text().splitlines()
    assert journal[0].startswith("H ") and len(journal) == 1 + 12
    # The open day's file is built from the journal when asked for, never kept beside it.
    assert not Path(tmp_path / "data" / "2024-06-03.json").exists()
    assert openday.render(cfg, tmp_path)[0] == civil.parse_day("2024-06-03")


def test_the_open_day_is_built_from_its_journal_as_the_tick_wrote_it(tmp_path):
    """Readers build the open day from the journal (meter/openday.py): the bytes the tick used
    to rewrite after every interval, a line being appended left out, the journal untouched."""
    cfg = cfg_of(family(commissioned="2024-06-01", faults={"missing_intervals": 0.05}))
    operations.tick(cfg, tmp_path, minute("2024-06-03T13:00:00+02:00"))
    day = civil.parse_day("2024-06-03")
    got = openday.render(cfg, tmp_path)
    assert got is not None and got[0] == day
    t = operations.ticker(cfg, tmp_path)
    od = t.open_journal()
    sealer.write_open(t, od)  # the eager rebuild, as every tick did before
    assert got[1] == (tmp_path / "data" / "2024-06-03.json").read_bytes()
    (tmp_path / "data" / "2024-06-03.json").unlink()

    journal = tmp_path / "data" / "2024-06-03.journal"
    with open(journal, "a") as f:
        f.write("156 A 12")  # a tick appending at this very moment: no newline yet
    before = journal.read_bytes()
    assert openday.render(cfg, tmp_path, day) == got
    assert journal.read_bytes() == before  # a reader never cuts the tick's journal
    assert openday.render(cfg, tmp_path, day + 1) is None  # not the open day

    operations.tick(cfg, tmp_path, minute("2024-06-04T00:05:00+02:00"))  # seals 06-03
    assert openday.render(cfg, tmp_path, day) is None
    assert openday.render(cfg, tmp_path)[0] == day + 1
