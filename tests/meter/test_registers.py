"""Opening registers: a new meter starts from an estimated read, not a simulated history, and
its registers then run on exactly, both ways; a meter that remembers registers keeps them."""

import json

import pytest

from core import civil, dayfile_reader
from meter import openday, operations, registers
from meter.daybuild import build_days
from meter.vector.engine import VectorMeter
from tests.meter.configs import cfg_of, family


def minute(iso: str) -> int:
    from meter.clock import now_minute

    return now_minute(iso)


@pytest.fixture
def days_simulated(monkeypatch):
    """How many days the vectorised engine computes (the work, not the wall clock)."""
    count = {"days": 0}
    real = VectorMeter.run

    def counting(self, first, last):
        count["days"] += last - first + 1
        return real(self, first, last)

    monkeypatch.setattr(VectorMeter, "run", counting)
    return count


def test_a_new_meter_years_after_commissioning_simulates_no_history(tmp_path, days_simulated):
    cfg = cfg_of(family(commissioned="2024-01-01", initial_registers={"Total": 100}))
    summary = operations.tick(cfg, tmp_path, minute("2026-11-20T10:07:00+01:00"))
    assert summary["written"] == 10 * 12 + 1
    assert days_simulated["days"] == 0
    opened = json.loads(openday.render(cfg, tmp_path)[1])["snapshots"]
    # initial_registers plus about 1,054 days of a family's typical 4,200 kWh a year
    years = (civil.parse_day("2026-11-20") - civil.parse_day("2024-01-01")) / 365
    assert opened["Total"] == pytest.approx(100 + 4200 * years, abs=1)
    # the sub-circuits add up to the import, as in every interval
    assert round(opened["Main"] + opened["Sub1"], 3) == opened["Total"] - 100


def test_on_its_commissioning_day_a_meter_opens_with_its_initial_registers():
    cfg = cfg_of(family(commissioned="2024-06-01", initial_registers={"Total": 1234.567}))
    assert registers.opening(cfg, civil.parse_day("2024-06-01")) == [1234567, 0, 0]


def test_days_before_the_first_tick_run_backwards_from_it_exactly(tmp_path):
    cfg = cfg_of(family(commissioned="2024-01-01", initial_registers={"Total": 5000}))
    root = tmp_path / "m"
    operations.tick(cfg, root, minute("2024-06-12T00:03:00+02:00"))  # starts on 06-12
    operations.tick(cfg, root, minute("2024-06-13T00:03:00+02:00"))  # seals 06-12
    first_sealed = dayfile_reader.parse((root / "outbox" / "fam-1_2024-06-12.json").read_bytes())
    operations.backfill(cfg, root, civil.parse_day("2024-06-09"), civil.parse_day("2024-06-11"),
                        minute("2024-06-13T00:03:00+02:00"))
    back = [dayfile_reader.parse((root / "outbox" / f"fam-1_2024-06-{d}.json").read_bytes())
            for d in ("09", "10", "11")]
    chain = [*back, first_sealed]
    for before, after in zip(chain, chain[1:], strict=False):
        assert before.closing == after.opening  # continuous across the anchor
        assert all(after.opening[c] >= before.opening[c] for c in after.opening)
    # and the ticked day is byte for byte what a regeneration from the remembered read gives
    d = civil.parse_day("2024-06-12")
    text = next(build_days(cfg, d, d, registers.opening(cfg, d, root))).text
    assert (root / "outbox" / "fam-1_2024-06-12.json").read_text() == text


def test_a_meter_that_remembers_registers_keeps_them(tmp_path):
    """A meter that began on its commissioning day (the only kind before this rule) has
    registers summed from commissioning; asked for an earlier day than it remembers, the
    answer is the same sum, now computed backwards."""
    cfg = cfg_of(family(commissioned="2024-06-01"))
    c = civil.parse_day("2024-06-01")
    expected = [b.closing for b in build_days(cfg, c, c + 40, registers.opening(cfg, c))]
    root = tmp_path / "old"
    assert registers.opening(cfg, c, root) == [0, 0, 0]  # it began on its commissioning day
    assert registers.opening(cfg, c + 41, root) == expected[40]  # now remembers day c+41
    assert registers.opening(cfg, c + 20, root) == expected[19]
    assert registers.opening(cfg, c + 30, root) == expected[29]


def test_state_without_a_cache_is_the_anchor(tmp_path):
    cfg = cfg_of(family(commissioned="2024-01-01"))
    d = civil.parse_day("2024-06-10")
    tick_root = tmp_path / "m"
    operations.tick(cfg, tick_root, minute("2024-06-10T00:07:00+02:00"))
    (tick_root / registers.CACHE_NAME).unlink()
    state = json.loads((tick_root / "state.json").read_text())
    assert state["registers_day"] == d
    assert registers.opening(cfg, d, tick_root) == state["registers"]


def test_a_backfill_that_would_go_below_zero_is_refused(tmp_path):
    cfg = cfg_of(family(commissioned="2024-01-01"))
    d = civil.parse_day("2024-06-10")
    registers.remember(cfg, tmp_path, d, [10, 6, 4])  # a read too small for what came before
    with pytest.raises(registers.NegativeRegisters, match="negative registers"):
        registers.opening(cfg, d - 3, tmp_path)
