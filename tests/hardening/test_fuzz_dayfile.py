"""core.dayfile_reader.parse against thousands of malformed files: every one is either a valid Day
or a DayFileError with a reason; nothing else ever escapes (an escaping exception fails an
ingest batch, see test_regressions.py)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import dayfile_reader
from tests.hardening import corpus, malformed
from tests.hardening.fuzzcount import FUZZ

FAST = settings(max_examples=1500, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
DEEP = settings(max_examples=2000, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def _judge(data: bytes, name: str) -> None:
    FUZZ[name] += 1
    try:
        day = dayfile_reader.parse(data, legacy_timezone=corpus_zone())
    except dayfile_reader.DayFileError as exc:
        assert exc.reason and isinstance(exc.reason, str)
        assert exc.line is None or (isinstance(exc.line, int) and exc.line >= 1)
        return
    # Accepted: then it must be a coherent day.
    assert day.status in ("open", "sealed")
    assert all(len(v) == day.expected for v in day.values.values())
    assert len(day.quality) == len(day.labels) == day.expected
    for values in day.values.values():
        assert all(v is None or (isinstance(v, int) and v >= 0) for v in values)


def corpus_zone() -> str:
    return "Pacific/Auckland"


@FAST
@given(malformed.garbage())
def test_garbage_is_rejected_with_a_reason(data):
    _judge(data, "dayfile_reader.parse: garbage")


@DEEP
@given(malformed.as_bytes(list(corpus.day_docs())))
def test_mutated_day_files_are_parsed_or_rejected_with_a_reason(data):
    _judge(data, "dayfile_reader.parse: mutated day files")


@settings(max_examples=200, deadline=None, database=None)
@given(st.sampled_from(corpus.day_texts()))
def test_the_corpus_itself_is_valid(text):
    dayfile_reader.parse(text, legacy_timezone="Pacific/Auckland")


@settings(max_examples=1000, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(malformed.as_bytes(list(corpus.day_docs())))
def test_the_schema_shortcuts_give_jsonschemas_own_verdict(data):
    """core/dayschema.py judges readings by hand and remembers each property's verdict; on
    mutated files that must agree with jsonschema over the whole file, every time."""
    import json
    from decimal import Decimal

    from hypothesis import assume

    from core import dayschema

    try:
        doc = json.loads(data, parse_float=Decimal)
    except (ValueError, RecursionError):
        assume(False)
    assume(isinstance(doc, dict))
    FUZZ["dayschema: shortcut against full verdict"] += 1
    shape = dayfile_reader._shape_of(doc)
    quick = dayschema.first_error(doc, shape, dayschema.readings_ok(doc, shape))
    full = sorted(dayschema._validator(shape).iter_errors(doc),
                  key=lambda e: (len(e.absolute_path), str(e.path)))
    assert (quick is None) == (not full)
