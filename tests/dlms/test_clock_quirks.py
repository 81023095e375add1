"""A meter with a DLMS clock quirk (docs/conformance.md) reports its deviation wrongly, and
only its deviation: read by the independent client (dlms-cosem) from a real `meter dlms-serve`.

The standard's deviation is minutes from local time to UTC (-120 in Berlin's summer); a
`dlms_deviation_wrong_sign` meter writes +120, a `dlms_deviation_unspecified` one 0x8000. Its
wall clock, DST bit and load profile's wall times stay those of the correct meter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dlms_cosem import utils
from dlms_cosem.cosem.selective_access import CaptureObject, RangeDescriptor

from tests.dlms.meters import AT, CONFIG, PASSWORD, start_server
from tests.dlms.reader import CLOCK as CLOCK_ATTRIBUTE
from tests.dlms.reader import I, session
from tests.support.processes import stop_process

CORRECT = {**CONFIG, "faults": {}}  # no drift: the three clocks must agree to the minute
PROFILE = "1.0.99.1.0.255"


def deviation(raw: bytes) -> int:
    return int.from_bytes(raw[9:11], "big", signed=True)


def read(tmp, raw: dict) -> tuple[bytes, list]:
    proc, host, port = start_server(tmp, raw)
    try:
        with session(host, port, PASSWORD.encode()) as meter:
            clock = bytes(meter.raw(I.CLOCK, "0.0.1.0.0.255"))[2:]  # less the tag, length
            hour = RangeDescriptor(
                restricting_object=CaptureObject(cosem_attribute=CLOCK_ATTRIBUTE, data_index=0),
                from_value=AT - timedelta(hours=3), to_value=AT - timedelta(hours=2))
            rows = utils.parse_as_dlms_data(meter.raw(I.PROFILE_GENERIC, PROFILE, 2, hour))
        return clock, [bytes(r[0]) for r in rows]
    finally:
        stop_process(proc)


@pytest.mark.parametrize("quirk, want", [("dlms_deviation_wrong_sign", 120),
                                         ("dlms_deviation_unspecified", -0x8000)])
def test_only_the_deviation_is_wrong(tmp_path, quirk, want):
    right, right_rows = read(tmp_path, {**CORRECT, "serial": "dl-ok"})
    wrong, wrong_rows = read(tmp_path, {**CORRECT, "serial": "dl-q",
                                        "quirks": {"clock": quirk}})
    assert deviation(right) == -120  # summer time in Berlin, the standard's sign
    assert deviation(wrong) == want
    # The wall clock (year to minute) and the DST bit of the status are the correct meter's.
    assert wrong[:5] == right[:5] and wrong[5:7] == right[5:7]
    assert wrong[11] & 0x80 and right[11] & 0x80
    assert AT.hour == right[5]
    # The profile's rows carry the same quirk: same wall times, the quirk's deviation.
    assert len(wrong_rows) == len(right_rows) >= 4
    for w, r in zip(wrong_rows, right_rows, strict=True):
        assert w[:9] == r[:9] and deviation(w) == want and deviation(r) == -120
