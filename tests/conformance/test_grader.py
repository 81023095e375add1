"""The grader proven on the two reference MDMSs: the perfect one scores full marks on every
scenario, the naive one loses exactly the points each scenario says it should."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from meter.conformance import grader
from meter.conformance.scenarios import SCENARIOS
from tests.conformance import reference_mdms

# (points, passed) of the naive MDMS, written down so the scenarios' own rules and the grader
# cannot drift together unnoticed. gaps-and-estimates is left out: its points follow the
# engine's seeded faults, which change whenever the load model's version does.
NAIVE = {"dst-and-clocks": (784, 612), "late-and-revised": (226, 212),
         "meter-exchange": (336, 279)}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_perfect_mdms_scores_full_marks(name, written, tmp_path):
    card = grader.grade(written(name), reference_mdms.perfect(written(name), tmp_path / "p.csv"))
    assert card["deductions"] == []
    assert card["passed"] == card["points"] == NAIVE.get(name, (card["points"],))[0] > 0
    assert card["score"] == 1.0


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_naive_mdms_loses_exactly_what_the_scenario_says(name, written, tmp_path):
    folder = written(name)
    card = grader.grade(folder, reference_mdms.naive(folder, tmp_path / "n.csv"))
    lost = sorted((d["check"], d["site"], d["day"]) for d in card["deductions"])
    assert lost == sorted(grader.load_truth(folder).naive_loses)
    assert (card["points"], card["passed"]) == NAIVE.get(name, (card["points"], card["passed"]))
    assert card["passed"] < card["points"]


def test_what_the_naive_mdms_loses_on_the_clocks(written, tmp_path):
    folder = written("dst-and-clocks")
    card = grader.grade(folder, reference_mdms.naive(folder, tmp_path / "n.csv"))
    lost = Counter((d["site"], d["check"]) for d in card["deductions"])
    # Local time with DST, without an offset, or with the offset's sign inverted: only the hour
    # Berlin repeats on 27 October.
    for site in ("CONF000102", "CONF000105", "CONF000107"):
        assert {k: v for k, v in lost.items() if k[0] == site} == {
            (site, "instants"): 1, (site, "duplicates"): 1, (site, "interval_energy"): 1}
    # Sydney in local time with DST: nothing to lose (it springs forward; no hour repeats).
    assert not [k for k in lost if k[0] == "CONF000101"]
    # UTC all year: every interval of every day an hour or two early.
    assert lost[("CONF000103", "interval_energy")] == lost[("CONF000103", "day_energy")] == 28
    # Standard time all year: wrong from Sydney's change on 6 October on.
    assert lost[("CONF000104", "interval_energy")] == 23
    # Interval-start labels: every reading one interval early.
    assert lost[("CONF000106", "interval_energy")] == 28


def test_duplicates_are_counted_twice_and_revisions_must_replace(written, tmp_path):
    folder = written("late-and-revised")
    card = grader.grade(folder, reference_mdms.naive(folder, tmp_path / "n.csv"))
    revised = {d["day"] for d in card["deductions"] if d["check"] == "revised"}
    assert revised == {"2024-10-08", "2024-10-15"}
    energy = [d["detail"] for d in card["deductions"]
              if d["check"] == "day_energy" and d["day"] == "2024-10-08"]
    got, true = (float(x.split(" kWh")[0].split()[-1]) for x in energy[0].split(", "))
    assert got > 1.5 * true  # the estimate and the actual day, both kept


def test_gaps_outages_and_spikes_are_scored(written, tmp_path):
    folder = written("gaps-and-estimates")
    card = grader.grade(folder, reference_mdms.naive(folder, tmp_path / "n.csv"))
    checks = card["checks"]
    assert checks["zeros"]["points"] > 0 and checks["zeros"]["passed"] < checks["zeros"]["points"]
    assert checks["estimates"]["passed"] == 0
    assert checks["spikes"]["points"] > 0 and checks["spikes"]["passed"] == 0
    outage = [d for d in card["deductions"] if d["check"] == "instants"
              and d["site"] == "CONF000201"]
    assert outage and all(re.match(r"(\d+) of \1 intervals absent", d["detail"]) for d in outage)


def synthetic_day():
    """Six intervals: actual, a true zero, missing, a spike, actual, actual."""
    kinds = ["actual", "actual", "missing", "spike", "actual", "actual"]
    return grader.TruthDay("S1", 20000, ends=[30 * (i + 1) for i in range(6)],
                           wh=[100, 0, 200, 300, 400, 500], kinds=kinds)


def rows(values):
    from meter.conformance.mdms_output import Reading

    return {30 * (i + 1): [Reading("S1", 30 * (i + 1), wh, q) for wh, q in v]
            for i, v in enumerate(values) if v is not None}


def failing(values, revised=False):
    return {r.check for r in grader.check_day(synthetic_day(), rows(values), revised)
            if not r.passed}


def test_each_check_on_a_synthetic_day():
    good = [[(100, "actual")], [(0, "actual")], [(210, "estimated")], [(300, "estimated")],
            [(400, "actual")], [(500, "actual")]]
    assert failing(good, revised=True) == set()
    # A true zero taken for missing; a gap taken as an actual zero.
    assert failing([*good[:1], [(None, "missing")], *good[2:]]) == {"zeros", "interval_energy"}
    assert "zeros" in failing([*good[:2], [(0, "actual")], *good[3:]])
    # A gap flagged but not estimated; an estimate far off.
    assert failing([*good[:2], [(None, "missing")], *good[3:]]) == {"estimates", "day_energy"}
    assert failing([*good[:2], [(900, "estimated")], *good[3:]]) == {"estimates", "day_energy"}
    # A spike kept as actual; a spike corrected to its true value passes.
    assert "spikes" in failing([*good[:3], [(9000, "actual")], *good[4:]])
    assert "spikes" not in failing([*good[:3], [(300, "actual")], *good[4:]])
    # Twice the same reading: a duplicate, counted twice; an interval absent.
    twice = [*good[:4], [(400, "actual"), (400, "actual")], *good[5:]]
    assert failing(twice) == {"duplicates", "interval_energy", "day_energy"}
    assert failing([*good[:5], None]) >= {"instants", "interval_energy"}
    # A revised day still holding its estimate.
    assert failing([*good[:5], [(480, "estimated")]], revised=True) == {"revised",
                                                                         "interval_energy"}
